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
Conversions for the 3D output: numpy points to PointCloud2, mask statistics to markers.

``~/cloud`` layout: x, y, z float32 (metres, depth optical frame), rgb float32 holding
the packed 0x00RRGGBB bits (the PCL / RViz convention), and with ``mask_index`` a
uint32 index into ``SegmentResult.masks``. Little-endian, height 1, dense (only valid
points). ``cloud_to_numpy`` reads it back (tests and consumers).
"""

import array
import functools
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from sam_ros.core.backproject import Grid
from sensor_msgs.msg import Image, PointCloud2, PointField
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

__all__ = ['LEVEL_RGBA', 'cloud_to_numpy', 'depth_to_image', 'grid_colours',
           'masks_to_markers', 'points_to_cloud', 'rows_to_cloud']

# RGBA (0..1) per SegmentMask level value: subpart, part, whole, single.
LEVEL_RGBA = {0: (1.0, 0.3, 0.3), 1: (0.3, 1.0, 0.3), 2: (0.3, 0.5, 1.0), 3: (1.0, 0.9, 0.2)}
LEVEL_NAMES = {0: 'subpart', 1: 'part', 2: 'whole', 3: 'single'}
_NS = 'sam'


def _dtype(with_index: bool) -> np.dtype:
    fields = [('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('rgb', '<u4')]
    if with_index:
        fields.append(('mask_index', '<u4'))
    return np.dtype(fields)


@functools.lru_cache(maxsize=2)
def _field_list(with_index: bool) -> Tuple[PointField, ...]:
    # PointField() costs tens of microseconds each: build them once.
    dtype = _dtype(with_index)
    return tuple(PointField(name=name, offset=dtype.fields[name][1],
                            datatype=PointField.UINT32 if name == 'mask_index'
                            else PointField.FLOAT32, count=1) for name in dtype.names)


def points_to_cloud(header: Header, points: np.ndarray, rgb: np.ndarray,
                    mask_index: Optional[np.ndarray] = None) -> PointCloud2:
    """
    Return a dense, unorganised ``PointCloud2``.

    ``points``: (N, 3) float32 xyz metres; ``rgb``: (N, 3) uint8; ``mask_index``:
    optional (N,) integer index of each point's mask.
    """
    colour = rgb.astype(np.uint32)
    packed = colour[:, 0] << 16
    packed |= colour[:, 1] << 8
    packed |= colour[:, 2]
    return rows_to_cloud(header, points.T, packed, mask_index)


def rows_to_cloud(header: Header, xyz: np.ndarray, packed_rgb: np.ndarray,
                  mask_index: Optional[np.ndarray] = None) -> PointCloud2:
    """
    Return the ``points_to_cloud`` message for points given as rows.

    ``xyz``: (3, N) float32 x, y, z rows (metres); ``packed_rgb``: (N,) uint32
    0x00RRGGBB; ``mask_index``: optional (N,) integer index of each point's mask.
    """
    with_index = mask_index is not None
    dtype = _dtype(with_index)
    n = int(xyz.shape[1])
    # The message's own byte array, written in place as little-endian float32 columns,
    # one contiguous row of ``xyz`` at a time.
    data = array.array('B', bytes(1)) * (dtype.itemsize * n)
    buffer = np.frombuffer(data, '<f4').reshape(n, dtype.itemsize // 4)
    columns = buffer.T
    for k in range(3):
        columns[k] = xyz[k]
    words = buffer.view('<u4')
    words[:, 3] = packed_rgb
    if with_index:
        words[:, 4] = mask_index
    msg = PointCloud2(header=header, height=1, width=n, is_bigendian=False,
                      point_step=dtype.itemsize, row_step=dtype.itemsize * n, is_dense=True)
    msg.fields = list(_field_list(with_index))   # shared, never mutated
    msg.data = data
    return msg


def grid_colours(image: np.ndarray, grid: Grid, depth_hw: Tuple[int, int]) -> np.ndarray:
    """
    Return the colour of every pixel of a depth sampling ``grid``, packed for the cloud.

    ``image``: (H, W, 3) uint8 RGB colour image; ``depth_hw``: the depth image's size
    (a uniform scale of the colour's: depth pixel u takes colour column
    (u + 0.5) W / dw, nearest). Returns (grid.height * grid.width,) uint32 0x00RRGGBB,
    flat as ``MaskMeasurement.grid_index``.
    """
    h, w = image.shape[:2]
    dh, dw = depth_hw
    u0, v0, width, height, stride = grid
    if (dh, dw) != (h, w):
        us = np.arange(u0, u0 + width * stride, stride)
        vs = np.arange(v0, v0 + height * stride, stride)
        cols = np.minimum(((us + 0.5) * (w / dw)).astype(np.int64), w - 1)
        rows = np.minimum(((vs + 0.5) * (h / dh)).astype(np.int64), h - 1)
        crop = image[rows[:, None], cols[None, :]]
    else:
        crop = image[v0:v0 + height * stride:stride, u0:u0 + width * stride:stride]
    # BGRA bytes read as a little-endian uint32 are 0xAARRGGBB: clear the alpha.
    bgra = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGRA)
    packed = bgra.view('<u4').reshape(-1)
    packed &= np.uint32(0x00FFFFFF)
    return packed


def cloud_to_numpy(msg: PointCloud2) -> Dict[str, np.ndarray]:
    """
    Return the fields of a cloud written by ``points_to_cloud`` as arrays.

    Keys: 'xyz' (N, 3) float32, 'rgb' (N, 3) uint8 and, when present, 'mask_index' (N,).
    """
    names = [f.name for f in msg.fields]
    dtype = _dtype('mask_index' in names)
    buffer = np.frombuffer(bytes(msg.data), dtype=dtype, count=msg.width * msg.height)
    packed = buffer['rgb']
    out = {'xyz': np.stack([buffer['x'], buffer['y'], buffer['z']], axis=1),
           'rgb': np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255],
                           axis=1).astype(np.uint8)}
    if 'mask_index' in names:
        out['mask_index'] = buffer['mask_index'].copy()
    return out


def depth_to_image(depth: np.ndarray, encoding: str = '16UC1',
                   header: Optional[Header] = None) -> Image:
    """
    Return (H, W) float metres as a depth ``Image``: 16UC1 (rounded mm) or 32FC1 (m).

    Invalid depth (NaN, inf, <= 0) becomes 0 in 16UC1 and stays as it is in 32FC1.
    """
    if encoding == '16UC1':
        valid = np.isfinite(depth) & (depth > 0)
        pixels = np.clip(np.rint(np.where(valid, depth, 0.0) * 1000.0), 0, 65535)
        pixels = pixels.astype('<u2')
    elif encoding == '32FC1':
        pixels = np.asarray(depth, dtype='<f4')
    else:
        raise ValueError(f'depth_to_image writes 16UC1 or 32FC1, not {encoding!r}')
    msg = Image(header=header if header is not None else Header(),
                height=int(depth.shape[0]), width=int(depth.shape[1]), encoding=encoding,
                is_bigendian=0, step=int(depth.shape[1]) * pixels.itemsize)
    data = array.array('B')
    data.frombytes(np.ascontiguousarray(pixels).tobytes())
    msg.data = data
    return msg


def _xyz(target, values: Sequence[float]) -> None:
    target.x, target.y, target.z = float(values[0]), float(values[1]), float(values[2])


def _colour(target: ColorRGBA, rgb: Sequence[float], alpha: float) -> None:
    target.r, target.g, target.b, target.a = rgb[0], rgb[1], rgb[2], alpha


def _marker(pool: Optional[Dict[Tuple[int, int], Marker]], header: Header, marker_id: int,
            kind: int) -> Marker:
    # Building a Marker costs ~0.1..0.3 ms in Python (many nested fields); reuse them.
    marker = None if pool is None else pool.get((marker_id, kind))
    if marker is None:
        marker = Marker(ns=_NS, id=marker_id, type=kind, action=Marker.ADD)
        marker.pose.orientation.w = 1.0
        if pool is not None:
            pool[(marker_id, kind)] = marker
    marker.header = header
    return marker


def masks_to_markers(header: Header, masks: Sequence[Tuple[int, int, float, object]],
                     pool: Optional[Dict[Tuple[int, int], Marker]] = None) -> MarkerArray:
    """
    Return RViz markers: a DELETEALL, then per mask an extent box, a centroid and a label.

    ``masks``: (mask index, level value, predicted IoU, SegmentMask with 3D) tuples.
    Ids are 3 * mask index + 0 (box), 1 (centroid sphere), 2 (text) in namespace 'sam';
    the DELETEALL first replaces every earlier answer's markers. ``pool``: a dict the
    caller keeps to reuse Marker objects between calls (publish before the next call).
    """
    out = MarkerArray()
    markers = [_marker(pool, header, 0, Marker.ARROW)]
    markers[0].action = Marker.DELETEALL
    for index, level, iou, mask in masks:
        rgb = LEVEL_RGBA.get(level, (1.0, 1.0, 1.0))
        low = (mask.extent_min.x, mask.extent_min.y, mask.extent_min.z)
        high = (mask.extent_max.x, mask.extent_max.y, mask.extent_max.z)
        # Fields are set in place: new Point / Vector3 / ColorRGBA objects cost more.
        box = _marker(pool, header, 3 * index, Marker.CUBE)
        _colour(box.color, rgb, 0.3)
        _xyz(box.pose.position, [(a + b) / 2.0 for a, b in zip(low, high)])
        _xyz(box.scale, [max(b - a, 1e-3) for a, b in zip(low, high)])
        centre = _marker(pool, header, 3 * index + 1, Marker.SPHERE)
        _colour(centre.color, rgb, 1.0)
        _xyz(centre.pose.position, (mask.centroid.x, mask.centroid.y, mask.centroid.z))
        _xyz(centre.scale, (0.02, 0.02, 0.02))
        text = _marker(pool, header, 3 * index + 2, Marker.TEXT_VIEW_FACING)
        _colour(text.color, rgb, 1.0)
        text.text = f'{LEVEL_NAMES.get(level, level)} {iou:.2f}'
        _xyz(text.pose.position, (low[0], low[1] - 0.03, low[2]))
        text.scale.z = 0.04
        markers += [box, centre, text]
    out.markers = markers
    return out
