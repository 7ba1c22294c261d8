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
The sam_ros demo: the real node, a synthetic camera and scripted prompts, headless.

``python -m sam_ros.demo`` (what ``./scripts/demo.sh`` runs) starts the node in its own
process with the embedded model, publishes a moving synthetic scene, sends the scripted
prompts of ``sam_ros.demo.script``, prints every answer, writes PNG figures into
``demo_output/`` and exits: 0 when every prompt got the expected answer and the node
stopped cleanly, 1 otherwise, 2 for a bad command line or missing weights, 130 when
interrupted before the end. ``--forever`` keeps the camera and the node running (one live
click per still scene) until Ctrl-C, then exits with the code of the scripted part.

Unless ``ROS_AUTOMATIC_DISCOVERY_RANGE`` is set, discovery stays on this machine.
Everything lives under the namespace ``--namespace`` (default ``/demo``): the camera
publishes ``/demo/camera/image`` and ``/demo/camera/camera_info``, the node is
``/demo/sam``; point rqt_image_view or RViz (``rviz/sam.rviz``) at them while
``--forever`` runs.
"""

import argparse
import os
from pathlib import Path
import signal
import sys
import threading
import time
from typing import List, Optional

from sam_ros.core.build import EMBEDDED_WEIGHTS
from sam_ros.demo.run import Demo, node_command, node_ros_args, use_fastdds_profile

__all__ = ['main']

_DESCRIPTION = __doc__.strip().splitlines()[0]


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m sam_ros.demo', description=_DESCRIPTION)
    parser.add_argument('--output', default='demo_output',
                        help='folder for the PNG figures and the node log (default: %(default)s)')
    parser.add_argument('--forever', action='store_true',
                        help='after the scripted prompts, keep running until Ctrl-C')
    parser.add_argument('--model-type', default='embedded',
                        help='model_type of the node (default: %(default)s)')
    parser.add_argument('--checkpoint', default='',
                        help='checkpoint of the node (needed for vit_t/b/l/h)')
    parser.add_argument('--device', default='auto', help='auto, cpu, cuda or cuda:N')
    parser.add_argument('--precision', default='auto', help='auto, fp32, bf16 or fp16')
    parser.add_argument('--random-weights', action='store_true',
                        help='development only: run the model with RANDOM weights '
                        '(allow_random_weights:=true); the masks are meaningless')
    parser.add_argument('--namespace', default='/demo', help='ROS namespace (default: /demo)')
    parser.add_argument('--rate', type=float, default=10.0,
                        help='camera frames per second (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0, help='scene seed (default: 0)')
    parser.add_argument('--noise', type=float, default=2.0,
                        help='per-frame sensor noise, gray levels (default: %(default)s)')
    parser.add_argument('--figure-height', type=int, default=320,
                        help='pixel height of the image panels in the figures (default: '
                        '%(default)s)')
    parser.add_argument('--image-qos', choices=('reliable', 'best_effort'), default='reliable',
                        help='QoS reliability of the camera topics, for the camera and the '
                        'node (default: %(default)s; best effort loses many 640x480 frames '
                        'on a busy machine)')
    parser.add_argument('--fastdds-profile', default='shipped',
                        help="Fast DDS profile of the node and the demo: 'shipped' "
                        '(config/fastdds_large_shm.xml unless FASTDDS_DEFAULT_PROFILES_FILE '
                        "is set), 'default' or a path (default: %(default)s)")
    parser.add_argument('--start-timeout', type=float, default=240.0,
                        help='seconds to wait for the node to start (default: %(default)s)')
    parser.add_argument('--answer-timeout', type=float, default=90.0,
                        help='seconds to wait for one answer (default: %(default)s)')
    args = parser.parse_args(argv)
    if not args.namespace.startswith('/'):
        args.namespace = '/' + args.namespace
    args.namespace = args.namespace.rstrip('/') or '/demo'
    return args


def _node_arguments(args: argparse.Namespace) -> List[str]:
    ns = args.namespace
    ros_args = node_ros_args(ns)
    # cache_size 32 (default 8): while the object moves, a fast encoder encodes nearly
    # every frame, and the 'past_frame' step needs the frame from before the move.
    # max_prompt_age 30 s (default 5): the steps stamped with step 1's frame must not age
    # out when a busy CPU stalls the answers for seconds; the 'stale' step is 60 s old.
    # depth_cache_size 300 (default 30, 3 s of the demo's 10 Hz depth): the same steps need
    # the depth of step 1's frame as long as its embedding is kept (180 MB at 640x480).
    values = {'model_type': args.model_type, 'device': args.device,
              'precision': args.precision, 'clicked_point_topic': f'{ns}/clicked_point',
              'cache_size': 32, 'max_prompt_age': 30.0, 'depth_cache_size': 300,
              'image_qos_reliability': args.image_qos}
    if args.checkpoint:
        values['checkpoint'] = args.checkpoint
    if args.random_weights:
        values['allow_random_weights'] = 'true'
    for name, value in values.items():
        ros_args += ['-p', f'{name}:={value}']
    return ros_args


def _check_weights(args: argparse.Namespace) -> Optional[str]:
    """Return a one-line reason why the model cannot start, or None."""
    if args.random_weights or args.checkpoint or args.model_type != 'embedded':
        return None
    if not Path(EMBEDDED_WEIGHTS).is_file():
        return (f'the embedded model weights {EMBEDDED_WEIGHTS} are missing (they are '
                'committed with the package; is this checkout complete?). To try the '
                'plumbing without them, run with --random-weights (meaningless masks).')
    return None


def _on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo; return the exit code (0: every prompt got its expected answer)."""
    args = _parse(argv)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    profile = use_fastdds_profile(args.fastdds_profile)
    print(f'[demo] Fast DDS profile: {profile}', flush=True)
    reason = _check_weights(args)
    if reason:
        print(f'[demo] ERROR: {reason}', file=sys.stderr)
        return 2
    # Ctrl-C and SIGTERM both stop the demo cleanly (SIGINT may arrive ignored when the
    # demo was started in the background by a non-interactive shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_sigterm)
    out_dir = Path(args.output).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    demo = Demo(args, node_command() + _node_arguments(args), out_dir)
    try:
        code = demo.run()
    except KeyboardInterrupt:
        print('\n[demo] interrupted; stopping', flush=True)
        code = demo.code if demo.finished_script else 130
    finally:
        node_code = demo.close()
    if code == 0 and node_code not in (0, None):
        code = 1    # the node did not shut down cleanly
    return code


if __name__ == '__main__':
    threading.current_thread().name = 'demo'
    started = time.monotonic()
    code = main()
    print(f'[demo] exit code {code} after {time.monotonic() - started:.1f} s', flush=True)
    sys.exit(code)
