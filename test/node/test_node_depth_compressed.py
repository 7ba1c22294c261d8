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
Depth over image_transport's compressedDepth (PNG) reaches the answers (tier 3).

The node runs with ``depth_transport:=compressedDepth``; a bad buffer gets its reason.
"""

import struct

import cv2
import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.synthetic.depth import scene_depth, surface_truth, to_millimetres
from sensor_msgs.msg import CameraInfo, CompressedImage
from std_msgs.msg import Header

pytestmark = pytest.mark.node

FRAME = 'camera_optical'
SCENE, OBJECT = 35, 0     # as test_node_depth: well segmented at every level


@pytest.fixture(scope='module')
def setup(start_node, client, helpers, stamps):
    helpers.require_embedded_model()
    node = start_node(ros_args=helpers.node_args('depth_transport:=compressedDepth')
                      + ['-r', 'depth:=/camera/depth'])
    client.wait_ready(node)
    pub = client.node.create_publisher(CompressedImage, '/camera/depth/compressedDepth',
                                       QoSProfile(depth=10,
                                                  reliability=ReliabilityPolicy.RELIABLE))
    client.wait_for(lambda: pub.get_subscription_count() > 0, 'the compressedDepth subscriber')
    scene = helpers.scene(SCENE)
    truth = scene_depth(scene)
    client.info_pub.publish(CameraInfo(header=Header(frame_id=FRAME), width=scene.width,
                                       height=scene.height, k=list(truth.k)))
    client.wait_diagnostic('depth camera_info received', 1)
    return node, pub, scene, truth


def _send(client, helpers, stamps, setup, data, prompt_id):
    node, pub, scene, truth = setup
    t = stamps()
    header = Header(stamp=helpers.stamp(t), frame_id=FRAME)
    received = int(client.latest_diagnostics()['depth frames received'])
    pub.publish(CompressedImage(header=header, format='16UC1; compressedDepth png', data=data))
    client.wait_diagnostic('depth frames received', received + 1)
    client.publish_frame(scene.image, t, frame_id=FRAME)
    x, y = helpers.inside_point(scene.objects[OBJECT].whole)
    result = client.send(helpers.point_prompt(prompt_id, x, y, t,
                                              mode=SegmentPrompt.MODE_MULTI))
    assert result.status == SegmentResult.STATUS_OK, result.message
    return result


def test_compressed_depth_gives_3d_within_1cm_of_the_truth(setup, client, helpers, stamps):
    _, _, scene, truth = setup
    ok, png = cv2.imencode('.png', to_millimetres(truth.depth))
    assert ok
    result = _send(client, helpers, stamps, setup,
                   struct.pack('<iff', 0, 0.0, 0.0) + png.tobytes(), 'compressed')
    assert result.depth_status == SegmentResult.DEPTH_OK, result.depth_message
    whole = result.masks[2]
    expected, _, _ = surface_truth(truth.depth, scene.objects[OBJECT].whole, truth.k)
    measured = np.array([whole.centroid.x, whole.centroid.y, whole.centroid.z])
    assert np.abs(measured - expected).max() < 0.0105


def test_a_broken_compressed_depth_buffer_gets_bad_depth(setup, client, helpers, stamps):
    node = setup[0]
    result = _send(client, helpers, stamps, setup, bytes(40), 'compressed-broken')
    assert result.depth_status == SegmentResult.DEPTH_BAD_DEPTH, result.depth_message
    assert '16-bit PNG' in result.depth_message
    assert node.alive()
