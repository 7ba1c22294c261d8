# Copyright 2026 The sam_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
The demo's 3D part: the node's clouds, its 3D fields against the truth, a side-view figure.

``CloudListener`` keeps the newest ``~/cloud`` messages by stamp. ``depth_lines``
prints, per mask, the node's 3D centroid and extent next to the ground truth of the
level it is compared with (the visible surface of that level, back-projected with the
camera's exact depth). ``cloud_figure`` draws the scene's depth seen obliquely (from
35 degrees to the right of the camera), dimmed, the node's cloud of the mask in its own
colours, the true centroid (white cross) and the node's centroid (red ring).
"""

import threading
import time
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.demo.client import LEVEL_NAMES
from sam_ros.msg import SegmentResult
from sam_ros.node.cloud import cloud_to_numpy
from sam_ros.synthetic.depth import surface_truth
from sensor_msgs.msg import PointCloud2

__all__ = ['CloudListener', 'cloud_figure', 'depth_lines']

_DEPTH_STATUS = {getattr(SegmentResult, 'DEPTH_' + n): n for n in (
    'NONE', 'OK', 'NO_MATCH', 'NO_CAMERA_INFO', 'BAD_DEPTH', 'SIZE_MISMATCH', 'FRAME_MISMATCH',
    'NO_VALID')}


class CloudListener:
    """Subscribe to ``<sam>/cloud`` on ``node`` and keep the newest clouds by stamp."""

    def __init__(self, node: Node, sam_namespace: str, keep: int = 8) -> None:
        """Create the subscription (reliable, like the node's publisher)."""
        self._cond = threading.Condition()
        self._clouds: Dict[int, PointCloud2] = {}
        self._keep = keep
        node.create_subscription(PointCloud2, f'{sam_namespace.rstrip("/")}/cloud',
                                 self._on_cloud,
                                 QoSProfile(depth=4, reliability=ReliabilityPolicy.RELIABLE))

    def _on_cloud(self, msg: PointCloud2) -> None:
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        with self._cond:
            self._clouds[stamp] = msg
            while len(self._clouds) > self._keep:
                del self._clouds[min(self._clouds)]
            self._cond.notify_all()

    def cloud_for(self, stamp_ns: int, timeout: float = 3.0) -> Optional[PointCloud2]:
        """Return the newest cloud stamped ``stamp_ns``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while stamp_ns not in self._clouds:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self._clouds[stamp_ns]


def _fmt(v: Sequence[float]) -> str:
    return '(' + ', '.join(f'{x:+.3f}' for x in v) + ')'


def depth_lines(result: SegmentResult, truth: Sequence[np.ndarray], depth: np.ndarray,
                k: Sequence[float]) -> List[str]:
    """
    Return printed lines: each mask's 3D centroid and size against its level's truth.

    ``truth``: the ground-truth (H, W) bool mask each of ``result.masks`` is compared
    with (same order); ``depth``: the camera's (H, W) metres; ``k``: its 9-value K.
    """
    status = _DEPTH_STATUS.get(result.depth_status, str(result.depth_status))
    lines = [f'3D: depth {status}' + (f' ({result.depth_message})' if result.depth_message
                                      else '')]
    for i, (mask, gt) in enumerate(zip(result.masks, truth)):
        name = LEVEL_NAMES.get(mask.level, mask.level)
        if not mask.has_3d or not gt.any():
            lines.append(f'  mask {i}: {name:<7} no 3D')
            continue
        centroid, low, high = surface_truth(depth, gt, k)
        measured = np.array([mask.centroid.x, mask.centroid.y, mask.centroid.z])
        size = np.array([mask.size.x, mask.size.y, mask.size.z])
        error = float(np.linalg.norm(measured - centroid)) * 1000.0
        lines.append(f'  mask {i}: {name:<7} centroid {_fmt(measured)} m  size {_fmt(size)} m'
                     f'  | truth centroid {_fmt(centroid)} m  size {_fmt(high - low)} m'
                     f'  | centroid error {error:.1f} mm  ({mask.depth_valid_pixels} points, '
                     f'{100 * mask.depth_valid_fraction:.0f}% valid)')
    return lines


def cloud_figure(image: np.ndarray, depth: np.ndarray, k: Sequence[float],
                 cloud: PointCloud2, truth_centroid: np.ndarray, centroid: np.ndarray,
                 title: str, size: int = 480) -> np.ndarray:
    """
    Return an RGB figure: the frame, and an oblique view of the scene and the node's cloud.

    ``image``/``depth``: the frame and its (H, W) metres; ``cloud``: the node's
    ``~/cloud``; centroids (3,) metres. The view looks at the scene from 35 degrees to
    the right of the camera (orthographic, y down), so depth shows as sideways offset:
    the scene dimmed, the cloud in its own colours, the truth centroid as a white cross,
    the node's as a red ring.
    """
    h, w = depth.shape
    vv, uu = np.mgrid[0:h:2, 0:w:2]
    z = depth[vv, uu].ravel()
    scene = np.stack([(uu.ravel() - k[2]) * z / k[0], (vv.ravel() - k[5]) * z / k[4], z], 1)
    colours = (image[vv, uu].reshape(-1, 3) * 0.35 + 50).astype(np.uint8)
    points = cloud_to_numpy(cloud)
    xyz, rgb = points['xyz'].astype(np.float64), points['rgb']
    angle = np.deg2rad(35.0)
    z_mid = float(np.median(xyz[:, 2])) if len(xyz) else float(np.median(z))

    def view(p):
        across = p[:, 0] * np.cos(angle) - (p[:, 2] - z_mid) * np.sin(angle)
        along = p[:, 0] * np.sin(angle) + (p[:, 2] - z_mid) * np.cos(angle)
        return across, p[:, 1], along

    sa, sy, sd = view(scene)
    lo_a, hi_a = np.percentile(sa, (1, 99))
    lo_y, hi_y = np.percentile(sy, (1, 99))
    scale = (size - 40) / max(hi_a - lo_a, hi_y - lo_y)

    def pix(a, y):
        return (np.clip(((a - lo_a) * scale + 20).astype(int), 0, size - 1),
                np.clip(((y - lo_y) * scale + 20).astype(int), 0, size - 1))

    canvas = np.full((size, size, 3), 24, np.uint8)
    order = np.argsort(-sd)          # far first
    cu, cv = pix(sa[order], sy[order])
    canvas[cv, cu] = colours[order]
    oa, oy, od = view(xyz)
    order = np.argsort(-od)
    ou, ov = pix(oa[order], oy[order])
    for du in (0, 1):
        for dv in (0, 1):
            canvas[np.clip(ov + dv, 0, size - 1), np.clip(ou + du, 0, size - 1)] = rgb[order]
    for point, draw in ((truth_centroid, 'cross'), (centroid, 'ring')):
        a, y, _ = view(np.asarray(point, np.float64)[None])
        u, v = pix(a, y)
        if draw == 'cross':
            cv2.drawMarker(canvas, (int(u[0]), int(v[0])), (255, 255, 255), cv2.MARKER_CROSS,
                           18, 2)
        else:
            cv2.circle(canvas, (int(u[0]), int(v[0])), 9, (255, 60, 60), 2)
    cv2.putText(canvas, 'seen from 35 deg right of the camera', (10, size - 10),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (230, 230, 230), 1, cv2.LINE_AA)
    frame = cv2.resize(image, (int(w * size / h), size), interpolation=cv2.INTER_AREA)
    body = np.concatenate([frame, np.full((size, 6, 3), 24, np.uint8), canvas], axis=1)
    bar = np.full((28, body.shape[1], 3), 24, np.uint8)
    cv2.putText(bar, title, (8, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (240, 240, 240), 1,
                cv2.LINE_AA)
    return np.concatenate([bar, body], axis=0)
