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
The GPU check's CPU dry run (``--device cpu --quick``) and its helpers.

The dry run goes through every engine code path of ``sam_ros.tools.gpu_check`` with tiny
stand-in models so that the GPU run cannot rot; the node section needs DDS and is
tested in test/node/test_gpu_check_node.py.
"""

import dataclasses
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest
from sam_ros.tools import gpu_check, gpu_measure
import torch

_DRY_RUN_BUDGET_S = 300     # a hang guard on a busy 2-core machine (usually ~30 s)


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu_check') / 'report.md'
    command = [sys.executable, '-P', '-m', 'sam_ros.tools.gpu_check', '--device', 'cpu',
               '--quick', '--skip', 'node', '--threads', '1', '--out', str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=_DRY_RUN_BUDGET_S,
                          cwd=out.parent)
    return proc, out


def _rows(text: str, first_cell: str) -> list:
    return [[c.strip() for c in line.strip('|').split('|')]
            for line in text.splitlines() if line.startswith(f'| {first_cell} |')]


@pytest.mark.slow
def test_dry_run_exits_zero_and_reports_no_failure(dry_run):
    proc, out = dry_run
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    text = Path(out).read_text(encoding='utf-8')
    assert '## Failures\n\nNone.' in text
    assert 'did not finish' not in text
    assert 'DRY RUN' in text
    for title in ('Node end to end', 'fp32 parity', 'Precision agreement',
                  'CUDA graphs and torch.compile', 'Against the targets'):
        assert f'## {title}' in text, title


@pytest.mark.slow
def test_dry_run_parity_of_the_cpu_path_with_itself_is_exact(dry_run):
    text = Path(dry_run[1]).read_text(encoding='utf-8')
    for model in ('vit_t', 'vit_b'):
        (row,) = _rows(text, model)[:1]
        assert row[1] == '0' and row[3] == '100.000%' and row[-1] == '0', row


@pytest.mark.slow
def test_dry_run_measures_each_precision_or_says_why_not(dry_run):
    text = Path(dry_run[1]).read_text(encoding='utf-8')
    engine = text.split('## Precision agreement')[1].split('\n## ')[0]
    for model in ('vit_t', 'vit_b', 'vit_h'):
        rows = {r[1]: r for r in _rows(engine, model)}
        assert set(rows) == {'fp32', 'fp16', 'bf16'}, rows
        assert rows['fp16'][2].startswith('skipped: precision'), rows['fp16']
        assert float(rows['fp32'][2].split()[0]) > 0
        # bf16 is compared with fp32: a pixel agreement, not '-'
        assert rows['bf16'][5].endswith('%'), rows['bf16']
    assert 'upstream not installed' in engine or 'upstream fp32 encoder ms' in engine


@pytest.mark.slow
def test_dry_run_runs_compile_and_skips_cuda_graphs_with_a_reason(dry_run):
    text = Path(dry_run[1]).read_text(encoding='utf-8')
    rows = {(r[0], r[1], r[2]): r for variant in gpu_measure.VARIANTS
            for r in _rows(text, variant)}
    assert rows[('cuda_graph', 'vit_t', 'fp32')][3] == 'skipped: CUDA graphs need a CUDA device'
    assert ('compile', 'vit_t', 'fp32') not in rows     # the dry run compiles bf16 only
    for model in ('vit_t', 'vit_b', 'vit_h'):
        compiled = rows[('compile', model, 'bf16')]
        assert float(compiled[3].split()[0]) > 0, compiled
        assert compiled[5] == '0', compiled    # dynamo's output equals eager's


def test_a_failing_section_is_reported_and_the_run_goes_on(tmp_path):
    report = gpu_check.Report(str(tmp_path / 'r.md'), ['# r'])

    def broken(budget):
        raise ValueError('no | pipes in cells')
    gpu_check._run_section(report, 'broken', gpu_measure.Budget(5.0), broken)
    gpu_check._run_section(report, 'fine', gpu_measure.Budget(5.0), lambda b: ['ok'])
    text = (tmp_path / 'r.md').read_text(encoding='utf-8')
    assert 'FAILED: ValueError: no / pipes in cells' in text
    assert '## fine' in text and report.failures == ['broken: ValueError: no / pipes in cells']


def test_time_ms_stops_at_its_budget_but_times_at_least_once():
    calls = []
    timing = gpu_measure.time_ms(lambda: calls.append(1), torch.device('cpu'), warmup=2,
                                 repeats=5, budget_s=10.0)
    assert timing.runs == 5 and len(calls) == 7
    assert 0 <= timing.min_ms <= timing.median_ms
    slow = gpu_measure.time_ms(lambda: torch.randn(200, 200) @ torch.randn(200, 200),
                               torch.device('cpu'), warmup=0, repeats=1000, budget_s=0.0)
    assert slow.runs == 1


def test_cuda_graph_variant_on_the_cpu_is_a_skip_not_a_failure():
    with pytest.raises(gpu_measure.Skip, match='need a CUDA device'):
        gpu_measure.prepare_variant('cuda_graph', torch.relu, (torch.ones(2),),
                                    torch.device('cpu'), quick=True)


@dataclasses.dataclass
class _Pred:
    masks: np.ndarray
    iou: np.ndarray
    low_res_logits: np.ndarray
    tokens: np.ndarray


def test_prediction_comparison_matches_tokens_and_sees_a_changed_best_mask():
    rng = np.random.default_rng(0)
    masks = rng.random((3, 20, 30)) > 0.5
    logits = rng.normal(size=(3, 8, 8)).astype(np.float32)
    ref = _Pred(masks, np.array([0.2, 0.9, 0.5], np.float32), logits, np.array([1, 2, 3]))
    # The same masks in another (area) order compare as identical.
    order = np.array([2, 0, 1])
    same = _Pred(masks[order], ref.iou[order], logits[order], ref.tokens[order])
    stats = gpu_measure.compare_predictions([ref], [same])
    assert stats == {'best_pixels_pct': 100.0, 'all_pixels_pct': 100.0, 'max_iou_diff': 0.0,
                     'max_logit_diff': 0.0}
    changed = masks.copy()
    changed[1, :10] = ~changed[1, :10]      # token 2 (the best by IoU): half its pixels flip
    other = _Pred(changed, ref.iou + np.float32(0.03), logits, ref.tokens)
    stats = gpu_measure.compare_predictions([ref], [other])
    assert stats['best_pixels_pct'] == pytest.approx(50.0)
    assert stats['max_iou_diff'] == pytest.approx(0.03, abs=1e-6)
