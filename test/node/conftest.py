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
Fixtures of the node tier: the node in its own process, a client in this one, real DDS.

``start_node(*ros_args)`` runs the installed ``sam_node`` executable with
``--ros-args`` (remapped to ``/camera/image``, ``/camera/camera_info``, node name
``sam``), and waits until its ``~/segment`` service answers discovery. ``client`` is
an rclpy node in the pytest process that publishes frames and prompts and collects
results and diagnostics. Each test module gets its own ROS_DOMAIN_ID; discovery stays
on this machine. All waits are on topics, services or processes, with timeouts that
only guard against hangs.

With SAM_ROS_NODE_TEST_LIFECYCLE=1, ``running_node`` is the lifecycle node
(``sam_lifecycle_node``), configured and activated over its lifecycle services: every
test on ``running_node`` then runs against it.

The node runs the embedded model with its committed weights. To develop while those
weights are absent, set SAM_ROS_NODE_TEST_RANDOM_WEIGHTS=1: the node then runs with
``allow_random_weights:=true`` (masks are meaningless, shapes and statuses are not).
"""

import itertools
import os
from pathlib import Path
import threading
import time
import types
from typing import Any, Callable, Dict, List, Optional

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, PointStamped, PolygonStamped
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import numpy as np
import pytest
import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sam_ros.demo import ros_session
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node.conversions import numpy_to_image
from sam_ros.srv import Segment
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

START_TIMEOUT_S = 180.0   # model load on a busy 2-core CI machine
ANSWER_TIMEOUT_S = 60.0   # one prompt, including an encode on a busy CPU
STOP_TIMEOUT_S = 30.0
_DOMAIN_OFFSETS = itertools.count()
RANDOM_WEIGHTS = os.environ.get('SAM_ROS_NODE_TEST_RANDOM_WEIGHTS') == '1'
LIFECYCLE = os.environ.get('SAM_ROS_NODE_TEST_LIFECYCLE') == '1'


def _embedded_weights() -> Path:
    import sam_ros.core.build as build
    return Path(build.EMBEDDED_WEIGHTS)


@pytest.fixture(scope='module')
def domain_id() -> int:
    """Return a ROS_DOMAIN_ID of this test module's own (102..231, from the run's id)."""
    base = int(os.environ.get('ROS_DOMAIN_ID', '0') or 0)
    return 102 + (base * 7 + next(_DOMAIN_OFFSETS)) % 130


class NodeProcess(ros_session.NodeProcess):
    """The node in its own process, on this module's domain; its output goes to a log file."""

    def __init__(self, ros_args: List[str], domain: int, log_path: Path,
                 prefix: Optional[List[str]] = None,
                 env: Optional[Dict[str, str]] = None, executable: str = 'sam_node') -> None:
        """Start the node; ``prefix`` goes before the command, ``env`` over the defaults."""
        super().__init__(
            list(prefix or []) + ros_session.node_command(executable) + ['--ros-args']
            + ros_args,
            log_path, env=dict({'ROS_DOMAIN_ID': str(domain),
                                'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                                'RCUTILS_COLORIZED_OUTPUT': '0'}, **(env or {})),
            cwd=log_path.parent)

    def interrupt(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Send SIGINT (Ctrl-C) and return the exit code."""
        return super().interrupt(timeout)

    def close(self) -> None:
        """Stop the process if it still runs (SIGINT, then SIGKILL)."""
        self.stop(STOP_TIMEOUT_S)


class Client:
    """An rclpy node in the test process that talks to the node under test."""

    def __init__(self, domain: int, node_ns: str = '/sam') -> None:
        self.ns = node_ns
        self.session = ros_session.RosSession(domain_id=domain)
        self.context = self.session.context
        self.node = self.session.add(rclpy.create_node('sam_test_client', context=self.context))
        self._cond = threading.Condition()
        self.results: List[SegmentResult] = []
        self.diagnostics: List[Dict[str, str]] = []
        self.masks: List[Image] = []
        self.overlays: List[Image] = []
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        node = self.node
        self.image_pub = node.create_publisher(Image, '/camera/image', reliable)
        self.compressed_pub = node.create_publisher(CompressedImage,
                                                    '/camera/image/compressed', reliable)
        self.info_pub = node.create_publisher(CameraInfo, '/camera/camera_info', reliable)
        self.prompt_pub = node.create_publisher(SegmentPrompt, f'{node_ns}/prompt', reliable)
        self.point_pub = node.create_publisher(PointStamped, f'{node_ns}/point', reliable)
        self.box_pub = node.create_publisher(PolygonStamped, f'{node_ns}/box', reliable)
        self.click_pub = node.create_publisher(Point, '/camera/image_mouse_left', reliable)
        self.clicked_point_pub = node.create_publisher(PointStamped, '/clicked_point',
                                                       reliable)
        # KEEP_ALL: a burst of answers is never overwritten before this process takes it.
        node.create_subscription(SegmentResult, f'{node_ns}/results',
                                 self._collect(self.results),
                                 QoSProfile(history=HistoryPolicy.KEEP_ALL,
                                            reliability=ReliabilityPolicy.RELIABLE))
        node.create_subscription(Image, f'{node_ns}/mask', self._collect(self.masks), reliable)
        node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 reliable)
        self.segment = node.create_client(Segment, f'{node_ns}/segment')
        self.change_state = node.create_client(ChangeState, f'{node_ns}/change_state')
        self.get_state = node.create_client(GetState, f'{node_ns}/get_state')
        self.overlay_sub = None
        self.executor = self.session.executor
        self.session.start()

    def _collect(self, into: List[Any]) -> Callable[[Any], None]:
        def callback(msg: Any) -> None:
            with self._cond:
                into.append(msg)
                self._cond.notify_all()
        return callback

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.endswith(': segmenter'):
                with self._cond:
                    values = {kv.key: kv.value for kv in status.values}
                    values['level'] = str(int.from_bytes(status.level, 'little')
                                          if isinstance(status.level, bytes)
                                          else status.level)
                    values['message'] = status.message
                    self.diagnostics.append(values)
                    self._cond.notify_all()

    def subscribe_overlay(self) -> None:
        """Subscribe to ~/overlay (the node renders it only while someone does)."""
        self.overlay_sub = self.node.create_subscription(
            Image, f'{self.ns}/overlay', self._collect(self.overlays),
            QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))

    # ------------------------------------------------------------------- waiting

    def wait_for(self, predicate: Callable[[], Any], what: str,
                 timeout: float = ANSWER_TIMEOUT_S) -> Any:
        """Wait until ``predicate()`` is truthy (checked on every message); return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')
                self._cond.wait(min(left, 0.2))

    def wait_ready(self, node: NodeProcess, timeout: float = START_TIMEOUT_S,
                   compressed: bool = False) -> None:
        """Wait until the node's service is discovered and our endpoints are matched."""
        deadline = time.monotonic() + timeout
        publishers = (self.compressed_pub if compressed else self.image_pub, self.info_pub,
                      self.prompt_pub, self.point_pub, self.box_pub, self.click_pub,
                      self.clicked_point_pub)
        while True:
            if not node.alive():
                raise AssertionError(f'the node exited with code {node.proc.returncode} '
                                     f'while starting:\n{node.output()[-3000:]}')
            if (self.segment.service_is_ready()
                    and all(p.get_subscription_count() > 0 for p in publishers)
                    and self.node.count_publishers(f'{self.ns}/results') > 0
                    and self.diagnostics):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f'the node was not ready after {timeout:.0f} s:\n'
                                     f'{node.output()[-3000:]}')
            time.sleep(0.1)

    def latest_diagnostics(self) -> Dict[str, str]:
        """Return the newest segmenter status values (waits for one)."""
        return self.wait_for(lambda: self.diagnostics and self.diagnostics[-1],
                             'a /diagnostics message')

    def wait_diagnostic(self, key: str, minimum: int, timeout: float = ANSWER_TIMEOUT_S
                        ) -> Dict[str, str]:
        """Wait for a diagnostics message whose integer ``key`` is >= ``minimum``."""
        def newest():
            if self.diagnostics and int(self.diagnostics[-1][key]) >= minimum:
                return self.diagnostics[-1]
            return None
        return self.wait_for(newest, f'diagnostics {key!r} >= {minimum}', timeout)

    def diagnostics_after_results(self) -> Dict[str, str]:
        """Wait for diagnostics that count every result received so far, and return them."""
        with self._cond:
            received = len(self.results)
        return self.wait_diagnostic('prompts answered', received)

    def result_for(self, prompt_id: str, timeout: float = ANSWER_TIMEOUT_S) -> SegmentResult:
        """Wait for the (first) result of ``prompt_id`` on ~/results."""
        def find():
            return next((r for r in self.results if r.prompt_id == prompt_id), None)
        return self.wait_for(find, f'the result of prompt {prompt_id!r}', timeout)

    def results_for(self, prompt_id: str) -> List[SegmentResult]:
        """Return every result received so far for ``prompt_id``."""
        with self._cond:
            return [r for r in self.results if r.prompt_id == prompt_id]

    # ------------------------------------------------------------------- sending

    def publish_frame(self, image: np.ndarray, stamp_ns: int, encoding: str = 'rgb8',
                      frame_id: str = 'camera_optical') -> Header:
        """Publish an (H, W, 3) RGB frame (converted to ``encoding``) and return its header."""
        header = Header(stamp=stamp(stamp_ns), frame_id=frame_id)
        pixels = image[..., ::-1].copy() if encoding == 'bgr8' else image
        self.image_pub.publish(numpy_to_image(pixels, encoding, header))
        return header

    def send(self, prompt: SegmentPrompt, timeout: float = ANSWER_TIMEOUT_S) -> SegmentResult:
        """Publish ``prompt`` on ~/prompt and return its result from ~/results."""
        self.prompt_pub.publish(prompt)
        return self.result_for(prompt.prompt_id, timeout)

    def call(self, prompt: SegmentPrompt, timeout: float = ANSWER_TIMEOUT_S) -> SegmentResult:
        """Call ~/segment and return the response's result."""
        future = self.segment.call_async(Segment.Request(prompt=prompt))
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        if not done.wait(timeout):
            raise AssertionError(f'~/segment did not answer within {timeout:.0f} s')
        return future.result().result

    def _call(self, client: Any, request: Any, timeout: float) -> Any:
        if not client.wait_for_service(timeout_sec=timeout):
            raise AssertionError(f'{client.srv_name} was not discovered in {timeout:.0f} s')
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        if not done.wait(timeout):
            raise AssertionError(f'{client.srv_name} did not answer within {timeout:.0f} s')
        return future.result()

    def transition(self, name: str, timeout: float = START_TIMEOUT_S) -> bool:
        """Trigger lifecycle transition ``name`` ('configure', ...); return its success."""
        transition = Transition(id=getattr(Transition, 'TRANSITION_' + name.upper()))
        return self._call(self.change_state, ChangeState.Request(transition=transition),
                          timeout).success

    def lifecycle_state(self, timeout: float = ANSWER_TIMEOUT_S) -> str:
        """Return the lifecycle node's current state label ('unconfigured', ...)."""
        return self._call(self.get_state, GetState.Request(), timeout).current_state.label

    def close(self) -> None:
        """Destroy the client node and shut its context down."""
        self.session.close()


def stamp(ns: int) -> Time:
    """Return integer nanoseconds as a builtin_interfaces/Time."""
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def point_prompt(prompt_id: str, x: float, y: float, stamp_ns: int = 0,
                 mode: int = SegmentPrompt.MODE_AUTO) -> SegmentPrompt:
    """Return a one-foreground-point prompt."""
    prompt = SegmentPrompt(prompt_id=prompt_id, mode=mode)
    prompt.header.stamp = stamp(stamp_ns)
    prompt.points = [Point(x=float(x), y=float(y))]
    prompt.labels = [1]
    return prompt


def box_prompt(prompt_id: str, box, stamp_ns: int = 0) -> SegmentPrompt:
    """Return a box prompt (XYXY pixels)."""
    prompt = SegmentPrompt(prompt_id=prompt_id, has_box=True)
    prompt.header.stamp = stamp(stamp_ns)
    prompt.box = [float(v) for v in box]
    return prompt


def scene(index: int, width: int = 320, height: int = 240):
    """Return synthetic scene ``index`` (image and ground truth) of the embedded world."""
    from sam_ros.synthetic.world import SceneGenerator
    return SceneGenerator(seed=4).scene(index, width, height)


def inside_point(mask: np.ndarray) -> tuple:
    """Return a pixel (x, y) well inside ``mask``: the one farthest from its border."""
    import cv2
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return float(x), float(y)


def node_args(*extra: str, random_weights: bool = RANDOM_WEIGHTS) -> List[str]:
    """Return the --ros-args of a test node: names, reliable images, fast diagnostics."""
    args = ['-r', '__node:=sam', '-r', 'image:=/camera/image',
            '-r', 'camera_info:=/camera/camera_info',
            '-p', 'image_qos_reliability:=reliable', '-p', 'diagnostics_period:=0.2']
    if random_weights:
        args += ['-p', 'allow_random_weights:=true']
    for parameter in extra:
        args += ['-p', parameter]
    return args


@pytest.fixture(scope='module')
def start_node(domain_id: int, tmp_path_factory: pytest.TempPathFactory):
    """Return a function that starts a node process (stopped at the end of the module)."""
    started: List[NodeProcess] = []
    folder = tmp_path_factory.mktemp('sam_node')

    def start(*parameters: str, ros_args: Optional[List[str]] = None,
              prefix: Optional[List[str]] = None,
              env: Optional[Dict[str, str]] = None,
              executable: str = 'sam_node') -> NodeProcess:
        args = ros_args if ros_args is not None else node_args(*parameters)
        node = NodeProcess(args, domain_id, folder / f'node{len(started)}.log', prefix, env,
                           executable)
        started.append(node)
        return node

    yield start
    for node in started:
        node.close()


@pytest.fixture(scope='module')
def client(domain_id: int):
    """Return a test client on this module's domain."""
    made = Client(domain_id)
    yield made
    made.close()


def require_embedded_model() -> None:
    """Fail the test with a clear message when the embedded model's weights are absent."""
    if not RANDOM_WEIGHTS and not _embedded_weights().is_file():
        pytest.fail(f'the embedded model weights {_embedded_weights()} are missing, and the '
                    'node tests run the embedded model. Land the trained weights, or set '
                    'SAM_ROS_NODE_TEST_RANDOM_WEIGHTS=1 to develop with random weights.',
                    pytrace=False)


def visible_box(mask: np.ndarray) -> tuple:
    """Return the XYXY pixel box of a (H, W) bool mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (float(cols[0]), float(rows[0]), float(cols[-1]), float(rows[-1]))


class Stamps:
    """Increasing frame stamps, 50 ms apart, from a fixed epoch."""

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000) -> None:
        self._next = start_ns

    def __call__(self, step_ns: int = 50_000_000) -> int:
        """Return the next stamp in ns, ``step_ns`` after the previous one."""
        self._next += step_ns
        return self._next


@pytest.fixture(scope='module')
def stamps() -> Stamps:
    """Return this module's stamp generator."""
    return Stamps()


@pytest.fixture(scope='module')
def running_node(start_node, client):
    """Start one node with the test defaults and wait until it is ready."""
    require_embedded_model()
    if LIFECYCLE:
        node = start_node(executable='sam_lifecycle_node')
        assert client.transition('configure'), node.output()[-3000:]
        assert client.transition('activate'), node.output()[-3000:]
    else:
        node = start_node()
    client.wait_ready(node)
    return node


@pytest.fixture(scope='session')
def helpers():
    """Return the helper functions (test modules cannot import conftest under importlib)."""
    return types.SimpleNamespace(
        point_prompt=point_prompt, box_prompt=box_prompt, scene=scene, stamp=stamp,
        inside_point=inside_point, visible_box=visible_box,
        require_embedded_model=require_embedded_model, node_args=node_args)
