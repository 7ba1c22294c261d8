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
Padded rows and big-endian mono16 reach the node as the same pixels (tier 3).

These are the layouts that cv_bridge's Python ``imgmsg_to_cv2`` misreads (see
``sam_ros.node.bridge``): a ``step`` that is not a whole number of pixels and a byte order
other than the machine's. Where cv_bridge imports the node must route them to its own
conversion; everywhere, the same image in another layout must give the same masks.
"""

import array

import numpy as np
import pytest
from sam_ros.msg import SegmentResult
from sensor_msgs.msg import Image
from std_msgs.msg import Header

pytestmark = pytest.mark.node

OK = SegmentResult.STATUS_OK


def _image(pixels: np.ndarray, encoding: str, header: Header, padding: int = 0,
           bigendian: bool = False) -> Image:
    """Return ``pixels`` as an Image with ``padding`` bytes after each row."""
    if bigendian:
        pixels = pixels.astype(pixels.dtype.newbyteorder('>'))
    rows = np.ascontiguousarray(pixels).reshape(pixels.shape[0], -1).view(np.uint8)
    rows = np.concatenate([rows, np.full((rows.shape[0], padding), 0xAB, np.uint8)], axis=1)
    msg = Image(header=header, height=pixels.shape[0], width=pixels.shape[1],
                encoding=encoding, is_bigendian=bigendian, step=rows.shape[1])
    msg.data = array.array('B', rows.tobytes())
    return msg


def _masks(client, helpers, stamps, world, layouts):
    """Publish each (encoding, pixels, padding, bigendian) and return each answer's masks."""
    x, y = helpers.inside_point(world.objects[-1].levels[0])
    answers = []
    for index, (encoding, pixels, padding, bigendian) in enumerate(layouts):
        t = stamps()
        header = Header(stamp=helpers.stamp(t), frame_id='camera_optical')
        client.image_pub.publish(_image(pixels, encoding, header, padding, bigendian))
        result = client.send(helpers.point_prompt(f'layout-{encoding}-{index}', x, y, t))
        assert result.status == OK, (encoding, padding, bigendian, result.message)
        answers.append([bytes(m.mask.data) for m in result.masks])
    return answers


def test_padded_rgba8_gives_the_masks_of_rgb8(running_node, client, helpers, stamps):
    world = helpers.scene(0)
    rgba = np.dstack([world.image, np.full(world.image.shape[:2], 7, np.uint8)])
    plain, padded = _masks(client, helpers, stamps, world, [
        ('rgb8', world.image, 0, False), ('rgba8', rgba, 3, False)])
    assert plain and plain == padded


def test_big_endian_padded_mono16_gives_the_masks_of_little_endian(
        running_node, client, helpers, stamps):
    world = helpers.scene(1)
    gray = world.image.sum(axis=2, dtype=np.uint16) * np.uint16(80)   # (H, W) uint16
    little, big = _masks(client, helpers, stamps, world, [
        ('mono16', gray, 0, False), ('mono16', gray, 3, True)])
    assert little and little == big
