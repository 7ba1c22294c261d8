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
RViz's "Publish Point" (a 3D ``PointStamped`` on /clicked_point) to an image pixel.

The point is brought into the camera's optical frame (``camera_info.header.frame_id``:
z forward, x right, y down) with tf2 when ``tf2_ros`` can be imported; without it only
points already in that frame are accepted. It is then projected with the
``CameraInfo``: 'rectified' uses the projection matrix P (the pixel in the rectified
image, like image_geometry's ``project3dToPixel``), 'raw' uses K and the distortion
D (the pixel in the raw image; plumb_bob, rational_polynomial or equidistant).

The result is a pixel XY (x right, y down) of the image the node segments.
"""

import importlib
from typing import Optional, Tuple

import cv2
from geometry_msgs.msg import PointStamped, Transform
import numpy as np
from rclpy.node import Node
from rclpy.time import Time
from sam_ros.core.errors import PromptError
from sensor_msgs.msg import CameraInfo

__all__ = ['PointProjector', 'project_to_pixel', 'transform_point']


def transform_point(transform: Transform, xyz: np.ndarray) -> np.ndarray:
    """Apply a ``geometry_msgs/Transform`` (rotation, then translation) to a (3,) point."""
    q = transform.rotation
    x, y, z, w = float(q.x), float(q.y), float(q.z), float(q.w)
    norm = (x * x + y * y + z * z + w * w) ** 0.5
    if norm == 0.0:
        raise PromptError('the transform has a zero quaternion; fix the TF publisher')
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    t = transform.translation
    return rotation @ np.asarray(xyz, dtype=np.float64) + np.array([t.x, t.y, t.z])


def project_to_pixel(xyz: np.ndarray, info: CameraInfo,
                     model: str = 'rectified') -> Tuple[float, float]:
    """
    Project a (3,) point in the camera optical frame to a pixel (x, y).

    ``model``: 'rectified' (P) or 'raw' (K, D). Raises PromptError for a point at or
    behind the camera, a non-finite point or an unusable ``CameraInfo``.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    if not np.all(np.isfinite(xyz)):
        raise PromptError(f'the clicked point {xyz.tolist()} is not finite')
    if xyz[2] <= 0.0:
        raise PromptError(f'the clicked point is at or behind the camera (z = {xyz[2]:.3f} m '
                          'in the optical frame); click in front of the camera')
    if model == 'rectified':
        p = np.asarray(info.p, dtype=np.float64).reshape(3, 4)
        if not np.any(p[:, :3]):
            raise PromptError('camera_info has an all-zero P; is the camera calibrated? '
                              'Or use click_projection:=raw')
        u, v, w = p @ np.append(xyz, 1.0)
        return float(u / w), float(v / w)
    if model != 'raw':
        raise PromptError(f"unknown projection {model!r}; use 'rectified' or 'raw'")
    k = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
    if k[0, 0] == 0.0 or k[1, 1] == 0.0:
        raise PromptError('camera_info has no focal length in K; is the camera calibrated?')
    d = np.asarray(info.d, dtype=np.float64)
    points = xyz.reshape(1, 1, 3)
    zero = np.zeros(3)
    if info.distortion_model not in ('equidistant', '', 'plumb_bob', 'rational_polynomial'):
        raise PromptError(f'distortion model {info.distortion_model!r} is not supported; '
                          'use click_projection:=rectified')
    try:
        if info.distortion_model == 'equidistant':
            coeffs = np.zeros(4) if d.size == 0 else d[:4]
            pixels, _ = cv2.fisheye.projectPoints(points, zero, zero, k, coeffs)
        else:
            pixels, _ = cv2.projectPoints(points, zero, zero, k, d if d.size else None)
    except cv2.error as exc:  # D of a length OpenCV does not take, a point out of range
        raise PromptError(f'cannot project the point with camera_info ({info.distortion_model}'
                          f', {d.size} distortion coefficients): '
                          f'{" ".join(str(exc).split())[-160:]}; check the calibration or use '
                          'click_projection:=rectified') from None
    return float(pixels[0, 0, 0]), float(pixels[0, 0, 1])


def _import_tf2():
    try:
        return importlib.import_module('tf2_ros')
    except ImportError:
        return None


class PointProjector:
    """Bring a 3D ``PointStamped`` into the camera frame (tf2 if importable) and project it."""

    def __init__(self, node: Node) -> None:
        """Create a tf2 buffer and listener on ``node`` when tf2_ros can be imported."""
        self._tf2 = _import_tf2()
        self._buffer = None
        self._listener = None
        if self._tf2 is not None:
            self._buffer = self._tf2.Buffer()
            self._listener = self._tf2.TransformListener(self._buffer, node)

    @property
    def has_tf2(self) -> bool:
        """Return True when tf2_ros was importable (points in any frame are accepted)."""
        return self._buffer is not None

    def to_pixel(self, msg: PointStamped, info: Optional[CameraInfo],
                 model: str = 'rectified') -> Tuple[float, float]:
        """
        Return the pixel (x, y) where ``msg`` appears in the camera of ``info``.

        Raises PromptError when there is no camera_info yet, the point's frame cannot
        be transformed into the camera frame, or the projection fails.
        """
        if info is None:
            raise PromptError('no camera_info received yet; /clicked_point needs it to '
                              'project the point into the image')
        camera_frame = info.header.frame_id
        source_frame = msg.header.frame_id
        if not camera_frame:
            raise PromptError('camera_info has an empty frame_id; cannot relate the clicked '
                              'point to the camera')
        xyz = np.array([msg.point.x, msg.point.y, msg.point.z], dtype=np.float64)
        if source_frame.lstrip('/') != camera_frame.lstrip('/'):
            xyz = self._to_camera(xyz, source_frame, camera_frame)
        return project_to_pixel(xyz, info, model)

    def _to_camera(self, xyz: np.ndarray, source: str, target: str) -> np.ndarray:
        if self._buffer is None:
            raise PromptError(
                f'the clicked point is in frame {source!r}, but tf2_ros is not available '
                f'here, so only points in the camera optical frame {target!r} are accepted '
                "(set RViz's fixed frame to it, or install tf2_ros)")
        try:
            stamped = self._buffer.lookup_transform(target, source, Time())
        except self._tf2.TransformException as exc:
            raise PromptError(f'no transform from {source!r} to {target!r}: {exc}') from None
        return transform_point(stamped.transform, xyz)
