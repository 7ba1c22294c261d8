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
RViz clicks (``/clicked_point``) in the robot's frame, with real tf2 over DDS (tier 3).

The test process publishes a static transform base_link -> camera optical frame with
``tf2_ros.StaticTransformBroadcaster``; the node's tf2 listener brings base_link clicks
into the camera frame. These tests run where ``tf2_ros`` imports (PyPI has none:
docs/CONTRIBUTING.md says how it was built from source) and skip with the reason where
not. The first test runs everywhere: without tf2_ros the node says so once at start and
refuses a base_link click with that reason.
"""

import importlib
import time

from geometry_msgs.msg import PointStamped, TransformStamped
import numpy as np
import pytest
from sam_ros.msg import SegmentResult
from sam_ros.node.conversions import image_to_numpy
from sensor_msgs.msg import CameraInfo

pytestmark = pytest.mark.node

OK = SegmentResult.STATUS_OK
INVALID = SegmentResult.STATUS_INVALID_PROMPT
FRAME = 'camera_optical'
FOCAL, CX, CY = 200.0, 160.0, 120.0
# base_link (x forward, y left, z up) -> optical frame (z forward, x right, y down).
# Columns: the optical x, y, z axes in base_link; QUATERNION (x, y, z, w) is this rotation.
ROTATION = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
QUATERNION = (-0.5, 0.5, -0.5, 0.5)
TRANSLATION = np.array([0.12, -0.04, 0.35])   # the camera in base_link, metres


def _tf2():
    try:
        return importlib.import_module('tf2_ros')
    except ImportError:
        return None


tf2_ros = _tf2()
needs_tf2 = pytest.mark.skipif(
    tf2_ros is None,
    reason='tf2_ros is not importable (no wheel on PyPI; build tf2, tf2_msgs, tf2_py and '
           'tf2_ros_py of ros2/geometry2 from source as docs/CONTRIBUTING.md says, or '
           'install ros-<distro>-tf2-ros)')


def _rotate(q, v):
    """Rotate ``v`` by the unit quaternion ``q`` (x, y, z, w): v + 2w(u x v) + 2u x (u x v)."""
    u, w = np.array(q[:3]), q[3]
    return v + 2.0 * w * np.cross(u, v) + 2.0 * np.cross(u, np.cross(u, v))


def _in_base_link(x: float, y: float, depth: float) -> PointStamped:
    """Return the base_link point that the camera sees at pixel (x, y), ``depth`` m away."""
    optical = np.array([(x - CX) * depth / FOCAL, (y - CY) * depth / FOCAL, depth])
    point = ROTATION @ optical + TRANSLATION
    msg = PointStamped()
    msg.header.frame_id = 'base_link'
    msg.point.x, msg.point.y, msg.point.z = (float(v) for v in point)
    return msg


def _camera_info(header) -> CameraInfo:
    info = CameraInfo(header=header, width=320, height=240, distortion_model='plumb_bob')
    info.header.frame_id = FRAME
    info.k = [FOCAL, 0.0, CX, 0.0, FOCAL, CY, 0.0, 0.0, 1.0]
    info.p = [FOCAL, 0.0, CX, 0.0, 0.0, FOCAL, CY, 0.0, 0.0, 0.0, 1.0, 0.0]
    info.d = [0.0] * 5
    return info


class Clicks:
    """/clicked_point on the shared test client, and the answers to it."""

    def __init__(self, client, info: CameraInfo) -> None:
        self.client, self.info = client, info

    def answers(self):
        return [r for r in self.client.results if r.prompt_id.startswith('clicked_point/')]

    def click(self, msg: PointStamped) -> SegmentResult:
        """Publish ``msg`` and return the node's answer to it."""
        before = len(self.answers())
        self.client.clicked_point_pub.publish(msg)
        return self.client.wait_for(lambda: len(self.answers()) > before and self.answers(),
                                    'an answer on /clicked_point')[before]

    def click_when_ready(self, msg: PointStamped, waiting_for=('camera_info',)):
        """Click until the node has camera_info (and what ``waiting_for`` names)."""
        for _ in range(40):
            answer = self.click(msg)
            if not any(word in answer.message for word in waiting_for):
                return answer
            self.client.info_pub.publish(self.info)
            time.sleep(0.25)
        return answer


@pytest.fixture(scope='module')
def frame(running_node, client, helpers, stamps):
    """Publish a frame and its camera_info; return (world, stamp ns, Clicks)."""
    world = helpers.scene(7)
    t = stamps()
    header = client.publish_frame(world.image, t, frame_id=FRAME)
    info = _camera_info(header)
    client.info_pub.publish(info)
    x, y = helpers.inside_point(world.objects[-1].whole)
    assert client.send(helpers.point_prompt('tf2-frame', x, y, t)).status == OK
    return world, t, Clicks(client, info)


@pytest.fixture(scope='module')
def broadcaster(client):
    """Publish base_link -> camera_optical with a static broadcaster in this process."""
    if tf2_ros is None:
        pytest.skip('tf2_ros is not importable')
    made = tf2_ros.StaticTransformBroadcaster(client.node)
    transform = TransformStamped()
    transform.header.frame_id, transform.child_frame_id = 'base_link', FRAME
    transform.header.stamp = client.node.get_clock().now().to_msg()
    t = transform.transform
    t.translation.x, t.translation.y, t.translation.z = (float(v) for v in TRANSLATION)
    t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w = QUATERNION
    made.sendTransform(transform)
    return made


def test_the_quaternion_is_the_rotation_of_the_test():
    for axis in range(3):
        np.testing.assert_allclose(_rotate(QUATERNION, np.eye(3)[axis]), ROTATION[:, axis],
                                   atol=1e-12)


def test_base_link_clicks_follow_tf2_availability(running_node, frame):
    _, _, clicks = frame
    said_missing = 'tf2_ros is not importable' in running_node.output()
    assert said_missing == (tf2_ros is None), running_node.output()[-2000:]
    if tf2_ros is None:
        answer = clicks.click_when_ready(_in_base_link(100.0, 80.0, 2.0))
        assert answer.status == INVALID
        assert 'tf2_ros is not available' in answer.message, answer.message


@needs_tf2
def test_a_base_link_click_lands_on_its_pixel(broadcaster, frame, client, helpers):
    world, t, clicks = frame
    x, y = helpers.inside_point(world.objects[-1].whole)
    answer = clicks.click_when_ready(_in_base_link(x, y, 1.7),
                                     waiting_for=('camera_info', 'no transform'))
    assert answer.status == OK, answer.message
    assert answer.header.stamp == helpers.stamp(t)
    # The same masks as a point prompt on that pixel of that frame.
    direct = client.call(helpers.point_prompt('tf2-direct', x, y, t))
    assert direct.status == OK and answer.best_index == direct.best_index
    for mine, theirs in zip(answer.masks, direct.masks):
        np.testing.assert_array_equal(image_to_numpy(mine.mask), image_to_numpy(theirs.mask))
    # The exact pixel: a click that lands outside the image names it in the reason.
    outside = clicks.click(_in_base_link(345.5, 17.25, 3.0))
    assert outside.status == INVALID
    assert 'point (345.5, 17.25) is outside the 320x240 image' in outside.message, (
        outside.message)
    # In base_link, a point behind the robot is behind the camera (the rotation is used).
    behind = _in_base_link(160.0, 120.0, 1.0)
    behind.point.x = -5.0
    answer = clicks.click(behind)
    assert answer.status == INVALID and 'behind the camera' in answer.message, answer.message


@needs_tf2
def test_a_missing_transform_is_a_throttled_reason_never_a_hang(
        broadcaster, running_node, frame, client, helpers):
    world, t, clicks = frame
    clicks.click_when_ready(_in_base_link(100.0, 80.0, 2.0),
                            waiting_for=('camera_info', 'no transform'))
    lost = _in_base_link(100.0, 80.0, 2.0)
    lost.header.frame_id = 'gripper_link'
    count = 12
    # The node's reject line is throttled per call site (5 s, any reason): let the lines
    # of the earlier tests' refusals age out, so that this burst's first one is logged.
    time.sleep(6.0)
    before = len(clicks.answers())
    for _ in range(count):
        client.clicked_point_pub.publish(lost)
    answers = client.wait_for(lambda: len(clicks.answers()) >= before + count
                              and clicks.answers()[before:], f'{count} answers')
    for answer in answers:
        assert answer.status == INVALID
        assert "no transform from 'gripper_link' to 'camera_optical'" in answer.message, (
            answer.message)
    logged = [line for line in running_node.output().splitlines()
              if "no transform from 'gripper_link'" in line]
    assert 1 <= len(logged) < count, logged
    # The node is not stuck behind the lookups.
    x, y = helpers.inside_point(world.objects[-1].whole)
    assert client.call(helpers.point_prompt('tf2-after', x, y, t)).status == OK


@needs_tf2
def test_the_node_with_a_tf2_listener_stops_cleanly(broadcaster, running_node):
    assert running_node.interrupt() == 0, running_node.output()[-3000:]
    output = running_node.output()
    assert 'Traceback' not in output and 'ExternalShutdownException' not in output, (
        output[-3000:])
