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
from typing import Dict, Optional, Sequence, Tuple

from geometry_msgs.msg import Point, Vector3
import numpy as np
from sensor_msgs.msg import Image, PointCloud2, PointField
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

__all__ = ['LEVEL_RGBA', 'cloud_to_numpy', 'depth_to_image', 'masks_to_markers',
           'points_to_cloud']

# RGBA (0..1) per SegmentMask level value: subpart, part, whole, single.
LEVEL_RGBA = {0: (1.0, 0.3, 0.3), 1: (0.3, 1.0, 0.3), 2: (0.3, 0.5, 1.0), 3: (1.0, 0.9, 0.2)}
LEVEL_NAMES = {0: 'subpart', 1: 'part', 2: 'whole', 3: 'single'}
_NS = 'sam'


def _dtype(with_index: bool) -> np.dtype:
    fields = [('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('rgb', '<u4')]
    if with_index:
        fields.append(('mask_index', '<u4'))
    return np.dtype(fields)


def points_to_cloud(header: Header, points: np.ndarray, rgb: np.ndarray,
                    mask_index: Optional[np.ndarray] = None) -> PointCloud2:
    """
    Return a dense, unorganised ``PointCloud2``.

    ``points``: (N, 3) float32 xyz metres; ``rgb``: (N, 3) uint8; ``mask_index``:
    optional (N,) integer index of each point's mask.
    """
    with_index = mask_index is not None
    dtype = _dtype(with_index)
    n = int(points.shape[0])
    buffer = np.empty(n, dtype)
    buffer['x'], buffer['y'], buffer['z'] = points[:, 0], points[:, 1], points[:, 2]
    colour = rgb.astype(np.uint32)
    buffer['rgb'] = (colour[:, 0] << 16) | (colour[:, 1] << 8) | colour[:, 2]
    if with_index:
        buffer['mask_index'] = mask_index
    msg = PointCloud2(header=header, height=1, width=n, is_bigendian=False,
                      point_step=dtype.itemsize, row_step=dtype.itemsize * n, is_dense=True)
    msg.fields = [PointField(name=name, offset=dtype.fields[name][1],
                             datatype=PointField.UINT32 if name == 'mask_index'
                             else PointField.FLOAT32, count=1)
                  for name in dtype.names]
    data = array.array('B')
    data.frombytes(buffer.tobytes())
    msg.data = data
    return msg


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


def _point(xyz: Sequence[float]) -> Point:
    return Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def masks_to_markers(header: Header, masks: Sequence[Tuple[int, int, float, object]]
                     ) -> MarkerArray:
    """
    Return RViz markers: a DELETEALL, then per mask an extent box, a centroid and a label.

    ``masks``: (mask index, level value, predicted IoU, SegmentMask with 3D) tuples.
    Ids are 3 * mask index + 0 (box), 1 (centroid sphere), 2 (text) in namespace 'sam';
    the DELETEALL first replaces every earlier answer's markers.
    """
    out = MarkerArray()
    out.markers.append(Marker(header=header, ns=_NS, action=Marker.DELETEALL))
    for index, level, iou, mask in masks:
        r, g, b = LEVEL_RGBA.get(level, (1.0, 1.0, 1.0))
        low = np.array([mask.extent_min.x, mask.extent_min.y, mask.extent_min.z])
        high = np.array([mask.extent_max.x, mask.extent_max.y, mask.extent_max.z])
        box = Marker(header=header, ns=_NS, id=3 * index, type=Marker.CUBE,
                     action=Marker.ADD, color=ColorRGBA(r=r, g=g, b=b, a=0.3))
        box.pose.position = _point((low + high) / 2.0)
        box.pose.orientation.w = 1.0
        side = np.maximum(high - low, 1e-3)
        box.scale = Vector3(x=float(side[0]), y=float(side[1]), z=float(side[2]))
        centre = Marker(header=header, ns=_NS, id=3 * index + 1, type=Marker.SPHERE,
                        action=Marker.ADD, color=ColorRGBA(r=r, g=g, b=b, a=1.0))
        centre.pose.position = mask.centroid
        centre.pose.orientation.w = 1.0
        centre.scale = Vector3(x=0.02, y=0.02, z=0.02)
        text = Marker(header=header, ns=_NS, id=3 * index + 2, type=Marker.TEXT_VIEW_FACING,
                      action=Marker.ADD, color=ColorRGBA(r=r, g=g, b=b, a=1.0),
                      text=f'{LEVEL_NAMES.get(level, level)} {iou:.2f}')
        text.pose.position = _point((low[0], low[1] - 0.03, low[2]))
        text.pose.orientation.w = 1.0
        text.scale.z = 0.04
        out.markers.append(box)
        out.markers.append(centre)
        out.markers.append(text)
    return out
