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
Start and stop: bad configuration fails in one line, SIGINT exits cleanly (tier 3).

A FASTDDS_DEFAULT_PROFILES_FILE that names no file is reported at start.

Also runs a node on the compressed image transport.
"""

import array

import cv2
import pytest
from sam_ros.msg import SegmentResult
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header

pytestmark = pytest.mark.node

EXIT_TIMEOUT_S = 120.0


def _fatal_lines(output):
    return [line for line in output.splitlines() if 'FATAL' in line]


@pytest.mark.parametrize('parameters,exit_code,says', [
    (['encode_policy:=sometimes'], 2, 'encode_policy'),
    (['cache_size:=0'], 2, 'cache_size'),
    (['model_type:=vit_b'], 2, 'needs a checkpoint'),
    (['model_type:=vit_t', 'checkpoint:=/nonexistent/mobile_sam.pt'], 1,
     "cannot load the model: checkpoint '/nonexistent/mobile_sam.pt' does not exist"),
])
def test_bad_configuration_exits_at_start_with_one_line(
        start_node, helpers, parameters, exit_code, says):
    node = start_node(ros_args=helpers.node_args(*parameters, random_weights=False))
    assert node.wait(EXIT_TIMEOUT_S) == exit_code, node.output()
    output = node.output()
    fatal = _fatal_lines(output)
    assert len(fatal) == 1, output
    assert says in fatal[0]
    assert 'Traceback' not in output


def test_corrupt_checkpoint_exits_at_start_with_one_line(start_node, helpers, tmp_path):
    checkpoint = tmp_path / 'corrupt.pt'
    checkpoint.write_bytes(b'this is not a torch checkpoint' * 10)
    node = start_node(ros_args=helpers.node_args(
        'model_type:=vit_t', f'checkpoint:={checkpoint}', random_weights=False))
    assert node.wait(EXIT_TIMEOUT_S) == 1, node.output()
    output = node.output()
    fatal = _fatal_lines(output)
    assert len(fatal) == 1, output
    assert 'cannot load the model' in fatal[0]
    assert 'Traceback' not in output


def test_a_missing_fastdds_profile_is_reported_at_start(start_node, helpers, tmp_path,
                                                        monkeypatch):
    missing = tmp_path / 'no_such_profile.xml'
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', str(missing))
    node = start_node(ros_args=helpers.node_args('cache_size:=0', random_weights=False))
    assert node.wait(EXIT_TIMEOUT_S) == 2, node.output()
    warnings = [line for line in node.output().splitlines()
                if 'WARN' in line and str(missing) in line]
    assert len(warnings) == 1, node.output()
    assert 'is not a file' in warnings[0] and 'fastdds_profile' in warnings[0]


def test_sigint_shuts_the_node_down_cleanly(start_node, client, helpers, stamps):
    helpers.require_embedded_model()
    node = start_node()
    client.wait_ready(node)
    world = helpers.scene(40)
    t = stamps()
    client.publish_frame(world.image, t)
    assert client.send(helpers.point_prompt('before-sigint', 160, 120, t)).status == \
        SegmentResult.STATUS_OK
    assert node.interrupt() == 0, node.output()
    assert 'Traceback' not in node.output()


def test_compressed_transport_takes_png_and_reports_bad_data(start_node, client, helpers,
                                                             stamps):
    helpers.require_embedded_model()
    node = start_node('image_transport:=compressed')
    client.wait_ready(node, compressed=True)
    world = helpers.scene(41)
    t = stamps()
    ok, png = cv2.imencode('.png', world.image[..., ::-1])
    assert ok
    msg = CompressedImage(header=Header(stamp=helpers.stamp(t), frame_id='camera_optical'),
                          format='rgb8; png compressed bgr8')
    msg.data = array.array('B', png.tobytes())
    client.compressed_pub.publish(msg)
    result = client.send(helpers.point_prompt('compressed', 160, 120, t))
    assert result.status == SegmentResult.STATUS_OK, result.message
    assert result.masks[0].mask.width == 320
    t_bad = stamps()
    broken = CompressedImage(header=Header(stamp=helpers.stamp(t_bad)), format='jpeg')
    broken.data = array.array('B', b'\xff\xd8 truncated jpeg')
    client.compressed_pub.publish(broken)
    bad = client.send(helpers.point_prompt('compressed-bad', 160, 120, t_bad))
    assert bad.status == SegmentResult.STATUS_BAD_IMAGE
    assert node.alive()
    assert node.interrupt() == 0, node.output()


def test_an_unknown_parameter_is_warned_about_once_with_the_closest_name(
        start_node, client, helpers):
    helpers.require_embedded_model()
    node = start_node('min_iuo:=0.5')
    client.wait_ready(node)
    client.wait_for(lambda: ']: ready: ' in node.output(), "the node's ready line")
    warnings = [line for line in node.output().splitlines() if "'min_iuo'" in line]
    assert len(warnings) == 1, node.output()
    assert 'WARN' in warnings[0] and "did you mean 'min_iou'?" in warnings[0]
    assert node.interrupt() == 0, node.output()
