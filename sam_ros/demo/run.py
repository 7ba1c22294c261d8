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
The demo's processes: the node as a child process, the camera and client in this one.

``NodeProcess`` (of the shared toolkit ``sam_ros.demo.ros_session``) starts the node
executable and copies its output, prefixed ``[node]``, to the console and to
``<output>/node.log``. ``Demo`` spins the camera and the client in a ``RosSession``,
runs the script and prints the summary.
"""

import argparse
import os
from pathlib import Path
import sys
import time
from typing import List, Optional

from sam_ros.demo.camera import DemoCamera
from sam_ros.demo.client import DemoClient, NoAnswer, STATUS_NAMES
from sam_ros.demo.ros_session import node_command, NodeProcess, RosSession
from sam_ros.demo.scenes import MovingWorld
from sam_ros.demo.script import Outcome, Script

__all__ = ['Demo', 'NodeProcess', 'fastdds_profile_file', 'node_command', 'params_file',
           'summary_lines', 'use_fastdds_profile']


def _share_file(*parts: str) -> Optional[Path]:
    """Return a file of the installed package's share folder, if it is there."""
    try:
        from ament_index_python.packages import get_package_share_directory
        path = Path(get_package_share_directory('sam_ros'), *parts)
        return path if path.is_file() else None
    except (ImportError, LookupError, ValueError):
        return None


def params_file() -> Optional[Path]:
    """Return the installed config/sam.yaml (the launch file's defaults), if any."""
    return _share_file('config', 'sam.yaml')


def fastdds_profile_file() -> Optional[Path]:
    """Return the installed config/fastdds_large_shm.xml (8 MB shared-memory segments)."""
    return _share_file('config', 'fastdds_large_shm.xml')


def use_fastdds_profile(profile: str = 'shipped') -> str:
    """
    Point this process and its children at a Fast DDS profile; return what is in use.

    ``profile``: 'shipped' (config/fastdds_large_shm.xml, unless the environment
    already names a profile: the user's choice wins), 'default' (Fast DDS's own
    defaults, 512 KB shared-memory segments) or a path to an XML profile.
    """
    if profile == 'default':
        os.environ.pop('FASTDDS_DEFAULT_PROFILES_FILE', None)
        return 'Fast DDS default profile'
    if profile != 'shipped':
        os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = profile
        return profile
    current = os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE')
    if current:
        return current
    shipped = fastdds_profile_file()
    if shipped is None:
        return 'Fast DDS default profile (config/fastdds_large_shm.xml not installed)'
    os.environ['FASTDDS_DEFAULT_PROFILES_FILE'] = str(shipped)
    return 'config/fastdds_large_shm.xml'


def node_ros_args(namespace: str) -> List[str]:
    """Return the node's --ros-args: name, namespace, the demo camera's topics, params file."""
    ros_args = ['--ros-args', '-r', '__node:=sam', '-r', f'__ns:={namespace}',
                '-r', f'image:={namespace}/camera/image',
                '-r', f'camera_info:={namespace}/camera/camera_info',
                '-r', f'depth:={namespace}/camera/depth']
    params = params_file()
    if params is not None:
        ros_args += ['--params-file', str(params)]
    return ros_args


def _echo(line: str) -> None:
    print(line, flush=True)


def summary_lines(outcomes: List[Outcome]) -> List[str]:
    """Return the summary table: one row per step."""
    rows = [f'{"step":<11}{"status":<19}{"levels":<22}{"predicted IoU":<20}'
            f'{"true IoU":<20}{"best":<6}{"reused":<8}latency']
    for o in outcomes:
        if o.answer is None:
            rows.append(f'{o.step:<11}{"NO ANSWER":<19}')
            continue
        r = o.answer.result
        levels = ','.join(('subpart', 'part', 'whole', 'single')[m.level] for m in r.masks)
        predicted = ','.join(f'{m.predicted_iou:.2f}' for m in r.masks)
        truth = ','.join(f'{v:.2f}' for v in o.truth_ious)
        reused = ('yes' if r.embedding_reused else 'no') if r.masks else '-'
        rows.append(f'{o.step:<11}{STATUS_NAMES.get(r.status, "?"):<19}{levels or "-":<22}'
                    f'{predicted or "-":<20}{truth or "-":<20}{r.best_index:<6}{reused:<8}'
                    f'{o.answer.latency_ms:.0f} ms')
    return rows


class Demo:
    """One demo run: node process, camera, client, script."""

    def __init__(self, args: argparse.Namespace, node_command: List[str],
                 out_dir: Path) -> None:
        """Prepare the run; ``run()`` starts everything."""
        self.args, self.node_command, self.out_dir = args, node_command, out_dir
        self.node: Optional[NodeProcess] = None
        self.session: Optional[RosSession] = None
        self.finished_script = False
        self.code = 1

    def _label(self) -> str:
        a = self.args
        if a.random_weights:
            return f'{a.model_type} model, RANDOM WEIGHTS (dev only)'
        return f'{a.model_type} model'

    def run(self) -> int:
        """Run the script (and ``--forever``); return the exit code."""
        a = self.args
        started = time.monotonic()
        _echo(f'[demo] starting the node: {" ".join(self.node_command)}')
        self.node = NodeProcess(self.node_command, self.out_dir / 'node.log', echo=True)
        self.session = session = RosSession(threads=3)
        world = MovingWorld(seed=a.seed, noise=a.noise)
        camera = DemoCamera(world, rate=a.rate, reliable=a.image_qos == 'reliable',
                            namespace=f'{a.namespace}/camera',
                            node_name='camera', context=session.context)
        client = DemoClient(f'{a.namespace}/sam', f'{a.namespace}/camera/image_mouse_left',
                            f'{a.namespace}/clicked_point', overlay=True,
                            context=session.context, namespace=a.namespace)
        session.add(camera)
        session.add(client)
        session.start()
        _echo(f'[demo] camera: {world.width}x{world.height} at {a.rate:g} Hz on '
              f'{a.namespace}/camera/image; the object holds still {world.hold_s:g} s, then '
              f'moves for {world.move_s:g} s')
        try:
            client.wait_ready(a.start_timeout, alive=self.node.alive)
            camera.wait_subscribed(30.0)
        except (NoAnswer, TimeoutError) as exc:
            _echo(f'[demo] ERROR: {exc}; see {self.out_dir / "node.log"}')
            return 1
        _echo(f'[demo] node ready after {time.monotonic() - started:.1f} s')
        script = Script(client, camera, self.out_dir, self.node.alive, self._label(),
                        a.answer_timeout, _echo, figure_height=a.figure_height)
        try:
            outcomes = script.run()
        except NoAnswer as exc:
            _echo(f'[demo] ERROR: {exc}; see {self.out_dir / "node.log"}')
            for line in summary_lines(script.outcomes):
                _echo('  ' + line)
            return 1
        self.finished_script = True
        passed = sum(o.passed for o in outcomes)
        _echo(f'\n[demo] summary: {passed} of {len(outcomes)} prompts got the expected '
              f'answer ({self._label()}, {time.monotonic() - started:.1f} s)')
        for line in summary_lines(outcomes):
            _echo('  ' + line)
        _echo(f'[demo] camera frames published: {camera.frames_published()}')
        diagnostics = client.diagnostics()
        if diagnostics:
            _echo('[demo] node diagnostics: ' + ', '.join(
                f'{k} {diagnostics[k]}' for k in ('frames received', 'encodes',
                                                  'skipped encodes', 'dropped frames',
                                                  'prompts answered') if k in diagnostics))
        _echo(f'[demo] figures in {self.out_dir}: ' + ', '.join(
            sorted(p.name for p in self.out_dir.glob('*.png'))))
        self.code = 0 if passed == len(outcomes) else 1
        if a.forever:
            _echo('[demo] --forever: one live click per still scene; Ctrl-C to stop. Try '
                  f'rqt_image_view on {a.namespace}/camera/image or {a.namespace}/sam/overlay')
            rounds = 0
            while self.node.alive():
                rounds += 1
                try:
                    script.live_round(rounds)
                except NoAnswer as exc:
                    _echo(f'[demo] live click {rounds}: {exc}')
            _echo('[demo] the node exited')
            return 1
        return self.code

    def close(self) -> Optional[int]:
        """Stop the executor, the nodes, the context and the node; return its exit code."""
        if self.session is not None:
            self.session.close()
        if self.node is None:
            return None
        code = self.node.stop()
        if code not in (0, None):
            print(f'[demo] the node exited with code {code}; see {self.out_dir / "node.log"}',
                  file=sys.stderr, flush=True)
        return code
