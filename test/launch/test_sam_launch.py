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
launch_testing test of launch/sam.launch.py (tier 4).

Launches the installed sam.launch.py with a namespace and remapped camera topics, waits
for the node to report ready, checks that its ~/segment service answers under the
namespace (NO_FRAME before any image, then OK on a published frame) and that it exits
with code 0 when launch shuts it down. Runs with ``launch_test`` or pytest where
launch_testing and launch_ros are installed (a full ROS 2 install); skipped elsewhere,
with the reason.

Like the node tests it runs the embedded model; SAM_ROS_NODE_TEST_RANDOM_WEIGHTS=1 runs
it with random weights instead (development only).
"""

import os
import tempfile
import time
import unittest

from ament_index_python.packages import get_package_share_directory
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node.conversions import numpy_to_image
from sam_ros.srv import Segment
from sensor_msgs.msg import Image
import yaml

_WHY = ('{} is not installed: it has no wheel on PyPI; this test runs on a full ROS 2 '
        'install (apt ros-<distro>-launch-testing-ros)')
launch = pytest.importorskip('launch', reason=_WHY.format('launch'))
launch_actions = pytest.importorskip('launch.actions', reason=_WHY.format('launch'))
launch_sources = pytest.importorskip('launch.launch_description_sources',
                                     reason=_WHY.format('launch'))
pytest.importorskip('launch_ros', reason=_WHY.format('launch_ros'))
launch_testing = pytest.importorskip('launch_testing', reason=_WHY.format('launch_testing'))
launch_testing_actions = pytest.importorskip('launch_testing.actions',
                                             reason=_WHY.format('launch_testing'))
launch_testing_asserts = pytest.importorskip('launch_testing.asserts',
                                             reason=_WHY.format('launch_testing'))

pytestmark = pytest.mark.launch

NAMESPACE = 'sam_launch_test'
SERVICE = f'/{NAMESPACE}/sam/segment'
IMAGE_TOPIC = '/launch_test/image'
TIMEOUT_S = 180.0


def _params_file(share: str) -> str:
    path = os.path.join(share, 'config', 'sam.yaml')
    if os.environ.get('SAM_ROS_NODE_TEST_RANDOM_WEIGHTS') != '1':
        return path
    with open(path, encoding='utf-8') as f:
        params = yaml.safe_load(f)
    params['/**']['ros__parameters']['allow_random_weights'] = True
    handle, random_path = tempfile.mkstemp(suffix='.yaml', prefix='sam_random_')
    with os.fdopen(handle, 'w', encoding='utf-8') as f:
        yaml.safe_dump(params, f)
    return random_path


@pytest.mark.launch_test
def generate_test_description():
    """Launch sam.launch.py as a user would, with a namespace and remapped topics."""
    share = get_package_share_directory('sam_ros')
    sam = launch_actions.IncludeLaunchDescription(
        launch_sources.PythonLaunchDescriptionSource(
            os.path.join(share, 'launch', 'sam.launch.py')),
        launch_arguments={
            'namespace': NAMESPACE,
            'image': IMAGE_TOPIC,
            'camera_info': '/launch_test/camera_info',
            'device': 'cpu',
            'params_file': _params_file(share),
        }.items())
    return launch.LaunchDescription([sam, launch_testing_actions.ReadyToTest()])


def _prompt(prompt_id: str, stamp_ns: int) -> SegmentPrompt:
    prompt = SegmentPrompt(prompt_id=prompt_id)
    prompt.header.stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    prompt.points = [Point(x=16.0, y=12.0)]
    prompt.labels = [1]
    return prompt


class TestSamLaunch(unittest.TestCase):
    """The launched node reports ready and answers its namespaced service."""

    @classmethod
    def setUpClass(cls):
        cls.context = rclpy.Context()
        rclpy.init(context=cls.context)
        cls.node = rclpy.create_node('sam_launch_test_client', context=cls.context)
        cls.executor = SingleThreadedExecutor(context=cls.context)
        cls.executor.add_node(cls.node)

    @classmethod
    def tearDownClass(cls):
        cls.executor.shutdown()
        cls.node.destroy_node()
        rclpy.try_shutdown(context=cls.context)

    def _call(self, client, prompt: SegmentPrompt) -> SegmentResult:
        future = client.call_async(Segment.Request(prompt=prompt))
        deadline = time.monotonic() + TIMEOUT_S
        while not future.done() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.1)
        self.assertTrue(future.done(), f'{SERVICE} did not answer')
        return future.result().result

    def test_node_starts_and_answers_under_its_namespace(self, proc_output):
        proc_output.assertWaitFor('ready:', timeout=TIMEOUT_S)
        client = self.node.create_client(Segment, SERVICE)
        self.assertTrue(client.wait_for_service(timeout_sec=TIMEOUT_S), SERVICE)
        result = self._call(client, _prompt('before-frames', 0))
        self.assertEqual(result.status, SegmentResult.STATUS_NO_FRAME, result.message)

        publisher = self.node.create_publisher(
            Image, IMAGE_TOPIC, QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE))
        deadline = time.monotonic() + TIMEOUT_S
        while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.1)
        stamp_ns = 1_700_000_000 * 10**9
        frame = np.zeros((24, 32, 3), np.uint8)
        frame[6:18, 8:24] = (200, 60, 60)
        message = numpy_to_image(frame, 'rgb8')
        message.header.stamp = Time(sec=stamp_ns // 10**9)
        publisher.publish(message)
        result = self._call(client, _prompt('on-frame', stamp_ns))
        self.assertEqual(result.status, SegmentResult.STATUS_OK, result.message)
        self.assertEqual(len(result.masks), 3)


@launch_testing.post_shutdown_test()
class TestSamLaunchShutdown(unittest.TestCase):
    """Launch stops the node with SIGINT; it exits cleanly."""

    def test_exit_code_is_zero(self, proc_info):
        launch_testing_asserts.assertExitCodes(proc_info)
