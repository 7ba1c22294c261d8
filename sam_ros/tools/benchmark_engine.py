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
Benchmark the engine: encoder, decoder and postprocessing latency per precision.

One synthetic 480x640 frame. Every number of one run comes from the same process, so
ratios between precisions are like for like::

    python -m sam_ros.tools.benchmark_engine --models vit_t vit_b --precisions fp32 auto \
        --random-weights --repeats 10 --encoder-repeats 3 --markdown-out /tmp/engine.md

Weights: the embedded model uses its committed weights; an official model uses
``--checkpoint MODEL=FILE``, or random weights (seed 0) only with ``--random-weights``
(timings do not depend on the weights, the agreement figures do). The table's header
names the weights of every model.

Latencies are medians over ``--repeats`` runs after one warm-up (``--encoder-repeats``
overrides the count for the encoder, e.g. for vit_b at several seconds a forward).
Agreement compares each precision with fp32 on the same weights: mask pixel
agreement over the union of the frame's pixels and the largest predicted-IoU gap.
"""

import argparse
import copy
import os
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sam_ros.core.build import sam_model_registry
from sam_ros.core.postprocess import clean_prediction, DEFAULT_MIN_REGION_AREA
from sam_ros.core.predictor import check_prompts, SamPredictor
from sam_ros.core.runtime import cpu_model, set_threads, tune_cpu_allocator
from sam_ros.core.transforms import postprocess_logits, resize_image, to_input_tensor
from sam_ros.tools.cli import weights_problem, weights_source
import torch

_HEIGHT, _WIDTH = 480, 640
# Upstream fp32 figures: the upstream code (segment_anything, MobileSAM) measured on a 2-core
# AMD EPYC KVM guest (this machine kind), 2 torch threads, with MALLOC_MMAP_MAX_=0.
UPSTREAM_ENCODER_S = {'vit_t': 0.58, 'vit_b': 5.7, 'vit_l': 16.0, 'vit_h': 31.0}
UPSTREAM_DECODE_POINT_MS = 42.0
UPSTREAM_DECODE_BOX_MS = 41.0


def synthetic_frame(seed: int = 0) -> np.ndarray:
    """Return a 480x640 RGB uint8 frame of nested, textured shapes."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:_HEIGHT, 0:_WIDTH]
    image = np.zeros((_HEIGHT, _WIDTH, 3), dtype=np.float64)
    image += rng.uniform(40, 90, 3)
    for _ in range(6):
        cy, cx = rng.uniform(60, _HEIGHT - 60), rng.uniform(60, _WIDTH - 60)
        ry, rx = rng.uniform(30, 140, 2)
        inside = ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 < 1.0
        image[inside] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _encoder_stats(fn: Callable[[], object], repeats: int) -> Tuple[float, int]:
    """Return the median latency (ms) and median minor page faults of ``fn`` after warm-up."""
    fn()
    times, faults = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return 1e3 * statistics.median(times), int(statistics.median(faults))


def _prompts(rng: np.random.Generator, count: int) -> np.ndarray:
    x0 = rng.uniform(0, _WIDTH * 0.6, count)
    y0 = rng.uniform(0, _HEIGHT * 0.6, count)
    return np.stack([x0, y0, x0 + rng.uniform(40, _WIDTH * 0.4, count),
                     y0 + rng.uniform(40, _HEIGHT * 0.4, count)], axis=1)


def bench_precision(model: torch.nn.Module, precision: str, image: np.ndarray,
                    repeats: int, encoder_repeats: int) -> Dict[str, object]:
    """Time one predictor; return its figures and its outputs for agreement checks."""
    predictor = SamPredictor(copy.deepcopy(model), device='cpu', precision=precision)
    size = predictor.image_size

    def preprocess() -> torch.Tensor:
        resized = resize_image(image, size)
        return predictor.model.preprocess(to_input_tensor(resized, predictor.device))

    with torch.inference_mode():
        x = preprocess().to(predictor.dtype, memory_format=torch.channels_last)
        row: Dict[str, object] = {'precision': predictor.precision}
        row['encoder_ms'], row['encoder_faults'] = _encoder_stats(
            lambda: predictor.model.image_encoder(x), encoder_repeats)
        row['preprocess_ms'] = _median_ms(preprocess, repeats)
    embedding = predictor.encode(image)
    rng = np.random.default_rng(1)
    point = np.array([[_WIDTH * 0.5, _HEIGHT * 0.5]])
    label = np.array([1])
    box = _prompts(rng, 1)
    boxes = _prompts(rng, 16)
    low_size = predictor.low_res_size
    # Prompt encoder + mask decoder only (what upstream's ~42 ms covers).
    point_prompt = check_prompts(point, label, None, None, embedding.original_size,
                                 low_size, batched=False)
    box_prompt = check_prompts(None, None, box, None, embedding.original_size, low_size,
                               batched=False)
    batch_prompt = check_prompts(None, None, boxes, None, embedding.original_size,
                                 low_size, batched=True)
    row['decode_point_ms'] = _median_ms(lambda: predictor._decode(embedding, point_prompt),
                                        repeats)
    row['decode_box_ms'] = _median_ms(lambda: predictor._decode(embedding, box_prompt),
                                      repeats)
    row['decode_16_boxes_ms'] = _median_ms(
        lambda: predictor._decode(embedding, batch_prompt), repeats)
    low_res, _ = predictor._decode(embedding, point_prompt)
    three = low_res[:, 1:]
    row['postprocess_3_ms'] = _median_ms(
        lambda: postprocess_logits(three, embedding.input_size, embedding.original_size,
                                   size) > 0, repeats)
    row['segment_point_ms'] = _median_ms(
        lambda: predictor.segment(point, label, embedding=embedding), repeats)
    row['segment_16_boxes_ms'] = _median_ms(
        lambda: predictor.segment_batch(boxes=boxes, embedding=embedding), repeats)
    # The node's region clean-up (min_region_area, default 256 px) of one point's 3 masks.
    three_masks = predictor.segment(point, label, mode='multi', embedding=embedding)
    row['clean_3_ms'] = _median_ms(
        lambda: clean_prediction(three_masks, DEFAULT_MIN_REGION_AREA), repeats)
    # Outputs for the agreement check: 8 points (multi) and the 16 boxes (single).
    points = np.stack([rng.uniform(0, _WIDTH, 8), rng.uniform(0, _HEIGHT, 8)], axis=1)
    outputs = [predictor.segment(p[None], label, mode='multi', embedding=embedding)
               for p in points]
    outputs += predictor.segment_batch(boxes=boxes, embedding=embedding)
    row['outputs'] = outputs
    return row


def agreement(reference: Sequence, candidate: Sequence) -> Dict[str, float]:
    """Compare two output lists; return the matching pixels (%) and the largest IoU gap."""
    same = total = 0
    iou_gap = 0.0
    for ref, cand in zip(reference, candidate):
        ref_order, cand_order = np.argsort(ref.tokens), np.argsort(cand.tokens)
        same += int(np.count_nonzero(ref.masks[ref_order] == cand.masks[cand_order]))
        total += ref.masks.size
        iou_gap = max(iou_gap, float(np.max(np.abs(ref.iou[ref_order]
                                                   - cand.iou[cand_order]))))
    return {'agreement_pct': 100.0 * same / max(total, 1), 'max_iou_diff': iou_gap}


def markdown(rows: List[Dict[str, object]], header: str) -> str:
    """Format benchmark rows as a markdown table."""
    lines = [header, '',
             '| model | precision | preprocess ms | encoder s | vs upstream fp32 | '
             'page faults / forward | '
             'decode 1 point ms | decode 1 box ms | decode 16 boxes ms (per prompt) | '
             'postprocess 3 masks ms | segment 1 point ms | clean-up 3 masks ms | '
             'pixel agreement vs fp32 | max IoU diff |',
             '|---' * 14 + '|']
    for row in rows:
        upstream = UPSTREAM_ENCODER_S.get(str(row['model']))
        encoder_s = float(row['encoder_ms']) / 1e3
        ratio = f'{encoder_s / upstream:.2f}x' if upstream else 'n/a'
        lines.append(
            f"| {row['model']} | {row['label']} | {row['preprocess_ms']:.1f} | "
            f'{encoder_s:.3f} | {ratio} | {row["encoder_faults"]} | '
            f'{row["decode_point_ms"]:.1f} | '
            f"{row['decode_box_ms']:.1f} | {row['decode_16_boxes_ms']:.1f} "
            f"({float(row['decode_16_boxes_ms']) / 16:.1f}) | "
            f"{row['postprocess_3_ms']:.1f} | {row['segment_point_ms']:.1f} | "
            f"{row['clean_3_ms']:.1f} | "
            f"{row.get('agreement', '-')} | {row.get('iou_diff', '-')} |")
    return '\n'.join(lines) + '\n'


def _checkpoints(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Dict[str, str]:
    """Return model -> checkpoint from ``--checkpoint MODEL=FILE``; refuse silent randomness."""
    checkpoints: Dict[str, str] = {}
    for item in args.checkpoint:
        name, sep, path = item.partition('=')
        if not sep or name not in args.models or not path:
            parser.error(f'--checkpoint {item!r}: write MODEL=FILE with MODEL one of --models')
        checkpoints[name] = path
    for name in args.models:
        problem = weights_problem(name, checkpoints.get(name), args.random_weights)
        if problem:
            parser.error(problem.replace('--model-type', 'model').replace(
                '--checkpoint FILE', f'--checkpoint {name}=FILE'))
    return checkpoints


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark; print a markdown table (and write it with --markdown-out)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=['vit_t'],
                        choices=sorted(sam_model_registry))
    parser.add_argument('--precisions', nargs='+', default=['fp32', 'auto'],
                        choices=['fp32', 'bf16', 'auto'])
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--encoder-repeats', type=int, default=None,
                        help='encoder runs per model (default: --repeats); lower for vit_b+')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: the cores this process may use)')
    parser.add_argument('--checkpoint', action='append', default=[], metavar='MODEL=FILE',
                        help='weights for one model of --models (repeat per model)')
    parser.add_argument('--random-weights', action='store_true',
                        help='time official models without --checkpoint on RANDOM weights '
                        '(seed 0); without this flag they are refused')
    parser.add_argument('--markdown-out', default=None)
    args = parser.parse_args(argv)
    checkpoints = _checkpoints(parser, args)
    threads = set_threads(args.threads)
    load_start = os.getloadavg()[0]
    image = synthetic_frame()
    rows = []
    for name in args.models:
        torch.manual_seed(0)
        print(f'{name}: {weights_source(name, checkpoints.get(name))}', file=sys.stderr,
              flush=True)
        model = sam_model_registry[name](checkpoint=checkpoints.get(name))
        results = {}
        for precision in args.precisions:
            print(f'{name} {precision} ...', file=sys.stderr, flush=True)
            row = bench_precision(model, precision, image, args.repeats,
                                  args.encoder_repeats or args.repeats)
            row['model'], results[precision] = name, row
            row['label'] = (precision if precision == row['precision']
                            else f"{precision} ({row['precision']})")
            rows.append(row)
        if 'fp32' in results:
            for row in results.values():
                if row is not results['fp32']:
                    stats = agreement(results['fp32']['outputs'], row['outputs'])
                    row['agreement'] = f"{stats['agreement_pct']:.2f}%"
                    row['iou_diff'] = f"{stats['max_iou_diff']:.4f}"
        del model
    tuned = tune_cpu_allocator()  # already applied by the predictors; reports the state
    weights = '; '.join(f'{name} {weights_source(name, checkpoints.get(name))}'
                        + (' (seed 0)' if not checkpoints.get(name) and name != 'embedded'
                           else '')
                        for name in dict.fromkeys(args.models))
    header = (f'torch {torch.__version__}, {cpu_model()}, {threads} threads, '
              f'frame {_HEIGHT}x{_WIDTH}, weights: {weights}, allocator tuning '
              f"{'on' if tuned else 'off'}, OMP_WAIT_POLICY="
              f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}, 1-min load average "
              f'{load_start:.2f} at start and {os.getloadavg()[0]:.2f} at end')
    table = markdown(rows, header)
    print(table)
    if args.markdown_out:
        with open(args.markdown_out, 'w', encoding='utf-8') as f:
            f.write(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
