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
The engine sections of ``sam_ros.tools.gpu_check``: parity, precisions, variants.

Each step is guarded: a failure becomes its row's text (and a line under "Failures"),
an unsupported combination a "skipped: why" cell. Every section returns markdown lines.
"""

import contextlib
import dataclasses
import time
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
from sam_ros.core.errors import SamError
from sam_ros.core.predictor import Prediction, SamPredictor
from sam_ros.core.sam import Sam
from sam_ros.tools.benchmark_engine import synthetic_frame
from sam_ros.tools.gpu_measure import (Budget, build_model, compare_predictions,
                                       decoder_inputs, encoder_input, make_predictor,
                                       max_abs_diff, one_line, prepare_variant, Skip,
                                       synchronize, table, time_ms, Timing, VARIANTS)
import torch

__all__ = ['Context', 'engine_section', 'MODELS', 'parity_section', 'PRECISIONS',
           'summary_lines', 'variants_section']

MODELS = ('vit_t', 'vit_b', 'vit_h')
PRECISIONS = ('fp32', 'fp16', 'bf16')
_PARITY_MODELS = ('vit_t', 'vit_b')
_UPSTREAM_MODELS = ('vit_b', 'vit_h')  # segment_anything has no TinyViT (vit_t)
_SKIP_BUDGET = 'skipped: section time budget spent'
# Budget seconds a compiled variant needs left to start: a compile cannot be interrupted
# and whole-model inductor compiles grow with depth (vit_h has 32 blocks).
_COMPILE_START_S = {'vit_t': 45.0, 'vit_b': 60.0, 'vit_h': 120.0}


@dataclasses.dataclass
class Context:
    """What the sections share: settings, cached models and predictors, results."""

    device: torch.device
    quick: bool
    seed: int
    models: List[str]
    precisions: List[str]
    failed: Callable[[str, BaseException], str]
    image: np.ndarray = dataclasses.field(default_factory=synthetic_frame)
    eager: Dict[Tuple[str, str], Timing] = dataclasses.field(default_factory=dict)
    best: Dict[str, Tuple[float, str]] = dataclasses.field(default_factory=dict)
    upstream: Dict[str, Timing] = dataclasses.field(default_factory=dict)
    upstream_note: str = 'not tried'
    agreement: Dict[Tuple[str, str], Dict[str, float]] = dataclasses.field(
        default_factory=dict)
    node_fps: Optional[float] = None
    progress: Callable[[List[str]], None] = lambda lines: None
    _models: Dict[str, Sam] = dataclasses.field(default_factory=dict)
    _predictors: Dict[Tuple[str, str], SamPredictor] = dataclasses.field(
        default_factory=dict)

    def repeats(self, part: str) -> Tuple[int, int, float]:
        """Return (warm-up calls, timed calls, seconds at most) for 'encoder'/'decoder'."""
        if self.quick:
            return 1, 1, 1.0
        return (3, 20, 4.0) if part == 'encoder' else (10, 100, 2.0)

    def model(self, name: str) -> Sam:
        """Return the CPU model ``name`` with the run's random weights (built once)."""
        if name not in self._models:
            self._models[name] = build_model(name, self.quick, self.seed)
        return self._models[name]

    def predictor(self, name: str, precision: str) -> SamPredictor:
        """Return the device predictor of ``name`` in ``precision`` (built once), or Skip."""
        key = (name, precision)
        if key not in self._predictors:
            if (precision == 'bf16' and self.device.type == 'cuda'
                    and not torch.cuda.is_bf16_supported()):
                raise Skip('skipped: this GPU has no bf16 support')
            try:
                self._predictors[key] = make_predictor(self.model(name), str(self.device),
                                                       precision)
            except SamError as exc:
                raise Skip(f'skipped: {str(exc).split(";")[0]}') from None
        return self._predictors[key]

    def drop(self, name: str) -> None:
        """Forget the predictors of ``name`` (frees device memory between models)."""
        for key in [k for k in self._predictors if k[0] == name]:
            del self._predictors[key]
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()

    def close(self) -> None:
        """Free every model and predictor."""
        self._predictors.clear()
        self._models.clear()
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()


def _predictions(predictor: SamPredictor, embedding) -> List[Prediction]:
    """Segment 8 single points (3 masks) and 4 boxes (1 mask) on the 480 x 640 frame."""
    rng = np.random.default_rng(1)
    height, width = embedding.original_size
    points = np.stack([rng.uniform(0, width, 8), rng.uniform(0, height, 8)], axis=1)
    x0, y0 = rng.uniform(0, 0.6 * width, 4), rng.uniform(0, 0.6 * height, 4)
    boxes = np.stack([x0, y0, x0 + rng.uniform(40, 0.4 * width, 4),
                      y0 + rng.uniform(40, 0.4 * height, 4)], axis=1)
    out = [predictor.segment(p[None], np.array([1]), mode='multi', embedding=embedding)
           for p in points]
    return out + [predictor.segment(box=b, mode='single', embedding=embedding) for b in boxes]


@contextlib.contextmanager
def _strict_fp32() -> Iterator[None]:
    """Turn TF32 off (matmul and cuDNN) for a like-for-like fp32 comparison."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _stats_cells(stats: Dict[str, float]) -> List[str]:
    return [f'{stats["best_pixels_pct"]:.3f}%', f'{stats["all_pixels_pct"]:.3f}%',
            f'{stats["max_iou_diff"]:.4f}', f'{stats["max_logit_diff"]:.3g}']


def parity_section(ctx: Context, budget: Budget) -> List[str]:
    """fp32 on the device against fp32 on the CPU: embeddings, low-res logits, IoUs."""
    rows = []
    with _strict_fp32():
        for name in [m for m in _PARITY_MODELS if m in ctx.models]:
            if budget.spent():
                rows.append([name, _SKIP_BUDGET] + [''] * 5)
                continue
            try:
                ref = make_predictor(ctx.model(name), 'cpu', 'fp32')
                dev = ctx.predictor(name, 'fp32')
                e_ref, e_dev = ref.encode(ctx.image), dev.encode(ctx.image)
                scale = float(e_ref.features.abs().max())
                stats = compare_predictions(_predictions(ref, e_ref), _predictions(dev, e_dev))
                rows.append([name, f'{max_abs_diff(e_ref.features, e_dev.features):.3g}',
                             f'{scale:.3g}'] + _stats_cells(stats))
                del ref
            except Skip as exc:
                rows.append([name, str(exc)] + [''] * 5)
            except Exception as exc:  # noqa: B902 - reported, the run goes on
                rows.append([name, ctx.failed(f'parity {name}', exc)] + [''] * 5)
    lines = ['Same random weights, same 480 x 640 frame, TF32 off; 8 one-point prompts '
             '(3 masks) and 4 boxes (1 mask). Pixel agreement: the best mask (by predicted '
             'IoU; the worst prompt) and all masks.', '']
    if ctx.device.type == 'cpu':
        lines += ['Dry run on the CPU: both sides are the CPU path (differences must be 0).',
                  '']
    return lines + table(['model', 'max abs diff, embedding', 'max abs embedding',
                          'best-mask pixels', 'all-mask pixels', 'max abs dIoU',
                          'max abs diff, low-res logits'], rows)


def _upstream(ctx: Context, name: str, ours: SamPredictor, x32: torch.Tensor,
              emb32: torch.Tensor) -> List[str]:
    """Time upstream's encoder and decoder (fp32) on the same weights; return a row."""
    import segment_anything  # noqa: F401 - optional, checked by the caller
    theirs = segment_anything.sam_model_registry[name]()
    theirs.load_state_dict(ctx.model(name).state_dict(), strict=True)
    theirs = theirs.eval().to(ctx.device)
    warm, reps, cap = ctx.repeats('encoder')
    with torch.no_grad():
        x = x32.contiguous()
        emb = theirs.image_encoder(x)
        diff = max_abs_diff(emb, emb32)
        enc = time_ms(lambda: theirs.image_encoder(x), ctx.device, warm, reps, cap)
        coords = torch.tensor([[[500.0, 400.0]]], device=ctx.device)
        labels = torch.ones((1, 1), dtype=torch.int64, device=ctx.device)
        sparse, dense = theirs.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
        pe = theirs.prompt_encoder.get_dense_pe()
        warm, reps, cap = ctx.repeats('decoder')
        dec = time_ms(lambda: theirs.mask_decoder(
            image_embeddings=emb, image_pe=pe, sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense, multimask_output=True), ctx.device, warm, reps, cap)
    ctx.upstream[name] = enc
    ours_enc = ctx.eager.get((name, 'fp32'))
    ratio = f'{ours_enc.median_ms / enc.median_ms:.2f}x' if ours_enc else '-'
    return [name, enc.cell(), dec.cell(), f'{diff:.3g}', ratio]


def _eager_row(ctx: Context, name: str, precision: str, ref: List[Prediction]) -> List[str]:
    p = ctx.predictor(name, precision)
    embedding = p.encode(ctx.image)
    stats = compare_predictions(ref, _predictions(p, embedding)) if precision != 'fp32' else None
    if stats:
        ctx.agreement[(name, precision)] = stats
    x = encoder_input(p, ctx.image)
    inputs = decoder_inputs(p, embedding.features.clone(), (500.0, 400.0))
    point, label = np.array([[320.0, 240.0]]), np.array([1])
    with torch.no_grad():
        warm, reps, cap = ctx.repeats('encoder')
        enc = time_ms(lambda: p.model.image_encoder(x), ctx.device, warm, reps, cap)
        warm, reps, cap = ctx.repeats('decoder')
        dec = time_ms(lambda: p.model.mask_decoder.predict_masks(*inputs), ctx.device, warm,
                      reps, cap)
        seg = time_ms(lambda: p.segment(point, label, embedding=embedding), ctx.device, warm,
                      reps, cap)
    ctx.eager[(name, precision)] = enc
    _note_best(ctx, name, enc, f'{precision} eager')
    return [name, precision, enc.cell(), dec.cell(), seg.cell()] + (
        _stats_cells(stats) if stats else ['-'] * 4)


def _note_best(ctx: Context, name: str, timing: Timing, label: str) -> None:
    if name not in ctx.best or timing.median_ms < ctx.best[name][0]:
        ctx.best[name] = (timing.median_ms, label)


def engine_section(ctx: Context, budget: Budget) -> List[str]:
    """Agreement of fp16/bf16 with fp32 and eager latency per model; upstream alongside."""
    try:
        import segment_anything  # noqa: F401 - optional: upstream on the same device
        ctx.upstream_note = 'importable'
    except Exception as exc:  # noqa: B902 - ImportError, or a torchvision that fails to load
        ctx.upstream_note = (f'upstream not installed ({one_line(exc)}; `pip install '
                             'segment-anything torchvision`): ratios are against our fp32 eager')
    rows, up_rows = [], []
    for name in ctx.models:
        if budget.spent():
            rows.append([name, '-', _SKIP_BUDGET] + [''] * 6)
            continue
        try:
            fp32 = ctx.predictor(name, 'fp32')
            ref = _predictions(fp32, fp32.encode(ctx.image))
        except Exception as exc:  # noqa: B902 - reported, the run goes on
            rows.append([name, 'fp32', ctx.failed(f'engine {name} fp32', exc)] + [''] * 6)
            continue
        for precision in ctx.precisions:
            try:
                rows.append(_eager_row(ctx, name, precision, ref))
            except Skip as exc:
                rows.append([name, precision, str(exc)] + [''] * 6)
            except Exception as exc:  # noqa: B902 - reported, the run goes on
                rows.append([name, precision, ctx.failed(f'engine {name} {precision}', exc)]
                            + [''] * 6)
        if name in _UPSTREAM_MODELS and ctx.upstream_note == 'importable' and ctx.quick:
            up_rows.append([name, "skipped: the dry run's stand-ins are not upstream's sizes",
                            '', '', ''])
        elif name in _UPSTREAM_MODELS and ctx.upstream_note == 'importable':
            try:
                x32 = encoder_input(fp32, ctx.image)
                with torch.no_grad():
                    emb32 = fp32.model.image_encoder(x32)
                up_rows.append(_upstream(ctx, name, fp32, x32, emb32))
            except Exception as exc:  # noqa: B902 - reported, the run goes on
                up_rows.append([name, ctx.failed(f'upstream {name}', exc), '', '', ''])
        if not ctx.quick:
            ctx.drop(name)     # the variants section builds them again
        ctx.progress(_engine_lines(ctx, rows, up_rows))
    return _engine_lines(ctx, rows, up_rows)


def _engine_lines(ctx: Context, rows: List[List[str]], up_rows: List[List[str]]) -> List[str]:
    lines = ['Latency in ms, median (min). Encoder: the 1 x 3 x S x S forward (S = 1024; 64 '
             "for the dry run's stand-ins); decoder: "
             'the mask decoder for one point (4 tokens); segment: the whole '
             '`SamPredictor.segment` call for one point at 480 x 640 (upsampling, host copy, '
             'stability, boxes). Agreement against fp32 on the same device and weights '
             '(random weights: IoU heads untrained).', '']
    lines += table(['model', 'precision', 'encoder ms', 'decoder ms', 'segment 1 point ms',
                    'best-mask pixels vs fp32', 'all-mask pixels', 'max abs dIoU',
                    'max abs diff, low-res logits'], rows)
    lines += ['', f'Upstream `segment_anything`: {ctx.upstream_note}.']
    if up_rows:
        lines += [''] + table(['model', 'upstream fp32 encoder ms', 'upstream decoder ms',
                               'max abs diff, embedding (ours fp32 vs upstream)',
                               'ours fp32 eager / upstream'], up_rows)
    return lines


def _variant_entries(ctx: Context) -> List[Tuple[str, str, str]]:
    """Return (variant, model, precision) in priority order: cheap first, then compile."""
    first, rest = ctx.precisions[-1:], ctx.precisions[:-1]   # bf16 (or the last) first
    out = [('cuda_graph', m, p) for p in ctx.precisions for m in ctx.models]
    # The dry run compiles one precision only: on CUDA each compile costs real seconds.
    for precisions in ((first,) if ctx.quick else (first, rest)):
        for variant in VARIANTS[2:]:
            out += [(variant, m, p) for p in precisions for m in ctx.models]
    return out


def _variant(ctx: Context, variant: str, fn: Callable, inputs: Tuple[torch.Tensor, ...],
             part: str) -> Tuple[Timing, float, float]:
    """Return the timing, the set-up seconds (capture/compile) and the max |diff| vs eager."""
    with torch.no_grad():
        expected = fn(*inputs)
        synchronize(ctx.device)
        started = time.perf_counter()
        call = prepare_variant(variant, fn, inputs, ctx.device, ctx.quick)
        first = call()
        synchronize(ctx.device)
        setup = time.perf_counter() - started
        diff = max_abs_diff(first, expected)
        warm, reps, cap = ctx.repeats(part)
        timing = time_ms(call, ctx.device, min(warm, 3), reps, cap)
    return timing, setup, diff


def variants_section(ctx: Context, budget: Budget) -> List[str]:
    """CUDA graphs / torch.compile / both for the encoder and the decoder."""
    rows: List[List[str]] = []
    compile_s: List[float] = []
    for variant, name, precision in _variant_entries(ctx):
        head = [variant, name, precision]
        needed = 0.0
        if not ctx.quick and variant != 'cuda_graph':
            # At least the longest compile seen so far: a deeper model compiles no faster.
            needed = max([_COMPILE_START_S.get(name, 60.0)] + compile_s)
        if budget.left() < needed:
            rows.append(head + [f'skipped: under {needed:.0f} s of the section budget left'
                                if needed else _SKIP_BUDGET] + [''] * 5)
            continue
        try:
            p = ctx.predictor(name, precision)
            x = encoder_input(p, ctx.image)
            with torch.no_grad():
                features = p.model.image_encoder(x)
            enc, enc_setup, enc_diff = _variant(ctx, variant, p.model.image_encoder, (x,),
                                                'encoder')
            dec_in = decoder_inputs(p, features, (500.0, 400.0))
            dec, dec_setup, dec_diff = _variant(ctx, variant, p.model.mask_decoder.predict_masks,
                                                dec_in, 'decoder')
            eager = ctx.eager.get((name, precision))
            speedup = f'{eager.median_ms / enc.median_ms:.2f}x' if eager else '-'
            _note_best(ctx, name, enc, f'{precision} {variant}')
            if variant != 'cuda_graph':
                compile_s.append(enc_setup + dec_setup)
            rows.append(head + [enc.cell(), f'{enc_setup:.1f}', f'{enc_diff:.3g}', speedup,
                                dec.cell(), f'{dec_setup:.1f} / {dec_diff:.3g}'])
        except Skip as exc:
            rows.append(head + [str(exc)] + [''] * 5)
        except Exception as exc:  # noqa: B902 - reported, the run goes on
            rows.append(head + [ctx.failed(f'{variant} {name} {precision}', exc)] + [''] * 5)
        finally:
            if variant.startswith('compile'):
                torch.compiler.reset()
        if ctx.device.type == 'cuda':
            torch.cuda.empty_cache()
        ctx.progress(_variants_lines(ctx, rows))
    return _variants_lines(ctx, rows)


def _variants_lines(ctx: Context, rows: List[List[str]]) -> List[str]:
    lines = ['Per model and precision: ms median (min) after warm-up; set-up = capture or '
             'compile time of the first call (s); diff = max abs difference of the first '
             'output from the eager output. Order: CUDA graphs for all, then '
             f'{ctx.precisions[-1]} compiled, then the rest while the budget lasts.', '']
    return lines + table(['variant', 'model', 'precision', 'encoder ms', 'encoder set-up s',
                          'encoder diff', 'encoder speed-up vs eager', 'decoder ms',
                          'decoder set-up s / diff'], rows)


def summary_lines(ctx: Context) -> List[str]:
    """Return the GPU targets (vit_h encoder, 720p MobileSAM fps) against this run."""
    lines = []
    if 'vit_h' in ctx.best:
        best_ms, label = ctx.best['vit_h']
        if 'vit_h' in ctx.upstream:
            ratio = best_ms / ctx.upstream['vit_h'].median_ms
            verdict = 'met' if ratio <= 0.5 else 'NOT met'
            lines.append(f'- vit_h encoder <= 0.5x upstream fp32 on the same GPU: {verdict} '
                         f'({label}: {best_ms:.1f} ms = {ratio:.2f}x upstream).')
        elif ('vit_h', 'fp32') in ctx.eager:
            ratio = best_ms / ctx.eager[('vit_h', 'fp32')].median_ms
            lines.append(f'- vit_h encoder: upstream not measured; fastest {label} {best_ms:.1f}'
                         f' ms = {ratio:.2f}x our fp32 eager.')
    target = '- vit_t prompt -> result at 720p, changing frames, >= 100 answers/s: '
    if ctx.node_fps is not None:
        verdict = 'met' if ctx.node_fps >= 100.0 else 'NOT met'
        lines.append(f'{target}{verdict} ({ctx.node_fps:.1f}/s).')
    else:
        lines.append(f'{target}not measured in this run (see the node section).')
    for (name, precision), s in sorted(ctx.agreement.items()):
        ok = s['best_pixels_pct'] >= 99.0 and s['max_iou_diff'] <= 0.02
        lines.append(f'- {name} {precision} vs fp32 (>= 99% best-mask pixels, |dIoU| <= '
                     f'0.02): {"met" if ok else "NOT met"} ({s["best_pixels_pct"]:.2f}%, '
                     f'{s["max_iou_diff"]:.4f}; random weights).')
    if ctx.quick:
        lines.append('- Dry run: the figures above are not measurements of anything.')
    return lines or ['- Nothing was measured that a target applies to.']
