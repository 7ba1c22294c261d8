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
The lifecycle (managed) node over its lifecycle services, and QoS overrides (tier 3).

One ``sam_lifecycle_node`` is driven configure -> activate -> deactivate -> activate
-> deactivate -> cleanup by a real client over DDS; it segments while active and has no
topics while inactive. A ``qos_overrides.*`` parameter changes a subscription's QoS.
Set SAM_ROS_NODE_TEST_LIFECYCLE=1 to run every ``running_node`` test on the lifecycle
node.
"""

import time

import pytest
from rclpy.qos import ReliabilityPolicy
from sam_ros.msg import SegmentResult

pytestmark = pytest.mark.node

WAIT_S = 60.0
OK = SegmentResult.STATUS_OK


def _wait_until(predicate, what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')
        time.sleep(0.1)


def _segments(client, helpers, stamps, prompt_id: str, answered: int) -> None:
    """Check a point prompt on ~/prompt, a box over ~/segment and /diagnostics' count."""
    world = helpers.scene(0)
    t = stamps()
    client.publish_frame(world.image, t)
    x, y = helpers.inside_point(world.objects[-1].levels[0])
    result = client.send(helpers.point_prompt(prompt_id, x, y, t))
    assert result.status == OK, result.message
    assert len(result.masks) == 3
    assert result.header.stamp == helpers.stamp(t)
    box = helpers.visible_box(world.objects[-1].levels[-1])
    answer = client.call(helpers.box_prompt(prompt_id + '-box', box, t))
    assert answer.status == OK, answer.message
    assert len(answer.masks) == 1 and answer.embedding_reused
    client.wait_diagnostic('prompts answered', answered)


def _image_reliability(client) -> list:
    return [info.qos_profile.reliability
            for info in client.node.get_subscriptions_info_by_topic('/camera/image')]


def test_transitions_over_the_lifecycle_services(start_node, client, helpers, stamps):
    helpers.require_embedded_model()
    node = start_node(executable='sam_lifecycle_node')
    assert client.lifecycle_state() == 'unconfigured'
    assert client.node.count_publishers('/sam/results') == 0

    assert client.transition('configure'), node.output()[-3000:]
    assert client.lifecycle_state() == 'inactive'
    assert 'warmed up on a blank frame' in node.output()
    assert client.node.count_publishers('/sam/results') == 0
    assert not client.transition('configure')   # not a transition from inactive

    for round_ in range(2):     # activate again after a deactivate: the same interface
        assert client.transition('activate'), node.output()[-3000:]
        assert client.lifecycle_state() == 'active'
        client.wait_ready(node)
        _segments(client, helpers, stamps, f'lifecycle-{round_}', answered=2 * (round_ + 1))
        assert client.transition('deactivate'), node.output()[-3000:]
        assert client.lifecycle_state() == 'inactive'
        _wait_until(lambda: client.node.count_publishers('/sam/results') == 0
                    and client.node.count_subscribers('/camera/image') == 0,
                    'the inactive node to drop its topics')
    assert node.output().count('deactivating: ') == 2   # the queue's log line

    assert client.transition('cleanup'), node.output()[-3000:]
    assert client.lifecycle_state() == 'unconfigured'
    assert 'model released' in node.output()
    assert node.interrupt() == 0, node.output()
    assert 'Traceback' not in node.output()


def test_a_missing_checkpoint_fails_configure_and_the_node_stays_up(
        start_node, client, helpers):
    node = start_node(executable='sam_lifecycle_node', ros_args=helpers.node_args(
        'model_type:=vit_t', 'checkpoint:=/nonexistent/mobile_sam.pt', random_weights=False))
    assert not client.transition('configure')
    assert client.lifecycle_state() == 'unconfigured'
    lines = [line for line in node.output().splitlines() if 'configure failed' in line]
    assert len(lines) == 1, node.output()
    assert "cannot load the model: checkpoint '/nonexistent/mobile_sam.pt'" in lines[0]
    assert node.interrupt() == 0, node.output()


def test_an_out_of_range_parameter_fails_at_start_as_for_sam_node(start_node, helpers):
    # Ranges are checked when the parameters are declared, in the constructor.
    node = start_node(executable='sam_lifecycle_node',
                      ros_args=helpers.node_args('cache_size:=0', random_weights=False))
    assert node.wait(120.0) == 2, node.output()
    assert 'bad configuration' in node.output() and 'cache_size' in node.output()


def test_a_bad_qos_override_value_fails_sam_node_at_start_with_one_line(start_node, helpers):
    node = start_node(ros_args=helpers.node_args(
        'qos_overrides./camera/image.subscription.reliability:=bogus', random_weights=False))
    assert node.wait(120.0) == 2, node.output()
    assert 'bad configuration' in node.output() and 'qos_overrides' in node.output()
    assert 'Traceback' not in node.output(), node.output()


@pytest.mark.parametrize('executable', ['sam_node', 'sam_lifecycle_node'])
def test_qos_override_parameter_sets_the_image_subscription(
        start_node, client, helpers, executable):
    helpers.require_embedded_model()
    # node_args asks for reliable images; the standard override wins over the shorthand.
    node = start_node(ros_args=helpers.node_args(
        'qos_overrides./camera/image.subscription.reliability:=best_effort',
        'qos_overrides./camera/image.subscription.depth:=3'), executable=executable)
    if executable == 'sam_lifecycle_node':
        assert client.transition('configure'), node.output()[-3000:]
        assert client.transition('activate'), node.output()[-3000:]
    _wait_until(lambda: _image_reliability(client) == [ReliabilityPolicy.BEST_EFFORT],
                'the node to subscribe to /camera/image best effort')
    # The subscription exists a moment before the node logs 'ready': wait for the line.
    _wait_until(lambda: 'ready: image /camera/image (raw, best_effort)' in node.output(),
                "the node's ready line naming best_effort")
    assert 'is not a parameter of this node' not in node.output()
    assert node.interrupt() == 0, node.output()
