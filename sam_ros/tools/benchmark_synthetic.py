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
Time the synthetic scene generator per frame size.

    python -m sam_ros.tools.benchmark_synthetic --count 200 --threads 1

Prints one markdown row per size: mean wall and process-CPU milliseconds per scene,
and the machine's load average, since shared machines inflate both.
"""

import argparse
import os
import platform
import time
from typing import List, Optional

import cv2

from sam_ros.synthetic import SceneGenerator
from sam_ros.tools.cli import frame_size


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and print a markdown table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--count', type=int, default=200, help='scenes per size')
    parser.add_argument('--sizes', nargs='+', type=frame_size,
                        default=[(640, 480), (1280, 720), (320, 240)], help='WxH ...')
    parser.add_argument('--threads', type=int, default=1, help='OpenCV threads')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    cv2.setNumThreads(args.threads)
    generator = SceneGenerator(args.seed)
    print(f'{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, '
          f'OpenCV threads {args.threads}, load average {os.getloadavg()[0]:.1f}')
    print('| size | wall ms / scene | CPU ms / scene |\n|---|---|---|')
    for width, height in args.sizes:
        generator.scene(0, width, height)   # warm up
        wall, cpu = time.perf_counter(), time.process_time()
        for index in range(args.count):
            generator.scene(index, width, height)
        wall = (time.perf_counter() - wall) / args.count * 1e3
        cpu = (time.process_time() - cpu) / args.count * 1e3
        print(f'| {width}x{height} | {wall:.2f} | {cpu:.2f} |')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
