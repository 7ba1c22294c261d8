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
The node section of ``sam_ros.tools.gpu_check``: prompt -> result with changing frames.

The real node executable runs in its own process (``run.node_command`` and
``run.node_ros_args``, as the demo and the node benchmark start it) with vit_t-shaped
random weights (MobileSAM's architecture); this process publishes changing frames
(1280 x 720 rgb8, the object moves 32 px between frames) and prompts through the demo
client over loopback DDS. Two phases of ``phase_s`` seconds each:

* latest frame: the camera runs at 30 Hz in a thread; one-click prompts with a zero
  stamp (the newest frame) are sent back to back, one in flight at a time. Answers per
  second and latency (prompt published -> result received).
* every frame: each frame is published and a prompt stamped with it follows at once,
  at most 30 per second, so every answer includes that frame's encode.
"""

import dataclasses
import os
from pathlib import Path
import tempfile
import threading
import time
from typing import Dict, List, Optional, Tuple

from geometry_msgs.msg import Point
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sam_ros.demo.client import Answer, DemoClient, NoAnswer
from sam_ros.demo.run import node_command, node_ros_args, NodeProcess, use_fastdds_profile
from sam_ros.demo.scenes import FrameKey, MovingWorld
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node import conversions as conv
from sam_ros.tools.gpu_measure import table
from sensor_msgs.msg import Image
from std_msgs.msg import Header

__all__ = ['NAMESPACE', 'NodeResult', 'run']

NAMESPACE = '/gpu_check'
CAMERA_HZ = 30.0
_ANSWER_TIMEOUT_S = 60.0


@dataclasses.dataclass
class NodeResult:
    """The section's markdown lines, a failure (empty if none) and the latest-frame rate."""

    lines: List[str]
    error: str = ''
    fps: Optional[float] = None


class _Camera(Node):
    """Publishes prepared frames on ``<NAMESPACE>/camera/image`` (reliable, keep last 5)."""

    def __init__(self, **kwargs) -> None:
        super().__init__('gpu_check_camera', **kwargs)
        self.pub = self.create_publisher(Image, f'{NAMESPACE}/camera/image',
                                         QoSProfile(depth=5,
                                                    reliability=ReliabilityPolicy.RELIABLE))
        self._lock = threading.Lock()

    def publish(self, msg: Image) -> int:
        """Stamp ``msg`` with the current time, publish it and return the stamp (ns)."""
        with self._lock:
            stamp_ns = self.get_clock().now().nanoseconds
            msg.header = Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id='camera_optical')
            self.pub.publish(msg)
        return stamp_ns


def _frames(width: int, height: int, count: int) -> List[Image]:
    """Render ``count`` frames whose object moves 32 px (or width / 40) per frame."""
    world = MovingWorld(seed=3, width=width, height=height)
    x, y = world.pose(0, 0)
    span = max(1, world.width - world.actor(0).size[0])
    step = max(9, width // 40)
    return [conv.rgb_to_image(world.render(FrameKey(0, (x + step * (i + 1)) % span, y)).image)
            for i in range(count)]


def _prompt(prompt_id: str, xy: Tuple[float, float], stamp_ns: int = 0) -> SegmentPrompt:
    prompt = SegmentPrompt(prompt_id=prompt_id, mode=SegmentPrompt.MODE_AUTO)
    prompt.header.stamp = conv.ns_to_stamp(stamp_ns)
    prompt.points = [Point(x=float(xy[0]), y=float(xy[1]))]
    prompt.labels = [1]
    return prompt


def _counts(client: DemoClient) -> Dict[str, int]:
    values = client.diagnostics()
    return {k: int(values.get(k, 0)) for k in ('frames received', 'encodes', 'dropped frames')}


def _summary(name: str, answers: List[Answer], elapsed: float,
             before: Dict[str, int], after: Dict[str, int]) -> List[str]:
    ok = [a for a in answers if a.result.status == SegmentResult.STATUS_OK]
    lat = np.array([a.latency_ms for a in ok]) if ok else np.array([np.nan])
    reused = sum(bool(a.result.embedding_reused) for a in ok)
    statuses = sorted({a.status for a in answers if a.status != 'OK'})
    others = f' (others: {", ".join(statuses)})' if statuses else ''
    return [name, str(len(answers)), f'{len(ok)}{others}',
            f'{len(ok) / elapsed:.1f}', f'{np.median(lat):.1f} ({np.min(lat):.1f}; p90 '
            f'{np.percentile(lat, 90):.1f})', f'{reused}/{len(ok)}',
            f'{after["frames received"] - before["frames received"]}',
            f'{after["encodes"] - before["encodes"]}',
            f'{after["dropped frames"] - before["dropped frames"]}']


def _latest_frame_phase(camera: _Camera, client: DemoClient, frames: List[Image],
                        node: NodeProcess, xy: Tuple[float, float],
                        seconds: float) -> Tuple[List[Answer], float]:
    stop = threading.Event()

    def stream() -> None:
        next_at, i = time.monotonic(), 0
        while not stop.is_set():
            camera.publish(frames[i % len(frames)])
            i += 1
            next_at += 1.0 / CAMERA_HZ
            time.sleep(max(0.0, next_at - time.monotonic()))

    thread = threading.Thread(target=stream, name='gpu-check-camera', daemon=True)
    thread.start()
    answers: List[Answer] = []
    try:
        time.sleep(0.5)
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            answers.append(client.send(_prompt(f'latest/{len(answers)}', xy),
                                       _ANSWER_TIMEOUT_S, node.alive))
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(5)
    return answers, elapsed


def _every_frame_phase(camera: _Camera, client: DemoClient, frames: List[Image],
                       node: NodeProcess, xy: Tuple[float, float],
                       seconds: float) -> Tuple[List[Answer], float]:
    answers: List[Answer] = []
    started = next_at = time.monotonic()
    while time.monotonic() - started < seconds:
        stamp = camera.publish(frames[len(answers) % len(frames)])
        answers.append(client.send(_prompt(f'frame/{len(answers)}', xy, stamp),
                                   _ANSWER_TIMEOUT_S, node.alive))
        next_at += 1.0 / CAMERA_HZ
        time.sleep(max(0.0, next_at - time.monotonic()))
    return answers, time.monotonic() - started


def _node_params(device: str, quick: bool) -> Dict[str, str]:
    params = {'model_type': 'embedded' if quick else 'vit_t', 'device': device,
              'precision': 'auto', 'image_qos_reliability': 'reliable',
              'diagnostics_period': '0.25', 'clicked_point_topic': f'{NAMESPACE}/clicked_point'}
    if quick:
        params['num_threads'] = '1'     # a dry run on a shared CI machine
    else:
        params['allow_random_weights'] = 'true'
    return params


def _model_line(log_path: Path) -> str:
    try:
        for line in log_path.read_text(encoding='utf-8', errors='replace').splitlines():
            if 'precision' in line and 'model' in line:
                return line.strip()[-200:]
    except OSError:
        pass
    return 'not found in the node log'


def run(device: str, quick: bool, phase_s: float, timeout_s: float) -> NodeResult:
    """
    Run the node section; never raises for a node or DDS failure (it is in the result).

    ``quick``: the committed embedded model at 320 x 180 (the dry run); otherwise vit_t
    with random weights at 1280 x 720. ``timeout_s`` bounds the node's start.
    """
    width, height = (320, 180) if quick else (1280, 720)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    fastdds = use_fastdds_profile('shipped')
    params = _node_params(device, quick)
    ros_args = node_ros_args(NAMESPACE)
    for name, value in params.items():
        ros_args += ['-p', f'{name}:={value}']
    log_path = Path(tempfile.mkdtemp(prefix='sam_gpu_check_')) / 'node.log'
    lines = [f'Node: `{" ".join(node_command())} ...` with '
             + ', '.join(f'`{k}:={v}`' for k, v in params.items())
             + f'; frames {width} x {height} rgb8, reliable QoS, Fast DDS profile {fastdds}; '
             f'{phase_s:g} s per phase; node log `{log_path}`.', '']
    node = NodeProcess(node_command() + ros_args, log_path, echo=False)
    context = rclpy.Context()
    rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
    camera = _Camera(context=context)
    client = DemoClient(f'{NAMESPACE}/sam', f'{NAMESPACE}/camera/image_mouse_left',
                        f'{NAMESPACE}/clicked_point', context=context,
                        node_name='gpu_check_client')
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(client)
    spinner = threading.Thread(target=executor.spin, name='gpu-check-spin', daemon=True)
    spinner.start()
    result = NodeResult(lines)
    try:
        frames = _frames(width, height, 16)
        xy = (width / 2.0, height / 2.0)
        client.wait_ready(timeout_s, alive=node.alive)
        deadline = time.monotonic() + 30.0
        while camera.pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                raise NoAnswer('the node did not subscribe to the image topic')
            time.sleep(0.05)
        lines.append(f'Node start: {_model_line(log_path)}')
        for i in range(5):      # warm-up: the first encodes and decodes (CUDA init, cuDNN)
            camera.publish(frames[i])
            time.sleep(0.2)
            client.send(_prompt(f'warmup/{i}', xy), _ANSWER_TIMEOUT_S, node.alive)
        rows = []
        for name, phase in (('latest frame (zero stamp), camera 30 Hz', _latest_frame_phase),
                            ('every frame (stamped prompt per frame)', _every_frame_phase)):
            time.sleep(0.6)     # a fresh /diagnostics (every 0.25 s)
            before = _counts(client)
            answers, elapsed = phase(camera, client, frames, node, xy, phase_s)
            time.sleep(0.6)
            rows.append(_summary(name, answers, elapsed, before, _counts(client)))
            if result.fps is None:
                ok = sum(a.result.status == SegmentResult.STATUS_OK for a in answers)
                result.fps = ok / elapsed
        lines += ['', 'One click per prompt (three masks at full resolution in each '
                  'answer), one prompt in flight.', '']
        lines += table(['phase', 'prompts', 'OK', 'OK answers/s',
                        'latency ms, median (min; p90)', 'embedding reused',
                        'frames received', 'encodes', 'dropped frames'], rows)
    except (NoAnswer, RuntimeError, OSError) as exc:
        result.error = f'{type(exc).__name__}: {exc}'
        lines += ['', f'FAILED: {result.error}; the node log ends:', '', '```']
        try:
            lines += log_path.read_text(encoding='utf-8', errors='replace').splitlines()[-25:]
        except OSError:
            pass
        lines.append('```')
    finally:
        executor.shutdown()
        for n in (camera, client):
            n.destroy_node()
        rclpy.try_shutdown(context=context)
        spinner.join(5)
        code = node.stop()
        lines += ['', f'Node exit code: {code}.']
        if code not in (0, None) and not result.error:
            result.error = f'the node exited with code {code}'
    return result
