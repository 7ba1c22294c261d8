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
Benchmark many objects per frame: batched vs one-by-one decoding, and segment everything.

One synthetic 480x640 frame, one process, so the ratios are like for like::

    python -m sam_ros.tools.benchmark_batch --models embedded vit_t --counts 1 4 16 64 \
        --grids 16 32 --repeats 3 --markdown-out /tmp/batch.md

``embedded`` runs its committed weights, the official models random weights (seed 0).
For each N: the wall time of ``segment_prompts`` on N boxes (one decoder pass, masks
upsampled, scored and sorted) against N calls of ``SamPredictor.segment``, and the same
for the prompt encoder + mask decoder alone. Segment everything runs
``SamAutomaticMaskGenerator.generate_from_embedding`` and reports its decode / filter /
NMS split: with the node's default filters on the embedded model, and with the IoU and
stability filters off (NMS 0.7) on random weights, whose predicted IoUs mean nothing
(every mask is upsampled, scored and goes through NMS: the worst case). Latencies are
medians after one warm-up; segment everything is one run after one warm-up.
"""

import argparse
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from sam_ros.core.automatic import SamAutomaticMaskGenerator
from sam_ros.core.batch import BatchPrompt, segment_prompts
from sam_ros.core.build import sam_model_registry
from sam_ros.core.predictor import check_prompts, SamPredictor
from sam_ros.core.runtime import set_threads
from sam_ros.tools.benchmark_engine import synthetic_frame
import torch

#: The node's default segment-everything filters (config.py), and no score filters.
_EVERYTHING = {'pred_iou_thresh': 0.3, 'stability_score_thresh': 0.5, 'box_nms_thresh': 0.7}
_NO_SCORE_FILTERS = {'pred_iou_thresh': 0.0, 'stability_score_thresh': 0.0,
                     'box_nms_thresh': 0.7}


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _boxes(count: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 1, (count, 2, 2)) * [width, height]
    low, high = corners.min(axis=1), corners.max(axis=1)
    return np.concatenate([low, np.maximum(high, low + 8)], axis=1)


def _predictor(model: str, precision: str) -> SamPredictor:
    if model != 'embedded':
        torch.manual_seed(0)
    return SamPredictor(sam_model_registry[model](), device='cpu', precision=precision)


def bench_model(model: str, precision: str, counts: Sequence[int], grids: Sequence[int],
                repeats: int) -> Dict[str, object]:
    """Return the batch and segment-everything figures of one model."""
    predictor = _predictor(model, precision)
    image = synthetic_frame()
    embedding = predictor.encode(image)
    rows = []
    for count in counts:
        boxes = _boxes(count, *image.shape[:2])
        prompts = [BatchPrompt(box=b) for b in boxes]
        checked = check_prompts(None, None, boxes, None, embedding.original_size,
                                predictor.low_res_size, batched=True)
        singles = [check_prompts(None, None, b, None, embedding.original_size,
                                 predictor.low_res_size, batched=False) for b in boxes]
        rows.append({
            'count': count,
            'batched_s': _median_s(lambda: segment_prompts(predictor, prompts, embedding,
                                                           max_per_pass=1024), repeats),
            'single_s': _median_s(lambda: [predictor.segment(box=b, embedding=embedding)
                                           for b in boxes], repeats),
            'decoder_batched_s': _median_s(lambda: predictor._decode(embedding, checked),
                                           repeats),
            'decoder_single_s': _median_s(lambda: [predictor._decode(embedding, one)
                                                   for one in singles], repeats),
        })
    everything = []
    for side in grids:
        filters = _EVERYTHING if model == 'embedded' else _NO_SCORE_FILTERS
        generator = SamAutomaticMaskGenerator(predictor, points_per_side=side, **filters)
        generator.generate_from_embedding(embedding)  # warm-up
        start = time.perf_counter()
        records = generator.generate_from_embedding(embedding)
        wall = time.perf_counter() - start
        everything.append({'side': side, 'wall_s': wall, 'regions': len(records),
                           'filters': 'node' if filters is _EVERYTHING else 'IoU/stability off',
                           **generator.last_timings})
    return {'model': model, 'precision': predictor.precision, 'rows': rows,
            'everything': everything}


def markdown(results: List[Dict[str, object]]) -> str:
    """Format the figures as two markdown tables."""
    lines = ['| model | precision | N boxes | batched ms | one by one ms | speed-up | '
             'decoder batched ms | decoder one by one ms | decoder speed-up |',
             '|---' * 9 + '|']
    for result in results:
        for row in result['rows']:
            lines.append(
                f"| {result['model']} | {result['precision']} | {row['count']} | "
                f"{row['batched_s'] * 1e3:.1f} | {row['single_s'] * 1e3:.1f} | "
                f"{row['single_s'] / row['batched_s']:.2f}x | "
                f"{row['decoder_batched_s'] * 1e3:.1f} | "
                f"{row['decoder_single_s'] * 1e3:.1f} | "
                f"{row['decoder_single_s'] / row['decoder_batched_s']:.2f}x |")
    lines += ['', '| model | precision | grid | filters | wall s | decode s | filter s | '
              'NMS s | regions |', '|---' * 9 + '|']
    for result in results:
        for row in result['everything']:
            lines.append(
                f"| {result['model']} | {result['precision']} | {row['side']}x{row['side']} | "
                f"{row['filters']} | "
                f"{row['wall_s']:.2f} | {row['decode']:.2f} | {row['filter']:.2f} | "
                f"{row['nms']:.3f} | {row['regions']} |")
    return '\n'.join(lines) + '\n'


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark; print markdown tables (and write them with --markdown-out)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=['embedded', 'vit_t'],
                        choices=sorted(sam_model_registry))
    parser.add_argument('--precision', default='auto', choices=['auto', 'fp32', 'bf16'])
    parser.add_argument('--counts', nargs='+', type=int, default=[1, 4, 16, 64])
    parser.add_argument('--grids', nargs='+', type=int, default=[16, 32])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--markdown-out', default=None)
    args = parser.parse_args(argv)
    threads = set_threads(args.threads)
    print(f'# {platform.node()} python {sys.version.split()[0]} torch {torch.__version__} '
          f'threads {threads}', flush=True)
    results = []
    for model in args.models:
        results.append(bench_model(model, args.precision, args.counts, args.grids,
                                   args.repeats))
        print(f'# {model} done', flush=True)
    text = markdown(results)
    print(text)
    if args.markdown_out:
        with open(args.markdown_out, 'w', encoding='utf-8') as f:
            f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
