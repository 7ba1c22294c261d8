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
The node's depth fusion: depth in, 3D fields on each answer, ~/cloud and ~/markers out.

Inputs: ``depth`` (``sensor_msgs/Image``, 16UC1 mm or 32FC1 m, registered to the colour
camera) or ``<depth>/compressedDepth``, and the depth intrinsics from
``depth_camera_info_topic`` (default: the colour ``camera_info``). Depth frames are kept
by stamp (``DepthStore``) and matched to the *source colour frame* of each answer.

``fill`` runs in the prompt path right after the result is built: it never waits for
depth, and it always sets ``depth_status`` / ``depth_message`` (the reason when the
answer has no 3D, also logged, throttled). ``publish`` sends the cloud and the markers
of that answer. The measurement itself is ROS-free (``sam_ros.core.backproject``).
"""

from collections import OrderedDict
import threading
from typing import Any, List, Optional, Tuple

from builtin_interfaces.msg import Time
import numpy as np
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sam_ros.core.backproject import depth_scale, DepthOptions, Intrinsics, measure_masks
from sam_ros.core.depth import (BAD_DEPTH, decode_compressed_depth, decode_depth, DepthError,
                                DepthFrame, DepthStore, NO_MATCH, NONE)
from sam_ros.msg import SegmentResult
from sam_ros.node.cloud import grid_colours, masks_to_markers, rows_to_cloud
from sam_ros.node.config import NodeConfig
from sam_ros.node.conversions import kept_indices
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

__all__ = ['DepthOutput']

_THROTTLE_S = 5.0
_PENDING_KEPT = 16
_LEVEL_OF_NAME = {'subpart': 0, 'part': 1, 'whole': 2}
_STORE_STATUS = {NONE: SegmentResult.DEPTH_NONE, NO_MATCH: SegmentResult.DEPTH_NO_MATCH,
                 BAD_DEPTH: SegmentResult.DEPTH_BAD_DEPTH}


def _stamp_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def _ns_stamp(ns: int) -> Time:
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


def _set_xyz(target, xyz) -> None:
    # Setting fields is far cheaper than building a Point / Vector3 per field.
    target.x, target.y, target.z = float(xyz[0]), float(xyz[1]), float(xyz[2])


def _options(cfg: NodeConfig) -> DepthOptions:
    return DepthOptions(erode_px=cfg.depth_erode_px, stride=cfg.depth_stride,
                        min_range=cfg.depth_min_range, max_range=cfg.depth_max_range,
                        trim_percent=cfg.depth_trim_percent)


class DepthOutput:
    """Subscribe to depth, fill the answers' 3D fields, publish ~/cloud and ~/markers."""

    def __init__(self, node: Node, cfg: NodeConfig, callback_group=None) -> None:
        """Create the depth subscriptions (unless depth_transport is none) and publishers."""
        self._node = node
        self._log = node.get_logger().get_child('depth')
        self._lock = threading.Lock()
        self._info: Optional[CameraInfo] = None
        self._infos = 0
        self._pending: 'OrderedDict[int, Tuple[Any, list, DepthFrame]]' = OrderedDict()
        self._frame_warned = False
        self._marker_pool: dict = {}      # reused Marker objects, under _marker_lock
        self._marker_lock = threading.Lock()
        self._store = DepthStore(cfg.depth_cache_size, int(cfg.depth_sync_tolerance * 1e9))
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=cfg.image_qos_depth,
                         reliability=(ReliabilityPolicy.BEST_EFFORT
                                      if cfg.image_qos_reliability == 'best_effort'
                                      else ReliabilityPolicy.RELIABLE))
        self._topic = self._info_topic = ''
        if cfg.depth_transport != 'none':
            depth_topic = node.resolve_topic_name('depth')
            if cfg.depth_transport == 'compressedDepth':
                self._topic = depth_topic + '/compressedDepth'
                node.create_subscription(CompressedImage, self._topic, self._on_compressed,
                                         qos, callback_group=callback_group)
            else:
                self._topic = depth_topic
                node.create_subscription(Image, 'depth', self._on_depth, qos,
                                         callback_group=callback_group)
            info_topic = cfg.depth_camera_info_topic or 'camera_info'
            self._info_topic = node.resolve_topic_name(info_topic)
            node.create_subscription(CameraInfo, info_topic, self._on_info, qos,
                                     callback_group=callback_group)
        reliable = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=2,
                              reliability=ReliabilityPolicy.RELIABLE)
        self._cloud_pub = node.create_publisher(PointCloud2, '~/cloud', reliable)
        self._markers_pub = node.create_publisher(MarkerArray, '~/markers', reliable)
        if self._topic:
            self._log.info(f'depth on {self._topic} ({cfg.depth_transport}), intrinsics '
                           f'from {self._info_topic}')

    # ------------------------------------------------------------------------ inputs

    def _on_depth(self, msg: Image) -> None:
        self._take(msg, lambda: decode_depth(msg.encoding, msg.height, msg.width, msg.step,
                                             bool(msg.is_bigendian), msg.data))

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._take(msg, lambda: decode_compressed_depth(msg.format, msg.data))

    def _take(self, msg, decode) -> None:
        stamp_ns = _stamp_ns(msg.header.stamp)
        try:
            depth, scale = decode()
        except DepthError as exc:
            self._log.warning(f'dropping a bad depth image: {exc}',
                              throttle_duration_sec=_THROTTLE_S)
            self._store.add(DepthFrame(stamp_ns, msg.header.frame_id, error=str(exc)))
            return
        self._store.add(DepthFrame(stamp_ns, msg.header.frame_id, depth, scale))

    def _on_info(self, msg: CameraInfo) -> None:
        with self._lock:
            self._info = msg
            self._infos += 1

    def stats(self) -> dict:
        """Return the depth counters for /diagnostics (name -> int)."""
        store = self._store.stats()
        with self._lock:
            infos = self._infos
        return {'depth frames received': store['depth_frames'],
                'bad depth frames': store['bad_depth_frames'],
                'depth frames held': store['depth_held'], 'depth camera_info received': infos}

    # --------------------------------------------------------------------- answers

    def fill(self, result: SegmentResult, prediction, stamp_ns: int, header: Header,
             cfg: NodeConfig) -> None:
        """
        Set ``result``'s depth status and, when depth matches, each mask's 3D fields.

        ``prediction``: the engine's Prediction the result was built from (masks at the
        colour resolution); ``stamp_ns``: the source colour frame's stamp; ``header``:
        that frame's header. Never raises on bad depth; never waits for depth.
        """
        try:
            status, message, frame = self._measure(result, prediction, stamp_ns, header, cfg)
        except Exception as exc:  # noqa: B902 - depth must never cost the 2D answer
            self._log.error(f'depth fusion failed: {type(exc).__name__}: {exc}',
                            throttle_duration_sec=_THROTTLE_S)
            for mask in result.masks:
                mask.has_3d = False
            status, frame = SegmentResult.DEPTH_BAD_DEPTH, None
            message = f'no depth: depth fusion failed: {type(exc).__name__}: {exc}'
        result.depth_status = status
        result.depth_message = message
        if frame is not None:
            result.depth_header = Header(stamp=_ns_stamp(frame.stamp_ns),
                                         frame_id=frame.frame_id)
        if (status == SegmentResult.DEPTH_OK or cfg.depth_transport == 'none'
                or result.status != SegmentResult.STATUS_OK):
            return
        if status == SegmentResult.DEPTH_NONE:     # no depth published at all: a note
            self._log.info(f'answers carry no 3D: {message}', throttle_duration_sec=60.0)
        else:
            self._log.warning(f'answer {result.prompt_id!r} has no 3D: {message}',
                              throttle_duration_sec=_THROTTLE_S)

    def _measure(self, result, prediction, stamp_ns, header, cfg):
        none = SegmentResult.DEPTH_NONE
        if result.status != SegmentResult.STATUS_OK or not result.masks:
            return none, 'no depth: the answer has no masks', None
        if cfg.depth_transport == 'none':
            return none, 'no depth: depth_transport is none', None
        self._store.configure(int(cfg.depth_sync_tolerance * 1e9))
        match = self._store.match(stamp_ns)
        if match.status != 'ok':
            where = f' on {self._topic}' if match.status == NONE else ''
            return _STORE_STATUS[match.status], f'no depth: {match.message}{where}', match.frame
        frame = match.frame
        if frame.frame_id and header.frame_id and (
                frame.frame_id.lstrip('/') != header.frame_id.lstrip('/')):
            text = (f'depth is in frame {frame.frame_id!r}, the colour image in '
                    f'{header.frame_id!r}: register depth to colour (e.g. RealSense '
                    'align_depth.enable:=true, or depth_image_proc/register)')
            if not self._frame_warned:
                self._frame_warned = True
                self._log.error(f'refusing depth: {text}')
            return SegmentResult.DEPTH_FRAME_MISMATCH, f'no depth: {text}', frame
        with self._lock:
            info = self._info
        if info is None:
            return (SegmentResult.DEPTH_NO_CAMERA_INFO, 'no depth: no camera_info received '
                    f'on {self._info_topic} yet (the depth intrinsics)', frame)
        colour_hw = prediction.masks[0].shape
        try:
            depth_scale(colour_hw, frame.shape)
        except DepthError as exc:
            return SegmentResult.DEPTH_SIZE_MISMATCH, f'no depth: {exc}', frame
        try:
            intrinsics = Intrinsics.from_k(info.k, info.width, info.height)
        except DepthError as exc:
            return (SegmentResult.DEPTH_NO_CAMERA_INFO,
                    f'no depth: camera_info on {self._info_topic} is unusable: {exc}', frame)
        try:
            intrinsics = intrinsics.scaled_to(frame.shape[1], frame.shape[0])
        except DepthError as exc:
            return SegmentResult.DEPTH_SIZE_MISMATCH, f'no depth: {exc}', frame
        options = _options(cfg)
        keep = kept_indices(prediction.iou, cfg.min_iou)
        # One pass for all masks: SAM's three levels are nested, so they share most work.
        measured = measure_masks([prediction.masks[i] for i in keep], frame, intrinsics,
                                 options, [prediction.boxes[i] for i in keep])
        missing = []
        for j, (i, mask_msg, m) in enumerate(zip(keep, result.masks, measured)):
            if not m.ok:
                missing.append(f'mask {j} ({prediction.levels[i]}): {m.reason}')
                continue
            mask_msg.has_3d = True
            _set_xyz(mask_msg.centroid, m.centroid)
            _set_xyz(mask_msg.extent_min, m.extent_min)
            _set_xyz(mask_msg.extent_max, m.extent_max)
            _set_xyz(mask_msg.size, m.size)
            mask_msg.median_depth = m.median_depth
            mask_msg.depth_valid_pixels = m.valid_pixels
            mask_msg.depth_valid_fraction = float(m.valid_fraction)
        if len(missing) == len(measured):
            return SegmentResult.DEPTH_NO_VALID, 'no depth: ' + '; '.join(missing), frame
        with self._lock:
            self._pending[id(result)] = (result, measured, frame)
            while len(self._pending) > _PENDING_KEPT:
                self._pending.popitem(last=False)
        return SegmentResult.DEPTH_OK, '; '.join(missing), frame

    # ---------------------------------------------------------------------- output

    def publish(self, result: SegmentResult, image: np.ndarray, cfg: NodeConfig) -> None:
        """Publish ~/cloud and ~/markers for ``result`` (an answer ``fill`` has seen)."""
        try:
            self._publish(result, image, cfg)
        except Exception as exc:  # noqa: B902 - the answer is out; the node must stay up
            self._log.error(f'publishing ~/cloud or ~/markers failed: {type(exc).__name__}: '
                            f'{exc}', throttle_duration_sec=_THROTTLE_S)

    def _publish(self, result: SegmentResult, image: np.ndarray, cfg: NodeConfig) -> None:
        with self._lock:
            entry = self._pending.pop(id(result), None)
        if entry is None or entry[0] is not result:
            if cfg.publish_markers and self._markers_pub.get_subscription_count() > 0:
                with self._marker_lock:
                    self._markers_pub.publish(masks_to_markers(result.header, [],
                                                               self._marker_pool))
            return
        _, measured, frame = entry
        header = Header(stamp=result.header.stamp,
                        frame_id=frame.frame_id or result.header.frame_id)
        if cfg.publish_cloud and self._cloud_pub.get_subscription_count() > 0:
            chosen = self._cloud_indices(result, cfg.cloud_masks)
            cloud = self._cloud(header, measured, chosen, image, frame,
                                with_index=cfg.cloud_masks == 'all')
            if cloud is not None:
                self._cloud_pub.publish(cloud)
        if cfg.publish_markers and self._markers_pub.get_subscription_count() > 0:
            masks = [(j, m.level, float(m.predicted_iou), m)
                     for j, m in enumerate(result.masks) if m.has_3d]
            with self._marker_lock:
                self._markers_pub.publish(masks_to_markers(header, masks, self._marker_pool))

    @staticmethod
    def _cloud_indices(result: SegmentResult, which: str) -> List[int]:
        if which == 'all':
            return [j for j, m in enumerate(result.masks) if m.has_3d]
        if which in _LEVEL_OF_NAME:
            level = _LEVEL_OF_NAME[which]
            found = [j for j, m in enumerate(result.masks) if m.level == level]
            if found:
                return found[:1]
        return [result.best_index]

    @staticmethod
    def _cloud(header, measured, chosen, image, frame, with_index) -> Optional[PointCloud2]:
        parts = [(j, measured[j]) for j in chosen if measured[j].ok]
        if not parts:
            return None
        # The masks of one answer were measured together, on one grid.
        colours = grid_colours(image, parts[0][1].grid, frame.shape)
        if len(parts) == 1:
            xyz, rgb = parts[0][1].xyz, colours[parts[0][1].grid_index]
        else:
            xyz = np.concatenate([m.xyz for _, m in parts], axis=1)
            rgb = colours[np.concatenate([m.grid_index for _, m in parts])]
        index = None
        if with_index:
            index = np.concatenate([np.full(m.valid_pixels, j, np.uint32) for j, m in parts])
        return rows_to_cloud(header, xyz, rgb, index)
