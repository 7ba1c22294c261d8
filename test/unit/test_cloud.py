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

"""Tests of the 3D conversions (sam_ros.node.cloud): PointCloud2, depth Image, markers."""

import numpy as np
import pytest
from sam_ros.core.depth import decode_depth
from sam_ros.msg import SegmentMask
from sam_ros.node.cloud import cloud_to_numpy, depth_to_image, masks_to_markers, \
    points_to_cloud
from sensor_msgs.msg import PointField
from std_msgs.msg import Header
from visualization_msgs.msg import Marker


def test_cloud_round_trips_xyz_rgb_and_mask_index_with_the_pcl_layout():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3)).astype(np.float32)
    rgb = rng.integers(0, 256, (50, 3)).astype(np.uint8)
    header = Header(frame_id='cam')
    plain = points_to_cloud(header, points, rgb)
    assert [(f.name, f.offset, f.datatype) for f in plain.fields] == [
        ('x', 0, PointField.FLOAT32), ('y', 4, PointField.FLOAT32),
        ('z', 8, PointField.FLOAT32), ('rgb', 12, PointField.FLOAT32)]
    assert (plain.point_step, plain.row_step, plain.width, plain.height) == (16, 800, 50, 1)
    assert plain.is_dense and not plain.is_bigendian and len(plain.data) == 800
    back = cloud_to_numpy(plain)
    assert np.array_equal(back['xyz'], points) and np.array_equal(back['rgb'], rgb)
    packed = np.frombuffer(bytes(plain.data), np.uint32).reshape(50, 4)[:, 3]
    assert packed[0] == (int(rgb[0, 0]) << 16) | (int(rgb[0, 1]) << 8) | int(rgb[0, 2])
    index = np.arange(50) % 3
    indexed = points_to_cloud(header, points, rgb, index)
    assert indexed.fields[-1].name == 'mask_index' and indexed.point_step == 20
    assert indexed.fields[-1].datatype == PointField.UINT32
    assert np.array_equal(cloud_to_numpy(indexed)['mask_index'], index)


@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
def test_depth_image_decodes_back_to_the_same_metres(encoding):
    depth = np.array([[0.5, 1.2345, np.nan], [2.0, -1.0, 0.0]], np.float32)
    msg = depth_to_image(depth, encoding)
    values, scale = decode_depth(msg.encoding, msg.height, msg.width, msg.step,
                                 bool(msg.is_bigendian), msg.data)
    metres = values * np.float32(scale)
    assert np.allclose(metres[0, :2], depth[0, :2], atol=5e-4) and metres[1, 0] == 2.0
    if encoding == '16UC1':
        assert metres[0, 2] == 0 and metres[1, 1] == 0    # invalid -> 0
    else:
        assert np.isnan(metres[0, 2]) and metres[1, 1] == -1.0
    with pytest.raises(ValueError):
        depth_to_image(depth, 'mono8')


def _mask(level, low, high, centroid):
    mask = SegmentMask(level=level, has_3d=True, predicted_iou=0.9)
    mask.extent_min.x, mask.extent_min.y, mask.extent_min.z = low
    mask.extent_max.x, mask.extent_max.y, mask.extent_max.z = high
    mask.centroid.x, mask.centroid.y, mask.centroid.z = centroid
    return mask


def test_markers_start_with_deleteall_and_draw_box_centroid_and_label_per_mask():
    header = Header(frame_id='cam')
    masks = [(0, SegmentMask.LEVEL_SUBPART, 0.5, _mask(0, (0, 0, 1), (0.1, 0.2, 1.0),
                                                       (0.05, 0.1, 1))),
             (2, SegmentMask.LEVEL_WHOLE, 0.93, _mask(2, (-1, -1, 2), (1, 1, 2.5),
                                                      (0, 0, 2.2)))]
    pool = {}
    out = masks_to_markers(header, masks, pool)
    kinds = [(m.action, m.type, m.id) for m in out.markers]
    assert kinds[0][0] == Marker.DELETEALL
    assert kinds[1:] == [(Marker.ADD, Marker.CUBE, 0), (Marker.ADD, Marker.SPHERE, 1),
                         (Marker.ADD, Marker.TEXT_VIEW_FACING, 2),
                         (Marker.ADD, Marker.CUBE, 6), (Marker.ADD, Marker.SPHERE, 7),
                         (Marker.ADD, Marker.TEXT_VIEW_FACING, 8)]
    whole_box = out.markers[4]
    assert (whole_box.pose.position.x, whole_box.pose.position.z) == (0.0, 2.25)
    assert (whole_box.scale.x, whole_box.scale.y, whole_box.scale.z) == (2.0, 2.0, 0.5)
    assert whole_box.scale.z == 0.5 and out.markers[1].scale.z == pytest.approx(1e-3)
    assert out.markers[6].text == 'whole 0.93' and out.markers[5].pose.position.z == 2.2
    assert out.markers[1].color.r > out.markers[1].color.g     # subpart: its own colour
    again = masks_to_markers(header, masks[1:], pool)
    assert len(again.markers) == 4 and again.markers[1] is out.markers[4]   # reused
