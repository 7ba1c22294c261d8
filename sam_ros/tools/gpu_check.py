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

r"""
Measure the CUDA path in one short run and write one markdown report.

On a machine with a CUDA GPU (about 8 minutes at most)::

    python -m sam_ros.tools.gpu_check --out gpu_report.md

The CPU dry run that CI runs (tiny stand-in models, one repeat, seconds)::

    python -m sam_ros.tools.gpu_check --device cpu --quick --out /tmp/dry.md

Sections, in order (the risky ones last; each is guarded and has a time budget, so a
failure or a slow step is a line in the report, never the end of the run):

1. ``node``: the real node process (vit_t-shaped random weights), changing 1280 x 720
   frames at 30 Hz, prompt -> result rate and latency (``sam_ros.demo.gpu_node``).
2. ``parity``: fp32 on the device against the CPU path (vit_t, vit_b; same weights).
3. ``engine``: per model (vit_t, vit_b, vit_h) fp16 / bf16 agreement with fp32, eager
   encoder and decoder latency per precision, and upstream ``segment_anything`` on the
   same device and weights when it is importable.
4. ``variants``: CUDA graphs, ``torch.compile`` and both, per model and precision.

The report is rewritten after every section, so a killed run still leaves what it
measured. Exit code 0 when no step failed (skips are not failures), 1 otherwise.
"""

import argparse
import datetime
import os
import shlex
import sys
import threading
import time
import traceback
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from sam_ros.core.errors import SamError
from sam_ros.core.runtime import resolve_device, set_threads
from sam_ros.tools import gpu_engine
from sam_ros.tools.gpu_measure import Budget, environment, one_line, table
import torch

__all__ = ['main', 'Report']

SECTIONS = ('node', 'parity', 'engine', 'variants')
# Seconds per section on a GPU, scaled to --time-limit (default 420 s). A step that has
# started (a compile) is not interrupted, so a section may overrun; the watchdog ends the
# run at --time-limit + _GRACE_S, which keeps the whole under 8 minutes.
_SECTION_S = {'node': 100.0, 'parity': 50.0, 'engine': 120.0, 'variants': 150.0}
_GRACE_S = 45.0


class Report:
    """The markdown report: sections of lines, rewritten to ``path`` after each one."""

    def __init__(self, path: str, header: List[str]) -> None:
        self.path = path
        self.header = header
        self.sections: List[Tuple[str, List[str]]] = []
        self.failures: List[str] = []
        self.partial: Optional[Tuple[str, List[str]]] = None

    def add(self, title: str, lines: List[str]) -> None:
        """Append a section and rewrite the file."""
        self.partial = None
        self.sections.append((title, lines))
        self.write()

    def progress(self, title: str, lines: List[str]) -> None:
        """Show the unfinished section ``title`` with ``lines`` so far; rewrite the file."""
        self.partial = (title, lines)
        self.write()

    def failed(self, what: str, exc: BaseException) -> str:
        """Record a failed step; return a one-line reason for a table cell."""
        reason = one_line(exc)
        self.failures.append(f'{what}: {reason}')
        return f'FAILED: {reason}'

    def text(self, finished: bool = False) -> str:
        """Return the whole report as markdown."""
        out = list(self.header)
        for title, lines in self.sections:
            out += ['', f'## {title}', ''] + lines
        if self.partial is not None:
            out += ['', f'## {self.partial[0]} (in progress)', ''] + self.partial[1]
        out += ['', '## Failures', '']
        out += ([f'- {f}' for f in self.failures] if self.failures else ['None.'])
        if not finished:
            out += ['', '**The run did not finish** (the report is rewritten after each '
                    'section).']
        return '\n'.join(out) + '\n'

    def write(self, finished: bool = False) -> None:
        """Write the report to its file."""
        with open(self.path, 'w', encoding='utf-8') as f:
            f.write(self.text(finished))


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='python -m sam_ros.tools.gpu_check',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--device', default='cuda', help='cuda, cuda:N or cpu (default: cuda)')
    parser.add_argument('--quick', action='store_true',
                        help='dry run: tiny stand-in models, one repeat, small node frames')
    parser.add_argument('--out', default='gpu_check_report.md', help='the markdown report')
    parser.add_argument('--models', nargs='+', default=list(gpu_engine.MODELS),
                        choices=gpu_engine.MODELS)
    parser.add_argument('--precisions', nargs='+', default=list(gpu_engine.PRECISIONS),
                        choices=gpu_engine.PRECISIONS)
    parser.add_argument('--skip', nargs='*', default=[], choices=SECTIONS,
                        help='sections to leave out (they are listed as skipped)')
    parser.add_argument('--time-limit', type=float, default=420.0,
                        help='seconds for all sections together; the run is stopped '
                        f'{_GRACE_S:.0f} s after it in any case (default: 420)')
    parser.add_argument('--node-seconds', type=float, default=0.0,
                        help='seconds per node phase (default: 15 on a GPU, 2 with --quick)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--seed', type=int, default=0, help='random weights seed')
    parser.add_argument('--upstream-path', default='',
                        help='a folder that holds the segment_anything package (e.g. a '
                        'checkout of facebookresearch/segment-anything) when it is not '
                        'installed; it needs torchvision')
    return parser.parse_args(argv)


def _run_section(report: Report, title: str, budget: Budget,
                 body: Callable[[Budget], List[str]]) -> None:
    """Run one section under ``budget``; a crash becomes its only line."""
    started = time.monotonic()
    try:
        lines = body(budget)
    except Exception as exc:  # noqa: B902 - any failure is reported, the run goes on
        lines = [report.failed(title, exc), '', '```', traceback.format_exc()[-3000:], '```']
    lines += ['', f'Section time: {time.monotonic() - started:.1f} s (budget '
              f'{budget.seconds:.0f} s).']
    report.add(title, lines)


def _node_section(args: argparse.Namespace, report: Report, context: gpu_engine.Context,
                  budget: Budget) -> List[str]:
    try:
        from sam_ros.demo import gpu_node
    except ImportError as exc:
        return [f'Skipped: the node part needs the ROS package (colcon install space): '
                f'{one_line(exc)}']
    seconds = args.node_seconds or (2.0 if args.quick else 15.0)
    result = gpu_node.run(device=args.device, quick=args.quick, phase_s=seconds,
                          timeout_s=max(30.0, budget.left()))
    if result.error:
        report.failures.append(f'node: {result.error}')
    context.node_fps = result.fps
    return result.lines


def _watchdog(report: Report, seconds: float) -> threading.Timer:
    """End the process after ``seconds`` (the report on disk is current to the last step)."""
    def fire() -> None:
        print(f'[gpu_check] hard time limit of {seconds:.0f} s reached; stopping. The '
              f'report {report.path} holds every step finished so far.', file=sys.stderr,
              flush=True)
        os._exit(3)
    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def _header(args: argparse.Namespace, argv: Optional[Sequence[str]],
            device: torch.device) -> List[str]:
    command = 'python -m sam_ros.tools.gpu_check ' + ' '.join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    mode = ('DRY RUN (tiny stand-in models, timings meaningless)' if args.quick
            else 'full run')
    lines = ['# sam_ros GPU check', '', f'- Date: {now}.', f'- Command: `{command}`',
             f'- Mode: {mode}; random weights (seed {args.seed}); synthetic 480 x 640 frame '
             'for the engine sections.', '']
    return lines + table(['what', 'value'], environment(device))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the check; write the report; return 0 when no step failed."""
    args = _parse(argv)
    started = time.monotonic()
    if args.threads:
        set_threads(args.threads)
    if args.upstream_path:
        sys.path.insert(0, os.path.abspath(args.upstream_path))
    try:
        device = resolve_device(args.device)
    except SamError as exc:
        print(f'gpu_check: {exc}', file=sys.stderr)
        return 2
    if device.type == 'cuda':
        torch.cuda.set_device(device)   # streams and graphs are made on the current device
    total = Budget(args.time_limit)
    report = Report(args.out, _header(args, argv, device))
    report.write()
    watchdog = _watchdog(report, args.time_limit + _GRACE_S)
    scale = args.time_limit / sum(_SECTION_S.values())
    context = gpu_engine.Context(device=device, quick=args.quick, seed=args.seed,
                                 models=args.models, precisions=args.precisions,
                                 failed=report.failed)
    bodies: Dict[str, Callable[[Budget], List[str]]] = {
        'node': lambda b: _node_section(args, report, context, b),
        'parity': lambda b: gpu_engine.parity_section(context, b),
        'engine': lambda b: gpu_engine.engine_section(context, b),
        'variants': lambda b: gpu_engine.variants_section(context, b),
    }
    titles = {'node': 'Node end to end (prompt -> result, changing frames at 30 Hz)',
              'parity': f'fp32 parity: {device} against the CPU path',
              'engine': 'Precision agreement and eager latency (with upstream when importable)',
              'variants': 'CUDA graphs and torch.compile'}
    try:
        for name in SECTIONS:
            if name in args.skip:
                report.add(titles[name], ['Skipped: `--skip` on the command line.'])
                continue
            print(f'[gpu_check] {name} ...', file=sys.stderr, flush=True)
            context.progress = (lambda lines, title=titles[name]: report.progress(title, lines))
            _run_section(report, titles[name], Budget(_SECTION_S[name] * scale, total),
                         bodies[name])
    finally:
        watchdog.cancel()
        context.close()
    summary = gpu_engine.summary_lines(context)
    report.add('Against the targets', summary + [
        '', f'Whole run: {time.monotonic() - started:.0f} s (8 minutes at most on a GPU).'])
    report.write(finished=True)
    print(report.text(finished=True))
    print(f'[gpu_check] report: {args.out}', file=sys.stderr)
    return 1 if report.failures else 0


if __name__ == '__main__':
    sys.exit(main())
