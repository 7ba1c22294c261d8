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
The demo client: a node that sends prompts to the sam_ros node and collects its answers.

It uses only the node's documented interface: ``SegmentPrompt`` on ``<sam>/prompt``,
``SegmentResult`` on ``<sam>/results``, rqt_image_view-style clicks
(``geometry_msgs/Point``) on ``<image>_mouse_left``, RViz-style 3-D points
(``geometry_msgs/PointStamped``) on the clicked-point topic, and ``<sam>/overlay``.
``format_answer`` prints a result the way the demo shows it. The scripted steps are in
``sam_ros.demo.script``.
"""

import dataclasses
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, PointStamped
import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.msg import SegmentMask, SegmentPrompt, SegmentResult
from sam_ros.node.conversions import image_to_numpy, image_to_rgb, ns_to_stamp
from sensor_msgs.msg import Image

__all__ = ['Answer', 'DemoClient', 'LEVEL_NAMES', 'STATUS_NAMES', 'format_answer',
           'mask_arrays', 'true_ious']

STATUS_NAMES = {getattr(SegmentResult, name): name[len('STATUS_'):]
                for name in dir(SegmentResult) if name.startswith('STATUS_')}
LEVEL_NAMES = {SegmentMask.LEVEL_SUBPART: 'subpart', SegmentMask.LEVEL_PART: 'part',
               SegmentMask.LEVEL_WHOLE: 'whole', SegmentMask.LEVEL_SINGLE: 'single'}
_KEEP_RESULTS = 64
_MODE_NAMES = {SegmentPrompt.MODE_MULTI: 'MULTI', SegmentPrompt.MODE_SINGLE: 'SINGLE',
               SegmentPrompt.MODE_AUTO: 'AUTO'}


class NoAnswer(RuntimeError):
    """The node did not answer in time (or died); the message says which prompt."""


@dataclasses.dataclass
class Answer:
    """One prompt's result, its latency (publish -> receive, ms) and how it was sent."""

    result: SegmentResult
    latency_ms: float
    sent_at: float

    @property
    def status(self) -> str:
        """Return the status name, e.g. 'OK' or 'STALE_FRAME'."""
        return STATUS_NAMES.get(self.result.status, str(self.result.status))

    @property
    def stamp_ns(self) -> int:
        """Return the stamp (ns) of the frame the masks belong to."""
        stamp = self.result.header.stamp
        return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def mask_arrays(result: SegmentResult) -> List[np.ndarray]:
    """Return the result's masks as (H, W) bool arrays, in the result's order."""
    return [image_to_numpy(m.mask) > 0 for m in result.masks]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int(np.count_nonzero(a | b))
    return float(np.count_nonzero(a & b)) / union if union else 1.0


def true_ious(masks: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> List[float]:
    """
    Return each mask's IoU with the ground truth.

    With as many truths as masks they are paired in order (subpart, part, whole);
    otherwise each mask is scored against the truth it matches best.
    """
    if not truth:
        return []
    if len(truth) == len(masks):
        return [_iou(m, t) for m, t in zip(masks, truth)]
    return [max(_iou(m, t) for t in truth) for m in masks]


def format_answer(answer: Answer, truth: Optional[Sequence[float]] = None) -> List[str]:
    """Return the lines the demo prints for ``answer`` (``truth``: true IoU per mask)."""
    r = answer.result
    lines = []
    head = f'status {answer.status}'
    if r.status == SegmentResult.STATUS_OK:
        reused = ('yes' if r.embedding_reused
                  else f'no, encoded for this prompt in {r.encode_time_ms:.0f} ms')
        head += (f' | mode {_MODE_NAMES.get(r.mode, r.mode)} | {len(r.masks)} mask(s) | '
                 f'best index {r.best_index} | embedding reused: {reused} | decode '
                 f'{r.decode_time_ms:.0f} ms | latency {answer.latency_ms:.0f} ms')
    else:
        head += f' | latency {answer.latency_ms:.0f} ms | {r.message}'
    lines.append(head)
    for i, m in enumerate(r.masks):
        line = (f'  mask {i}: {LEVEL_NAMES.get(m.level, m.level):<7} predicted IoU '
                f'{m.predicted_iou:.3f}  stability {m.stability_score:.3f}  area '
                f'{m.area:>6} px  bbox ({m.bbox.x_offset}, {m.bbox.y_offset}, '
                f'{m.bbox.width}x{m.bbox.height})')
        if truth is not None and i < len(truth):
            line += f'  true IoU {truth[i]:.3f}'
        if i == r.best_index:
            line += '  <- best'
        lines.append(line)
    return lines


class DemoClient(Node):
    """Publish prompts and clicks to a sam_ros node; wait for and time its answers."""

    def __init__(self, sam_namespace: str, click_topic: str, clicked_point_topic: str,
                 overlay: bool = False, node_name: str = 'demo_client', **kwargs) -> None:
        """
        Create the publishers and subscriptions.

        ``sam_namespace``: the node's fully qualified name, e.g. '/demo/sam' (its
        topics are '<name>/prompt', '<name>/results', ...). ``click_topic``: where
        rqt_image_view-style clicks go; ``clicked_point_topic``: RViz-style points.
        ``overlay``: subscribe to '<name>/overlay' (the node then renders it).
        """
        super().__init__(node_name, **kwargs)
        self.sam = sam_namespace.rstrip('/')
        self._cond = threading.Condition()
        self._results: List[SegmentResult] = []
        self._received_at: List[float] = []
        self._dropped = 0
        self._counts: Dict[int, int] = {}
        self._overlays: List[Image] = []
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.prompt_pub = self.create_publisher(SegmentPrompt, f'{self.sam}/prompt', reliable)
        self.click_pub = self.create_publisher(Point, click_topic, reliable)
        self.clicked_point_pub = self.create_publisher(PointStamped, clicked_point_topic,
                                                       reliable)
        self.create_subscription(SegmentResult, f'{self.sam}/results', self._on_result,
                                 reliable)
        if overlay:
            self.create_subscription(Image, f'{self.sam}/overlay', self._on_overlay,
                                     QoSProfile(depth=4, reliability=ReliabilityPolicy.RELIABLE))
        self._diagnostics: Dict[str, str] = {}
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics,
                                 reliable)

    def _on_result(self, msg: SegmentResult) -> None:
        now = time.perf_counter()
        with self._cond:
            self._results.append(msg)
            self._received_at.append(now)
            self._counts[msg.status] = self._counts.get(msg.status, 0) + 1
            excess = len(self._results) - _KEEP_RESULTS
            if excess > 0:      # --forever runs for days: keep only the newest results
                del self._results[:excess], self._received_at[:excess]
                self._dropped += excess
            self._cond.notify_all()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(self.sam + ':') or status.name.startswith(
                    self.sam.lstrip('/') + ':'):
                with self._cond:
                    self._diagnostics = {kv.key: kv.value for kv in status.values}

    def diagnostics(self) -> Dict[str, str]:
        """Return the values of the node's newest /diagnostics status (empty before one)."""
        with self._cond:
            return dict(self._diagnostics)

    def _on_overlay(self, msg: Image) -> None:
        with self._cond:
            self._overlays.append(msg)
            del self._overlays[:-2]
            self._cond.notify_all()

    # ------------------------------------------------------------------- waiting

    def _wait(self, predicate: Callable[[], object], what: str, timeout: float,
              alive: Optional[Callable[[], bool]] = None) -> object:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                if alive is not None and not alive():
                    raise NoAnswer(f'the sam node exited while waiting for {what}')
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NoAnswer(f'no {what} within {timeout:.0f} s')
                self._cond.wait(min(left, 0.2))

    def wait_ready(self, timeout: float, alive: Optional[Callable[[], bool]] = None) -> None:
        """Wait until the node subscribes to our prompts and publishes results."""
        deadline = time.monotonic() + timeout
        while True:
            if alive is not None and not alive():
                raise NoAnswer('the sam node exited while starting')
            if (self.prompt_pub.get_subscription_count() > 0
                    and self.click_pub.get_subscription_count() > 0
                    and self.clicked_point_pub.get_subscription_count() > 0
                    and self.count_publishers(f'{self.sam}/results') > 0):
                return
            if time.monotonic() > deadline:
                raise NoAnswer(f'the sam node was not ready after {timeout:.0f} s')
            time.sleep(0.1)

    def _answer_after(self, start: int, sent_at: float, match: Callable[[str], bool],
                      what: str, timeout: float,
                      alive: Optional[Callable[[], bool]]) -> Answer:
        def find():
            for i in range(max(0, start - self._dropped), len(self._results)):
                if match(self._results[i].prompt_id):
                    return self._results[i], self._received_at[i]
            return None
        result, received = self._wait(find, what, timeout, alive)
        return Answer(result, (received - sent_at) * 1e3, sent_at)

    # ------------------------------------------------------------------- sending

    def send(self, prompt: SegmentPrompt, timeout: float = 60.0,
             alive: Optional[Callable[[], bool]] = None) -> Answer:
        """Publish ``prompt`` on <sam>/prompt and return its answer from <sam>/results."""
        with self._cond:
            start = self._dropped + len(self._results)
        sent_at = time.perf_counter()
        self.prompt_pub.publish(prompt)
        return self._answer_after(start, sent_at, lambda pid: pid == prompt.prompt_id,
                                  f'answer to prompt {prompt.prompt_id!r}', timeout, alive)

    def click(self, x: float, y: float, timeout: float = 60.0,
              alive: Optional[Callable[[], bool]] = None) -> Answer:
        """Publish an rqt_image_view-style click at pixel (x, y) and return its answer."""
        with self._cond:
            start = self._dropped + len(self._results)
        sent_at = time.perf_counter()
        self.click_pub.publish(Point(x=float(x), y=float(y), z=0.0))
        return self._answer_after(start, sent_at, lambda pid: pid.startswith('click/'),
                                  'answer to the click', timeout, alive)

    def clicked_point(self, xyz: Sequence[float], frame_id: str, stamp_ns: int = 0,
                      timeout: float = 60.0,
                      alive: Optional[Callable[[], bool]] = None) -> Answer:
        """Publish an RViz-style 3-D point (metres, in ``frame_id``) and return its answer."""
        msg = PointStamped()
        msg.header.frame_id = frame_id
        msg.header.stamp = ns_to_stamp(stamp_ns)
        msg.point = Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))
        with self._cond:
            start = self._dropped + len(self._results)
        sent_at = time.perf_counter()
        self.clicked_point_pub.publish(msg)
        return self._answer_after(start, sent_at, lambda pid: pid.startswith('clicked_point/'),
                                  'answer to the clicked point', timeout, alive)

    def overlay(self, timeout: float = 5.0) -> Optional[np.ndarray]:
        """Return the newest overlay image as (H, W, 3) uint8 RGB, or None if none came."""
        try:
            self._wait(lambda: self._overlays, 'overlay', timeout)
        except NoAnswer:
            return None
        with self._cond:
            msg = self._overlays[-1]
        return image_to_rgb(msg)

    def results_received(self) -> Dict[str, int]:
        """Return how many results arrived, per status name."""
        with self._cond:
            return {STATUS_NAMES.get(k, str(k)): v for k, v in self._counts.items()}
