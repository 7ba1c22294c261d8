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

"""The periodic segment-everything mode over real DDS: ~/everything once per new frame."""

import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.msg import EverythingResult, SegmentResult
from sam_ros.node.conversions import image_to_numpy

pytestmark = pytest.mark.node


def test_everything_period_publishes_the_latest_frame_once(start_node, client, helpers,
                                                           stamps):
    helpers.require_embedded_model()
    received = []
    client.node.create_subscription(
        EverythingResult, '/sam/everything', client._collect(received),
        QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE))
    node = start_node('everything_period:=0.3', 'everything_points_per_side:=8')
    client.wait_ready(node)
    client.wait_for(lambda: client.node.count_publishers('/sam/everything') > 0,
                    'the ~/everything publisher')
    world = helpers.scene(2)
    t = stamps()
    client.publish_frame(world.image, t)
    first = client.wait_for(lambda: received and received[0], 'a message on ~/everything',
                            120.0)
    assert first.status == SegmentResult.STATUS_OK, first.message
    assert first.header.stamp == helpers.stamp(t)
    labels = image_to_numpy(first.label_image)
    assert labels.shape == (240, 320) and len(first.regions) > 0
    assert int(labels.max()) <= len(first.regions) and np.any(labels > 0)
    # The same frame is not segmented again; a new frame is.
    t2 = stamps()
    client.publish_frame(helpers.scene(3).image, t2)
    second = client.wait_for(lambda: len(received) > 1 and received[1],
                             'a second message on ~/everything', 120.0)
    assert second.header.stamp == helpers.stamp(t2)
    assert all(m.header.stamp != first.header.stamp for m in received[1:])
