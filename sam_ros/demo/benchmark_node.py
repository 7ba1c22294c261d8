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
End-to-end benchmark of the sam_ros node against the bare engine, in one run.

``python -m sam_ros.demo.benchmark_node [--device cpu|cuda] [--memory-duration 180]``

The node runs in its own process (the installed ``sam_node``, the same command as the
demo); this process publishes 640 x 480 frames and prompts over DDS and builds the
same predictor (``sam_ros.node.model.build_predictor``, same model, device, precision
and thread count) for the engine's own timings. Phases, in order:

1. Latency. One frame is encoded once by both. Then, alternating so that the two never
   run at the same time: the node's latency from ``SegmentPrompt`` published to
   ``SegmentResult`` received, the engine's ``predict`` and ``segment`` on the same
   prompt (one click -> 3 masks, a box -> 1 mask, three points -> 1 mask). The node's
   extra time is split into mask encoding (``prediction_to_result``), serialization
   and deserialization of the result, measured here on the same prediction.
2. Encodes for identical frames vs changing frames (``on_change``, then ``every_frame``),
   read from the node's /diagnostics.
3. Memory: a camera faster than the encoder (changing frames at ``--memory-rate`` Hz)
   for ``--memory-duration`` s, with one prompt on the newest frame per second; the
   node's RSS is sampled every second from /proc.

Prints a Markdown section (also written to ``--markdown`` when given).
"""

import argparse
import datetime
import os
from pathlib import Path
import platform
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Sequence

from sam_ros.core.runtime import cpu_model
from sam_ros.demo import bench_phases as phases
from sam_ros.demo.ros_session import node_command, NodeProcess
from sam_ros.demo.run import node_ros_args, use_fastdds_profile

__all__ = ['main']


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m sam_ros.demo.benchmark_node',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N (default: cpu)')
    parser.add_argument('--precision', default='auto', help='auto, fp32, bf16 or fp16')
    parser.add_argument('--model-type', default='embedded')
    parser.add_argument('--checkpoint', default='')
    parser.add_argument('--random-weights', action='store_true',
                        help='random weights (timings only; the masks are meaningless)')
    parser.add_argument('--threads', type=int, default=0,
                        help='torch CPU threads for the node and the engine (0: one per '
                        'core this process may use)')
    parser.add_argument('--repeats', type=int, default=15,
                        help='timed rounds per prompt after 3 warm-up rounds (default: 15)')
    parser.add_argument('--encode-frames', type=int, default=20,
                        help='frames per encode-count stream (default: 20)')
    parser.add_argument('--memory-duration', type=float, default=180.0,
                        help='seconds of the fast-camera memory phase; 0 skips it '
                        '(default: 180)')
    parser.add_argument('--memory-rate', type=float, default=30.0,
                        help='camera frames per second in the memory phase (default: 30)')
    parser.add_argument('--phases', default='latency,encodes,memory',
                        help='comma-separated phases to run (default: %(default)s)')
    parser.add_argument('--rss-csv', default='',
                        help="write the memory phase's RSS samples (seconds, MB) to this file")
    parser.add_argument('--fastdds-profile', default='shipped',
                        help="Fast DDS profile of both processes: 'shipped' "
                        '(config/fastdds_large_shm.xml, 8 MB shared-memory segments, unless '
                        "FASTDDS_DEFAULT_PROFILES_FILE is set), 'default' (512 KB segments) "
                        'or a path (default: %(default)s)')
    parser.add_argument('--keep-cpus-awake', action='store_true',
                        help='run one lowest-priority busy loop per core meanwhile, so that '
                        'no CPU idles: in a VM an idle vCPU can take 100 ms to wake for a '
                        'DDS message (measured here), which a busy robot computer never sees')
    parser.add_argument('--node-param', action='append', default=[], metavar='NAME:=VALUE',
                        help='extra node parameter, e.g. publish_mask:=false (repeatable)')
    parser.add_argument('--markdown', default='', help='also write the report to this file')
    parser.add_argument('--node-log', default='', help='where the node output goes')
    return parser.parse_args(argv)


def _threads(requested: int) -> int:
    if requested > 0:
        return requested
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _node_args(args: argparse.Namespace, threads: int) -> List[str]:
    ns = phases.NAMESPACE
    ros_args = node_ros_args(ns)
    values = {'model_type': args.model_type, 'device': args.device, 'precision': args.precision,
              'num_threads': threads, 'image_qos_reliability': 'reliable',
              'diagnostics_period': 0.25, 'clicked_point_topic': f'{ns}/clicked_point'}
    if args.checkpoint:
        values['checkpoint'] = args.checkpoint
    if args.random_weights:
        values['allow_random_weights'] = 'true'
    for name, value in values.items():
        ros_args += ['-p', f'{name}:={value}']
    for extra in args.node_param:
        ros_args += ['-p', extra]
    return ros_args


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return lines


def _report(args: argparse.Namespace, setup: Dict[str, str],
            latency: Optional[phases.Latency], encodes: List[phases.EncodeCount],
            memory: Optional[phases.Memory]) -> str:
    out = ['## Node, end to end (`sam_ros/demo/benchmark_node.py`)', '']
    out += [f'- Machine: {setup["cpu"]}, {setup["cores"]} cores visible ({setup["load"]}); '
            f'Python {platform.python_version()}, torch {setup["torch"]}.',
            f'- Date: {setup["date"]}.',
            f'- Command: `{setup["command"]}`',
            f'- Model: {setup["model"]}; device {setup["device"]}, precision '
            f'{setup["precision"]}, {setup["threads"]} torch threads in the node and in the '
            'engine; frames 640 x 480 rgb8, reliable QoS, loopback DDS (Fast DDS, '
            + setup['fastdds'] + ').', '']
    if latency is not None:
        out += _latency_tables(latency)
    if encodes:
        out += ['', "### Encodes for a stream of frames (counted by the node's /diagnostics)", '']
        out += _table(['frames', 'encode_policy', 'received', 'encodes', 'skipped (unchanged)',
                       'dropped (encoder busy)'],
                      [[e.stream, e.policy, e.received, e.encodes, e.skipped, e.dropped]
                       for e in encodes])
    if memory is not None:
        out += ['', f'### Memory: changing frames at {memory.rate:g} Hz for '
                f'{memory.duration:.0f} s (encoder slower than the camera)', '']
        out += _table(['node RSS after 10 s', 'max', 'at the end', 'trend, 2nd half',
                       'frames received', 'encodes', 'dropped', 'prompts (newest frame): '
                       'latency median / p90'],
                      [[f'{memory.rss_start:.0f} MB', f'{memory.rss_max:.0f} MB',
                        f'{memory.rss_end:.0f} MB', f'{memory.slope:+.1f} MB/min',
                        memory.received, memory.encodes, memory.dropped,
                        f'{memory.prompt_median:.0f} / {memory.prompt_p90:.0f} ms '
                        f'({memory.prompts} prompts)']])
    return '\n'.join(out) + '\n'


def _latency_tables(latency: phases.Latency) -> List[str]:
    out = ['### Prompt to result, 640 x 480 (median over '
           f'{latency.samples} timed rounds per prompt, ms)', '']
    rows = []
    for kind in phases.KINDS:
        r = latency.rows[kind]
        rows.append([phases.KIND_TITLES[kind], f'{r["predict"]:.1f} ({r["predict_min"]:.1f})',
                     f'{r["segment"]:.1f} ({r["segment_min"]:.1f})',
                     f'{r["node_decode"]:.1f} ({r["node_decode_min"]:.1f})',
                     f'{r["node"]:.1f} ({r["node_min"]:.1f}; p90 {r["node_p90"]:.1f})',
                     f'**{r["node"] / r["predict"]:.2f}x** '
                     f'({r["node_min"] / r["predict_min"]:.2f}x)'])
    out += _table(['prompt', 'engine `predict` (min)', 'engine `segment` (min)',
                   'node: its own decode (min)',
                   'node: prompt published -> result received (min; p90)',
                   'node / engine `predict`: medians (mins)'], rows)
    ping = latency.rows['ping']
    out += ['', f'An answer without masks (a `STALE_FRAME` prompt) takes {ping["node"]:.1f} ms '
            f'(min {ping["node_min"]:.1f}) from prompt published to result received: the '
            'floor of DDS and executor hand-offs.']
    out += ['', "### Where the node's extra time goes (median, ms)", '']
    rows = []
    for kind in phases.KINDS:
        r = latency.rows[kind]
        rest = r['node'] - r['node_decode'] - r['to_result'] - r['serialize'] - r['deserialize']
        rows.append([phases.KIND_TITLES[kind], f'{r["segment"] - r["predict"]:+.1f}',
                     f'{r["to_result"]:.1f}', f'{r["serialize"]:.1f}',
                     f'{r["deserialize"]:.1f}', f'{rest:.1f}'])
    out += _table(['prompt', '`segment` - `predict` (sorting, stability, boxes)',
                   'masks -> mono8 Images (`prediction_to_result`)',
                   'serialize the result', 'deserialize it (client)',
                   'rest: DDS transfer, executor hand-offs, ~/mask publish'], rows)
    return out


def _start_spinners() -> List[subprocess.Popen]:
    """Start one ``nice -n 19`` busy loop per core (they only take otherwise idle time)."""
    loop = [sys.executable, '-c', 'while True: pass']
    return [subprocess.Popen(['nice', '-n', '19'] + loop) for _ in range(os.cpu_count() or 1)]


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark; print the Markdown report; return 0 (1 if the node failed)."""
    args = _parse(argv)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    threads = _threads(args.threads)
    command = 'python -m sam_ros.demo.benchmark_node ' + ' '.join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    log_path = Path(args.node_log or Path(tempfile.gettempdir()) / 'sam_benchmark_node.log')
    fastdds = use_fastdds_profile(args.fastdds_profile)
    spinners = _start_spinners() if args.keep_cpus_awake else []
    node = NodeProcess(node_command() + _node_args(args, threads), log_path, echo=False)
    bench = phases.Bench(args, threads, node)
    try:
        bench.start()
        print(f'[bench] node ready; its log: {log_path}', flush=True)
        phases_run = set(args.phases.split(','))
        latency = bench.latency(args.repeats) if 'latency' in phases_run else None
        encodes = bench.encode_counts(args.encode_frames) if 'encodes' in phases_run else []
        memory = None
        if 'memory' in phases_run and args.memory_duration > 0:
            memory = bench.memory(args.memory_duration, args.memory_rate)
            if args.rss_csv:
                Path(args.rss_csv).write_text(''.join(
                    f'{t:.1f},{mb:.1f}\n' for t, mb in memory.samples), encoding='utf-8')
    except phases.BenchError as exc:
        print(f'[bench] ERROR: {exc}; see {log_path}', file=sys.stderr, flush=True)
        return 1
    finally:
        bench.close()
        node.stop()
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    import torch
    load = os.getloadavg()
    setup = {
        'cpu': cpu_model(), 'cores': str(os.cpu_count()), 'torch': torch.__version__,
        'load': f'load average {load[0]:.1f} at the end'
                + (f', with {len(spinners)} lowest-priority busy loops keeping the CPUs awake'
                   if spinners else ''),
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'command': command, 'device': bench.device, 'precision': bench.precision,
        'threads': str(threads), 'model': bench.model_note, 'fastdds': fastdds,
    }
    report = _report(args, setup, latency, encodes, memory)
    print('\n' + report, flush=True)
    if args.markdown:
        Path(args.markdown).write_text(report, encoding='utf-8')
    return 0


if __name__ == '__main__':
    threading.current_thread().name = 'bench'
    started = time.monotonic()
    code = main()
    print(f'[bench] done in {time.monotonic() - started:.0f} s', flush=True)
    sys.exit(code)
