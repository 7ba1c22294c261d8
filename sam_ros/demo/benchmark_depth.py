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
The cost depth fusion adds to one answer, against the answer's own cost, in one run.

``python -m sam_ros.demo.benchmark_depth [--sizes 640x480,1280x720] [--repeats 30]``

In this process: the node's own code on a real rclpy node (publishers with a
subscriber each, so every message is serialised as on a robot), the embedded model on
the CPU. Per frame size, one synthetic frame with a click on a whole object (3 masks)
is encoded once, then per round, in alternating order and 30 ms apart (so DDS delivery
of one answer does not land in the next one's time):

* the answer without depth: ``segment`` (the decoder, 3 masks), ``prediction_to_result``
  and publishing the ``SegmentResult``;
* what depth adds: ``DepthOutput.fill`` (match by stamp, 3D fields of the 3 masks) and
  ``DepthOutput.publish`` (``~/cloud`` of the whole-object mask, ``cloud_masks: whole``,
  and ``~/markers``).

Medians over ``--repeats`` rounds after 3 warm-up rounds, in wall time and in this
thread's CPU time (which a busy shared machine does not inflate: the time the thread
waits for a core is not counted); prints Markdown tables.

``--node``: also the node's answer latency with and without depth, end to end over DDS:
two ``sam_node`` processes run side by side (``depth_transport: none`` and ``raw``, the
second with ~/cloud and ~/markers subscribed), fed the same 640 x 480 frame, and are
prompted in alternation (so load on the machine hits both alike); the latency is from
``SegmentPrompt`` published to ``SegmentResult`` received, medians over ``--repeats``.
"""

import argparse
import datetime
from pathlib import Path
import platform
import statistics
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional

from geometry_msgs.msg import Point
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.demo.run import node_command, NodeProcess
from sam_ros.demo.scenes import interior_point
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node import conversions as conv
from sam_ros.node.cloud import depth_to_image
from sam_ros.node.config import config_from_values
from sam_ros.node.depth_output import DepthOutput
from sam_ros.node.model import build_predictor
from sam_ros.synthetic.depth import scene_depth
from sam_ros.synthetic.world import SceneGenerator
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

__all__ = ['main']


def _ms(samples: List[float]) -> float:
    return statistics.median(samples) * 1e3


def _one_size(node, results_pub, predictor, cfg, width: int, height: int, repeats: int
              ) -> dict:
    scene = SceneGenerator(seed=4).scene(1, width, height)
    truth = scene_depth(scene)
    obj = max(scene.objects, key=lambda o: int(o.whole.sum()))
    xy = np.array([interior_point(obj.whole & ~obj.part)], np.float32)
    embedding = predictor.encode(scene.image)
    output = DepthOutput(node, cfg)
    deadline = time.monotonic() + 10.0
    while (output._cloud_pub.get_subscription_count() == 0
           or output._markers_pub.get_subscription_count() == 0
           or results_pub.get_subscription_count() == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    stamp_ns = 1_700_000_000_000_000_000
    header = Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id='camera_optical')
    output._on_depth(depth_to_image(truth.depth, '16UC1', header))
    output._on_info(CameraInfo(header=header, width=width, height=height, k=list(truth.k)))
    wall = {'plain': [], 'full': [], 'fill': [], 'part': []}
    cpu = {'plain': [], 'full': [], 'fill': [], 'part': []}
    whole = None
    clocks = ((wall, time.perf_counter), (cpu, time.thread_time))
    for i in range(repeats + 3):
        for with_depth in ((False, True) if i % 2 else (True, False)):
            started = [clock() for _, clock in clocks]
            prediction = predictor.segment(point_coords=xy, point_labels=np.array([1]),
                                           mode='multi', embedding=embedding)
            result = conv.prediction_to_result(prediction, header, 'bench')
            results_pub.publish(result)
            middle = filled = [clock() for _, clock in clocks]
            if with_depth:
                output.fill(result, prediction, stamp_ns, header, cfg)
                filled = [clock() for _, clock in clocks]
                output.publish(result, scene.image, cfg)
                if result.depth_status != SegmentResult.DEPTH_OK:
                    raise RuntimeError(f'depth did not match: {result.depth_message}')
                whole = next(m for m in result.masks if m.level == 2)
            done = [clock() for _, clock in clocks]
            time.sleep(0.03)     # let DDS deliver before the next round is timed
            if i < 3:
                continue
            for k, (into, _) in enumerate(clocks):
                if with_depth:
                    into['full'].append(done[k] - started[k])
                    into['fill'].append(filled[k] - middle[k])
                    into['part'].append(done[k] - middle[k])
                else:
                    into['plain'].append(done[k] - started[k])
    row = {'size': f'{width} x {height}', 'points': whole.depth_valid_pixels}
    for name, values in (('wall', wall), ('cpu', cpu)):
        row[name] = {key: _ms(v) for key, v in values.items()}
        # (plain + added) / plain: the decoder's own spread stays out of the ratio.
        row[name]['ratio'] = (row[name]['plain'] + row[name]['part']) / row[name]['plain']
    return row


class _NodeBench:
    """Two node processes (without / with depth) and the client that times them."""

    NAMES = ('plain', 'depth')

    def __init__(self, node, threads: int, folder: Path) -> None:
        self.node = node
        self._cond = threading.Condition()
        self._arrived: Dict[str, float] = {}
        self._results: Dict[str, SegmentResult] = {}
        self.procs, self.pubs = {}, {}
        reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        for name in self.NAMES:
            ns = f'/bench_{name}'
            command = node_command() + [
                '--ros-args', '-r', '__node:=sam', '-r', f'__ns:={ns}',
                '-r', f'image:={ns}/camera/image', '-r', f'camera_info:={ns}/camera/info',
                '-r', f'depth:={ns}/camera/depth', '-p', 'image_qos_reliability:=reliable',
                '-p', 'device:=cpu', '-p', f'num_threads:={threads}',
                '-p', f'depth_transport:={"none" if name == "plain" else "raw"}',
                '-p', 'cloud_masks:=whole']
            self.procs[name] = NodeProcess(command, folder / f'{name}.log', echo=False)
            self.pubs[name] = {
                'image': node.create_publisher(Image, f'{ns}/camera/image', reliable),
                'info': node.create_publisher(CameraInfo, f'{ns}/camera/info', reliable),
                'depth': node.create_publisher(Image, f'{ns}/camera/depth', reliable),
                'prompt': node.create_publisher(SegmentPrompt, f'{ns}/sam/prompt', reliable)}
            node.create_subscription(SegmentResult, f'{ns}/sam/results', self._on_result,
                                     reliable)
        for kind, topic in ((PointCloud2, 'cloud'), (MarkerArray, 'markers')):
            node.create_subscription(kind, f'/bench_depth/sam/{topic}', lambda msg: None,
                                     reliable)

    def _on_result(self, msg: SegmentResult) -> None:
        now = time.perf_counter()
        with self._cond:
            self._arrived[msg.prompt_id] = now
            self._results[msg.prompt_id] = msg
            self._cond.notify_all()

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            # The plain node (depth_transport: none) does not subscribe to depth.
            needed = [p for name, pubs in self.pubs.items() for kind, p in pubs.items()
                      if (name, kind) != ('plain', 'depth')]
            ready = (all(p.get_subscription_count() > 0 for p in needed)
                     and all(self.node.count_publishers(f'/bench_{n}/sam/results')
                             for n in self.NAMES))
            if ready:
                return
            dead = [n for n, p in self.procs.items() if not p.alive()]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f'node(s) {dead or list(self.procs)} did not start; see '
                                   'their logs')
            time.sleep(0.2)

    def ask(self, name: str, prompt: SegmentPrompt, timeout: float = 60.0):
        started = time.perf_counter()
        self.pubs[name]['prompt'].publish(prompt)
        deadline = time.monotonic() + timeout
        with self._cond:
            while prompt.prompt_id not in self._arrived:
                if time.monotonic() > deadline:
                    raise RuntimeError(f'no answer to {prompt.prompt_id} from {name}')
                self._cond.wait(0.5)
            return self._arrived[prompt.prompt_id] - started, self._results[prompt.prompt_id]

    def close(self) -> None:
        for proc in self.procs.values():
            proc.stop()


def _prompt(prompt_id: str, header: Header, x: float, y: float) -> SegmentPrompt:
    prompt = SegmentPrompt(prompt_id=prompt_id, header=header, mode=SegmentPrompt.MODE_MULTI)
    prompt.points = [Point(x=float(x), y=float(y))]
    prompt.labels = [1]
    return prompt


def _prime(bench: _NodeBench, name: str, header: Header, scene, truth, x: float,
           y: float, tries: int = 20) -> None:
    """Publish camera_info, depth and the frame until the node answers on them."""
    pubs = bench.pubs[name]
    want = SegmentResult.DEPTH_OK if name == 'depth' else SegmentResult.DEPTH_NONE
    for attempt in range(tries):
        pubs['info'].publish(CameraInfo(header=header, width=scene.width,
                                        height=scene.height, k=list(truth.k)))
        pubs['depth'].publish(depth_to_image(truth.depth, '16UC1', header))
        time.sleep(0.3)
        pubs['image'].publish(conv.rgb_to_image(scene.image, header))
        _, result = bench.ask(name, _prompt(f'{name}/prime/{attempt}', header, x, y))
        if result.status == SegmentResult.STATUS_OK and result.depth_status == want:
            return
    raise RuntimeError(f'{name}: no answer with depth status {want} after {tries} tries: '
                       f'{result.message} {result.depth_message}')


def _node_latency(node, threads: int, repeats: int) -> dict:
    scene = SceneGenerator(seed=4).scene(1, 640, 480)
    truth = scene_depth(scene)
    obj = max(scene.objects, key=lambda o: int(o.whole.sum()))
    x, y = interior_point(obj.whole & ~obj.part)
    stamp_ns = 1_700_000_000_000_000_000
    header = Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id='camera_optical')
    with tempfile.TemporaryDirectory(prefix='sam_depth_bench_') as folder:
        bench = _NodeBench(node, threads, Path(folder))
        try:
            bench.wait_ready()
            for name in bench.NAMES:
                _prime(bench, name, header, scene, truth, x, y)
            times: Dict[str, List[float]] = {name: [] for name in bench.NAMES}
            for i in range(repeats + 3):
                for name in (bench.NAMES if i % 2 else bench.NAMES[::-1]):
                    prompt = _prompt(f'{name}/{i}', header, x, y)
                    latency, result = bench.ask(name, prompt)
                    want = SegmentResult.DEPTH_OK if name == 'depth' else \
                        SegmentResult.DEPTH_NONE
                    if result.status != SegmentResult.STATUS_OK or result.depth_status != want:
                        raise RuntimeError(f'{name}: {result.message} {result.depth_message}')
                    if i >= 3:
                        times[name].append(latency)
        finally:
            bench.close()
    return {name: _ms(values) for name, values in times.items()}


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and print its Markdown table."""
    parser = argparse.ArgumentParser(prog='python -m sam_ros.demo.benchmark_depth',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--sizes', default='640x480,1280x720')
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--node', action='store_true',
                        help='also the node latency with and without depth, over DDS')
    args = parser.parse_args(argv)
    cfg = config_from_values({'device': 'cpu', 'num_threads': args.threads,
                              'cloud_masks': 'whole'})
    predictor, note = build_predictor(cfg)
    rclpy.init()
    node = rclpy.create_node('sam_depth_bench')
    try:
        reliable = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        results_pub = node.create_publisher(SegmentResult, '~/results', reliable)
        for kind, topic in ((SegmentResult, '~/results'), (PointCloud2, '~/cloud'),
                            (MarkerArray, '~/markers')):
            node.create_subscription(kind, topic, lambda msg: None, reliable)
        rows = []
        for size in args.sizes.split(','):
            width, height = (int(v) for v in size.lower().split('x'))
            rows.append(_one_size(node, results_pub, predictor, cfg, width, height,
                                  args.repeats))
        latency = None
        if args.node:
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            spinner = threading.Thread(target=executor.spin, daemon=True)
            spinner.start()
            try:
                latency = _node_latency(node, args.threads, args.repeats)
            finally:
                executor.shutdown()
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(f'{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {platform.processor() or "cpu"}, '
          f'{note}, torch threads {args.threads}, medians of {args.repeats} rounds\n')
    print('| Frame | Clock | Answer without depth (ms) | Added by depth (ms) | of which 3D '
          'fields (ms) | Ratio (answer + added) / answer | Whole-mask cloud points |')
    print('|---|---|---|---|---|---|---|')
    for row in rows:
        for name, label in (('cpu', 'thread CPU time'), ('wall', 'wall time')):
            r = row[name]
            print(f'| {row["size"]} | {label} | {r["plain"]:.2f} | {r["part"]:.2f} | '
                  f'{r["fill"]:.2f} | {r["ratio"]:.3f} | {row["points"]} |')
    if latency is not None:
        print('\n| Node, 640 x 480, one click (3 masks) | Latency without depth (ms) | With '
              'depth, ~/cloud and ~/markers subscribed (ms) | Ratio |')
        print('|---|---|---|---|')
        print(f'| prompt -> result over DDS | {latency["plain"]:.1f} | {latency["depth"]:.1f} '
              f'| {latency["depth"] / latency["plain"]:.3f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
