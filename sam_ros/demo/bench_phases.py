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
The phases of ``sam_ros.demo.benchmark_node``: latency, encode counts, memory.

``Bench`` talks to the node process over DDS (frames on ``/bench/camera/image``,
prompts through ``DemoClient``) and owns the in-process engine it compares with.
"""

import argparse
import concurrent.futures
import dataclasses
import threading
import time
from typing import Dict, List, Optional, Tuple

from geometry_msgs.msg import Point
import numpy as np
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message
from sam_ros.demo.client import DemoClient, NoAnswer
from sam_ros.demo.ros_session import NodeProcess, RosSession
from sam_ros.demo.scenes import FrameKey, interior_point, MovingWorld
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node import conversions as conv
from sam_ros.synthetic.prompts import multi_point_prompt
from sensor_msgs.msg import Image
from std_msgs.msg import Header

__all__ = ['Bench', 'BenchError', 'EncodeCount', 'KIND_TITLES', 'KINDS', 'Latency',
           'Memory', 'NAMESPACE']

NAMESPACE = '/bench'
KINDS = ('point', 'box', 'points')
KIND_TITLES = {'point': 'one click (3 masks)', 'box': 'box (1 mask)',
               'points': '2 + 1 points (1 mask)'}
_WARMUP = 3
_TIMEOUT = 120.0


class BenchError(RuntimeError):
    """The benchmark could not go on; the message says why."""


@dataclasses.dataclass
class Latency:
    """Per prompt kind: medians in ms (predict, segment, node, node_p90, node_decode, ...)."""

    rows: Dict[str, Dict[str, float]]
    samples: int


@dataclasses.dataclass
class EncodeCount:
    """Diagnostics deltas over one stream of frames."""

    stream: str
    policy: str
    received: int
    encodes: int
    skipped: int
    dropped: int


@dataclasses.dataclass
class Memory:
    """The node's RSS (MB) over the fast-camera phase, and what it did meanwhile."""

    rate: float
    duration: float
    rss_start: float
    rss_max: float
    rss_end: float
    slope: float
    received: int
    encodes: int
    dropped: int
    prompts: int
    prompt_median: float
    prompt_p90: float
    samples: List[Tuple[float, float]] = dataclasses.field(default_factory=list)


def _rss_mb(pid: int) -> float:
    with open(f'/proc/{pid}/status', encoding='ascii') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return float('nan')


def _median(values: List[float]) -> float:
    return float(np.median(values)) if values else float('nan')


class _Frames(Node):
    """Publishes prepared frames on ``/bench/camera/image`` (reliable, keep last 5)."""

    def __init__(self, **kwargs) -> None:
        super().__init__('bench_camera', **kwargs)
        self.pub = self.create_publisher(Image, f'{NAMESPACE}/camera/image',
                                         QoSProfile(depth=5,
                                                    reliability=ReliabilityPolicy.RELIABLE))

    def publish(self, msg: Image) -> int:
        stamp_ns = self.get_clock().now().nanoseconds
        msg.header = Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id='camera_optical')
        self.pub.publish(msg)
        return stamp_ns


class Bench:
    """The node process, the DDS side in this process, and the engine to compare with."""

    def __init__(self, args: argparse.Namespace, threads: int, node: NodeProcess) -> None:
        """Keep the settings; ``start()`` connects."""
        self.args, self.threads, self.node = args, threads, node
        self.session: Optional[RosSession] = None
        self.device = self.precision = self.model_note = ''
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix='engine')
        self.world = MovingWorld(seed=3, noise=0.0)
        self.key = FrameKey(0, *self.world.pose(0, 0))
        self.view = self.world.render(self.key)

    # ---------------------------------------------------------------- set-up

    def start(self) -> None:
        """Build the engine, connect to the node and wait until it is ready."""
        from sam_ros.node.config import config_from_values
        from sam_ros.node.model import build_predictor
        a = self.args
        config = config_from_values({
            'model_type': a.model_type, 'checkpoint': a.checkpoint,
            'allow_random_weights': a.random_weights, 'device': a.device,
            'precision': a.precision, 'num_threads': self.threads})
        self.predictor, self.model_note = build_predictor(config)
        self.device, self.precision = str(self.predictor.device), self.predictor.precision
        # A lean client: one single-threaded executor for the client node only (the frame
        # publisher needs no spinning). A multi-threaded executor here added milliseconds
        # of Python hand-offs to every measured answer.
        self.session = session = RosSession(threads=1)
        self.frames = session.add(_Frames(context=session.context), spin=False)
        self.client = session.add(DemoClient(
            f'{NAMESPACE}/sam', f'{NAMESPACE}/camera/image_mouse_left',
            f'{NAMESPACE}/clicked_point', context=session.context, node_name='bench_client'))
        session.start()
        try:
            self.client.wait_ready(300.0, alive=self.node.alive)
        except NoAnswer as exc:
            raise BenchError(str(exc)) from None
        deadline = time.monotonic() + 30.0
        while self.frames.pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                raise BenchError('the node did not subscribe to the image topic')
            time.sleep(0.05)

    def close(self) -> None:
        """Shut the DDS side down (the caller stops the node process)."""
        self._worker.shutdown(wait=False)
        if self.session is not None:
            self.session.close()

    def _diag(self, key: str, minimum: int, timeout: float = _TIMEOUT) -> Dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            values = self.client.diagnostics()
            if values and int(values.get(key, -1)) >= minimum:
                return values
            if not self.node.alive():
                raise BenchError('the node exited')
            if time.monotonic() > deadline:
                raise BenchError(f'diagnostics {key!r} did not reach {minimum}')
            time.sleep(0.05)

    def _settled(self) -> Dict[str, str]:
        """Wait until the node's encode count stops changing (1 s); return diagnostics."""
        last, since = None, time.monotonic()
        while time.monotonic() - since < 1.0:
            values = self._diag('frames received', 0)
            if values.get('encodes') != last:
                last, since = values.get('encodes'), time.monotonic()
            time.sleep(0.1)
        return self.client.diagnostics()

    def _set_policy(self, policy: str) -> None:
        service = self.client.create_client(SetParameters, f'{NAMESPACE}/sam/set_parameters')
        try:
            if not service.wait_for_service(timeout_sec=30.0):
                raise BenchError('the set_parameters service did not appear')
            request = SetParameters.Request(parameters=[Parameter(
                name='encode_policy', value=ParameterValue(
                    type=ParameterType.PARAMETER_STRING, string_value=policy))])
            future = service.call_async(request)
            deadline = time.monotonic() + 30.0
            while not future.done():
                if time.monotonic() > deadline:
                    raise BenchError('set_parameters did not answer')
                time.sleep(0.02)
            if not future.result().results[0].successful:
                raise BenchError(f'encode_policy {policy}: {future.result().results[0].reason}')
        finally:
            self.client.destroy_client(service)

    # ---------------------------------------------------------------- prompts

    def _prompts(self) -> Dict[str, List[Tuple[dict, SegmentPrompt]]]:
        """Return per kind up to 3 (engine kwargs, node prompt) pairs on ``self.view``."""
        rng = np.random.default_rng(11)
        objects = sorted(self.view.objects, key=lambda levels: -int(levels[-1].sum()))[:3]
        out: Dict[str, List[Tuple[dict, SegmentPrompt]]] = {k: [] for k in KINDS}
        for i, levels in enumerate(objects):
            xy = np.array([interior_point(levels[0])], np.float32)
            out['point'].append(({'point_coords': xy, 'point_labels': np.array([1])},
                                 _prompt(f'point/{i}', xy, [1])))
            whole = levels[-1]
            rows, cols = np.flatnonzero(whole.any(axis=1)), np.flatnonzero(whole.any(axis=0))
            box = np.array([cols[0], rows[0], cols[-1], rows[-1]], np.float32)
            out['box'].append(({'box': box}, _prompt(f'box/{i}', box=box)))
            coords, labels = multi_point_prompt(levels[-2], rng, n_pos=2, n_neg=1,
                                                parent=whole)
            out['points'].append(({'point_coords': coords, 'point_labels': labels},
                                  _prompt(f'points/{i}', coords, labels)))
        return out

    def latency(self, repeats: int) -> Latency:
        """Phase 1: node round trip vs engine predict/segment on one cached frame."""
        image = self.view.image
        msg = conv.rgb_to_image(image)
        stamp = self.frames.publish(msg)
        self._diag('encodes', 1)
        self._worker.submit(self.predictor.set_image, image).result()
        embedding = self.predictor.embedding
        samples: Dict[str, Dict[str, List[float]]] = {
            k: {'node': [], 'node_decode': [], 'predict': [], 'segment': []} for k in KINDS}
        prompts = self._prompts()
        for round_index in range(_WARMUP + repeats):
            for kind in KINDS:
                for kwargs, prompt in prompts[kind]:
                    prompt.header.stamp = conv.ns_to_stamp(stamp)
                    if round_index % 2:     # alternate who goes first
                        predict_ms, segment_ms = self._engine(kind, kwargs, embedding)
                    answer = self.client.send(prompt, _TIMEOUT, self.node.alive)
                    if answer.result.status != SegmentResult.STATUS_OK:
                        raise BenchError(f'prompt {prompt.prompt_id}: status '
                                         f'{answer.result.status}: {answer.result.message}')
                    if round_index % 2 == 0:
                        predict_ms, segment_ms = self._engine(kind, kwargs, embedding)
                    if round_index >= _WARMUP:
                        s = samples[kind]
                        s['node'].append(answer.latency_ms)
                        s['node_decode'].append(answer.result.decode_time_ms)
                        s['predict'].append(predict_ms)
                        s['segment'].append(segment_ms)
        pings = []
        for i in range(_WARMUP + repeats):      # round trip of an answer without masks
            ping = _prompt(f'ping/{i}', np.array([[1.0, 1.0]], np.float32), [1])
            ping.header.stamp = conv.ns_to_stamp(1)
            answer = self.client.send(ping, _TIMEOUT, self.node.alive)
            if i >= _WARMUP:
                pings.append(answer.latency_ms)
        rows = {'ping': {'node': _median(pings), 'node_min': float(np.min(pings))}}
        for kind in KINDS:
            s = samples[kind]
            row = {name: _median(values) for name, values in s.items()}
            row.update({name + '_min': float(np.min(values)) for name, values in s.items()})
            row['node_p90'] = float(np.percentile(s['node'], 90))
            row.update(self._conversion_costs(prompts[kind][0][0], embedding))
            rows[kind] = row
        return Latency(rows, repeats * len(prompts['point']))

    def _engine(self, kind: str, kwargs: dict, embedding) -> Tuple[float, float]:
        """
        Return the engine's predict and segment times (ms) for one prompt.

        They run in a worker thread, as the node's decodes do (executor threads): on a
        busy machine torch in a process's main thread can be much slower than in another
        thread, and the comparison must be like for like.
        """
        return self._worker.submit(self._engine_now, kind, kwargs, embedding).result()

    def _engine_now(self, kind: str, kwargs: dict, embedding) -> Tuple[float, float]:
        started = time.perf_counter()
        self.predictor.predict(multimask_output=kind == 'point', **kwargs)
        predict_ms = (time.perf_counter() - started) * 1e3
        started = time.perf_counter()
        self.predictor.segment(embedding=embedding, **kwargs)
        return predict_ms, (time.perf_counter() - started) * 1e3

    def _conversion_costs(self, kwargs: dict, embedding) -> Dict[str, float]:
        """Time the node's mask encoding and the result's (de)serialization, ms."""
        return self._worker.submit(self._conversion_costs_now, kwargs, embedding).result()

    def _conversion_costs_now(self, kwargs: dict, embedding) -> Dict[str, float]:
        prediction = self.predictor.segment(embedding=embedding, **kwargs)
        header = Header(frame_id='camera_optical')
        times: Dict[str, List[float]] = {'to_result': [], 'serialize': [], 'deserialize': []}
        for _ in range(7):
            started = time.perf_counter()
            result = conv.prediction_to_result(prediction, header, 'x')
            times['to_result'].append((time.perf_counter() - started) * 1e3)
            started = time.perf_counter()
            data = serialize_message(result)
            times['serialize'].append((time.perf_counter() - started) * 1e3)
            started = time.perf_counter()
            deserialize_message(data, SegmentResult)
            times['deserialize'].append((time.perf_counter() - started) * 1e3)
        return {name: _median(values) for name, values in times.items()}

    # ---------------------------------------------------------------- encodes

    def _changing_frames(self, count: int) -> List[Image]:
        """Return ``count`` frames whose object is 9, 18, 27, ... px right of ``self.view``."""
        span = max(1, self.world.width - self.world.actor(0).size[0])
        return [conv.rgb_to_image(self.world.render(FrameKey(
            0, (self.key.x + 9 * (i + 1)) % span, self.key.y)).image) for i in range(count)]

    def _stream(self, frames: List[Image], rate: float) -> None:
        period = 1.0 / rate
        next_at = time.monotonic()
        for msg in frames:
            self.frames.publish(msg)
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))

    def encode_counts(self, count: int) -> List[EncodeCount]:
        """Phase 2: encodes for identical vs changing frames, per encode policy."""
        identical = [conv.rgb_to_image(self.view.image)] * count
        changing = self._changing_frames(count)
        out = []
        for policy in ('on_change', 'every_frame'):
            self._set_policy(policy)
            for name, frames in (('identical', identical), ('changing', changing)):
                before = self._settled()
                self._stream(frames, 10.0)
                self._diag('frames received', int(before['frames received']) + count)
                after = self._settled()
                delta = {k: int(after[k]) - int(before[k]) for k in (
                    'frames received', 'encodes', 'skipped encodes', 'dropped frames')}
                out.append(EncodeCount(f'{count} {name}, 10 Hz', policy,
                                       delta['frames received'], delta['encodes'],
                                       delta['skipped encodes'], delta['dropped frames']))
        self._set_policy('on_change')
        return out

    # ----------------------------------------------------------------- memory

    def memory(self, duration: float, rate: float) -> Memory:
        """Phase 3: RSS under a camera faster than the encoder, with prompts each second."""
        frames = self._changing_frames(16)
        before = self._settled()
        stop = threading.Event()
        rss: List[Tuple[float, float]] = []

        def camera() -> None:
            period, next_at, i = 1.0 / rate, time.monotonic(), 0
            while not stop.is_set():
                self.frames.publish(frames[i % len(frames)])
                i += 1
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))

        thread = threading.Thread(target=camera, daemon=True)
        started = time.monotonic()
        thread.start()
        latencies = []
        xy = np.array([interior_point(self.view.actor[-1])], np.float32)
        try:
            while time.monotonic() - started < duration:
                tick = time.monotonic()
                rss.append((tick - started, _rss_mb(self.node.proc.pid)))
                answer = self.client.send(_prompt(f'memory/{len(latencies)}', xy, [1]),
                                          _TIMEOUT, self.node.alive)
                latencies.append(answer.latency_ms)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        finally:
            stop.set()
            thread.join(5)
        after = self._settled()
        t = np.array([p[0] for p in rss])
        mb = np.array([p[1] for p in rss])
        warm = mb[t >= min(10.0, duration / 2)]
        half = t >= duration / 2
        slope = float(np.polyfit(t[half], mb[half], 1)[0] * 60.0) if half.sum() > 2 else 0.0
        return Memory(rate, duration, float(warm[0]), float(mb.max()), float(mb[-1]), slope,
                      int(after['frames received']) - int(before['frames received']),
                      int(after['encodes']) - int(before['encodes']),
                      int(after['dropped frames']) - int(before['dropped frames']),
                      len(latencies), _median(latencies),
                      float(np.percentile(latencies, 90)) if latencies else float('nan'), rss)


def _prompt(prompt_id: str, points: Optional[np.ndarray] = None, labels=None,
            box: Optional[np.ndarray] = None) -> SegmentPrompt:
    prompt = SegmentPrompt(prompt_id=prompt_id, mode=SegmentPrompt.MODE_AUTO)
    if points is not None:
        prompt.points = [Point(x=float(x), y=float(y)) for x, y in points]
        prompt.labels = [int(v) for v in labels]
    if box is not None:
        prompt.has_box = True
        prompt.box = [float(v) for v in box]
    return prompt
