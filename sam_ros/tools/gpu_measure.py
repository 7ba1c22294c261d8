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
Measurement helpers of ``sam_ros.tools.gpu_check``: budgets, timing, models, comparisons.

Timing on CUDA synchronises the device before and after every timed call (kernels are
asynchronous), runs warm-up calls first and reports medians and minimums. Nothing here
runs at import.
"""

import copy
import dataclasses
import os
import platform
import statistics
import subprocess
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sam_ros.core.build import build_tiny_sam, sam_model_registry, TinySamConfig
from sam_ros.core.image_encoder import ImageEncoderViT
from sam_ros.core.mask_decoder import MaskDecoder
from sam_ros.core.predictor import Prediction, SamPredictor
from sam_ros.core.prompt_encoder import PromptEncoder
from sam_ros.core.runtime import cpu_model
from sam_ros.core.sam import Sam
from sam_ros.core.transformer import TwoWayTransformer
from sam_ros.core.transforms import resize_image, to_input_tensor
import torch

__all__ = ['Budget', 'build_model', 'Skip', 'compare_predictions', 'environment', 'max_abs_diff',
           'one_line', 'prepare_variant', 'table', 'Timing', 'time_ms', 'VARIANTS']

#: Latency variants, in the order they run (the risky ones last).
VARIANTS = ('eager', 'cuda_graph', 'compile', 'compile_cudagraphs')

# Stand-ins of the same families for the CPU dry run: a 64 x 64 input, a 4 x 4 grid.
_TINY_TINYVIT = TinySamConfig(
    img_size=64, embed_dims=(8, 16, 24, 32), depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 2),
    window_sizes=(4, 4, 4, 4), downsample_strides=(2, 2, 1), prompt_embed_dim=32,
    mask_in_chans=4, decoder_depth=1, decoder_num_heads=2, decoder_mlp_dim=64,
    iou_head_hidden_dim=32)


class Skip(Exception):
    """A step that cannot run here (not a failure); the message says why."""


class Budget:
    """A wall-clock allowance of ``seconds``, never past ``parent``'s end."""

    def __init__(self, seconds: float, parent: Optional['Budget'] = None) -> None:
        self.seconds = float(seconds)
        self.deadline = time.monotonic() + self.seconds
        if parent is not None:
            self.deadline = min(self.deadline, parent.deadline)

    def left(self) -> float:
        """Return the remaining seconds; negative once spent."""
        return self.deadline - time.monotonic()

    def spent(self) -> bool:
        """Return True once the allowance is used up."""
        return self.left() <= 0.0


@dataclasses.dataclass(frozen=True)
class Timing:
    """Latency of one call in ms: median and minimum over ``runs`` timed calls."""

    median_ms: float
    min_ms: float
    runs: int

    def cell(self) -> str:
        """Return 'median (min)' for a table cell."""
        return f'{self.median_ms:.2f} ({self.min_ms:.2f})'


def synchronize(device: torch.device) -> None:
    """Wait for every queued kernel on ``device`` (a no-op on the CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], device: torch.device, warmup: int, repeats: int,
            budget_s: float) -> Timing:
    """
    Time ``fn`` after ``warmup`` calls: up to ``repeats`` calls, at least one.

    Each call is bracketed by device synchronisations; timing stops early when
    ``budget_s`` seconds have passed since the first timed call.
    """
    for _ in range(warmup):
        fn()
    synchronize(device)
    times: List[float] = []
    stop = time.monotonic() + max(0.0, budget_s)
    while len(times) < max(1, repeats):
        started = time.perf_counter()
        fn()
        synchronize(device)
        times.append(1e3 * (time.perf_counter() - started))
        if time.monotonic() > stop:
            break
    return Timing(statistics.median(times), min(times), len(times))


def _tiny_vit_sam() -> Sam:
    """Return a ViT SAM of 64 x 64 input and 4 x 4 grid (the dry run's vit_b / vit_h)."""
    dim = 32
    encoder = ImageEncoderViT(img_size=64, patch_size=16, embed_dim=dim, depth=2,
                              num_heads=2, mlp_ratio=2.0, out_chans=dim, window_size=2,
                              global_attn_indexes=(1,))
    grid = encoder.grid_size
    prompt_encoder = PromptEncoder(embed_dim=dim, image_embedding_size=(grid, grid),
                                   input_image_size=(64, 64), mask_in_chans=4)
    transformer = TwoWayTransformer(depth=1, embedding_dim=dim, num_heads=2, mlp_dim=64)
    decoder = MaskDecoder(transformer_dim=dim, transformer=transformer,
                          num_multimask_outputs=3, iou_head_depth=3, iou_head_hidden_dim=32)
    return Sam(encoder, prompt_encoder, decoder).eval()


def build_model(name: str, tiny: bool, seed: int) -> Sam:
    """
    Build ``name`` ('vit_t', 'vit_b', 'vit_h') with random weights from ``seed`` on the CPU.

    ``tiny`` builds a stand-in of the same family (TinyViT or ViT) at 64 x 64 input
    for the dry run. The same seed gives the same weights in every process.
    """
    torch.manual_seed(seed)
    if not tiny:
        return sam_model_registry[name]()
    return build_tiny_sam(_TINY_TINYVIT).eval() if name == 'vit_t' else _tiny_vit_sam()


def make_predictor(model: Sam, device: str, precision: str) -> SamPredictor:
    """Return a predictor on a deep copy of ``model`` (the predictor changes its model)."""
    return SamPredictor(copy.deepcopy(model), device=device, precision=precision)


def encoder_input(predictor: SamPredictor, image: np.ndarray) -> torch.Tensor:
    """Return ``image`` (H, W, 3) uint8 preprocessed: (1, 3, S, S) compute dtype, on device."""
    resized = resize_image(image, predictor.image_size)
    with torch.no_grad():
        x = predictor.model.preprocess(to_input_tensor(resized, predictor.device))
        return x.to(predictor.dtype, memory_format=torch.channels_last)


def decoder_inputs(predictor: SamPredictor, features: torch.Tensor,
                   point_xy: Tuple[float, float]) -> Tuple[torch.Tensor, ...]:
    """
    Return the mask decoder's inputs for one point prompt at ``point_xy``.

    ``point_xy`` is pixel XY in the encoder's input frame. Returns (features,
    dense PE, sparse (1, 2, D), dense (1, D, G, G)), all in the compute dtype on device.
    """
    with torch.no_grad():
        coords = torch.tensor([[point_xy]], dtype=torch.float32, device=predictor.device)
        labels = torch.ones((1, 1), dtype=torch.int64, device=predictor.device)
        sparse, dense = predictor.model.prompt_encoder((coords, labels), None, None)
        pe = predictor.model.prompt_encoder.get_dense_pe()
        dtype = predictor.dtype
        return (features, pe.to(dtype, memory_format=torch.channels_last),
                sparse.to(dtype), dense.to(dtype))


def _cuda_graph(fn: Callable[..., object], inputs: Sequence[torch.Tensor]
                ) -> Callable[[], object]:
    """
    Capture ``fn(*inputs)`` in a CUDA graph; return a replay that yields its outputs.

    The inputs are copied into static buffers; warm-up runs on a side stream as the
    CUDA graph rules require. The replay reuses the same output tensors every time.
    """
    static = [t.clone() for t in inputs]
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn(*static)
    torch.cuda.current_stream().wait_stream(stream)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = fn(*static)

    def replay() -> object:
        graph.replay()
        return outputs
    return replay


def prepare_variant(variant: str, fn: Callable[..., object], inputs: Sequence[torch.Tensor],
                    device: torch.device, quick: bool) -> Callable[[], object]:
    """
    Return a no-argument call of ``fn(*inputs)`` as ``variant`` (see ``VARIANTS``).

    'cuda_graph': a captured CUDA graph; 'compile': ``torch.compile`` (inductor);
    'compile_cudagraphs': ``torch.compile(mode='reduce-overhead')``. The first call of
    a compiled variant compiles (the caller times that call separately). On the CPU
    the CUDA graph variants raise Skip (the caller reports it as skipped), and
    with ``quick`` the compiled variants use dynamo's 'eager' backend (tracing only, no
    inductor code generation) to stay cheap.
    """
    if variant == 'eager':
        return lambda: fn(*inputs)
    if variant in ('cuda_graph', 'compile_cudagraphs') and device.type != 'cuda':
        raise Skip('skipped: CUDA graphs need a CUDA device')
    if variant == 'cuda_graph':
        return _cuda_graph(fn, inputs)
    if variant not in ('compile', 'compile_cudagraphs'):
        raise ValueError(f'unknown variant {variant!r}; choose one of {VARIANTS}')
    if quick and device.type != 'cuda':
        compiled = torch.compile(fn, backend='eager')
    elif variant == 'compile':
        compiled = torch.compile(fn)
    else:
        compiled = torch.compile(fn, mode='reduce-overhead')
    if variant == 'compile_cudagraphs':
        def call() -> object:
            # cudagraph trees reuse output memory: mark each step, copy nothing.
            torch.compiler.cudagraph_mark_step_begin()
            return compiled(*inputs)
        return call
    return lambda: compiled(*inputs)


def max_abs_diff(a: object, b: object) -> float:
    """Return the largest absolute difference of two tensors (or tuples of them), fp64."""
    if isinstance(a, (tuple, list)):
        return max(max_abs_diff(x, y) for x, y in zip(a, b))
    return float((a.detach().double().cpu() - b.detach().double().cpu()).abs().max())


def compare_predictions(reference: Sequence[Prediction],
                        candidate: Sequence[Prediction]) -> Dict[str, float]:
    """
    Compare two lists of predictions for the same prompts, mask by mask in token order.

    Returns 'best_pixels_pct' (pixels of the reference's best mask, by predicted IoU,
    that the candidate's mask of the same token classifies alike; the worst prompt),
    'all_pixels_pct' (all masks, all prompts), 'max_iou_diff' (largest |dIoU|) and
    'max_logit_diff' (largest low-res logit difference).
    """
    best, same, total, iou_diff, logit_diff = 100.0, 0, 0, 0.0, 0.0
    for ref, cand in zip(reference, candidate):
        r, c = np.argsort(ref.tokens), np.argsort(cand.tokens)
        ref_masks, cand_masks = ref.masks[r], cand.masks[c]
        b = int(np.argmax(ref.iou[r]))
        best = min(best, 100.0 * float(np.mean(ref_masks[b] == cand_masks[b])))
        same += int(np.count_nonzero(ref_masks == cand_masks))
        total += ref_masks.size
        iou_diff = max(iou_diff, float(np.max(np.abs(ref.iou[r] - cand.iou[c]))))
        logit_diff = max(logit_diff, float(np.max(np.abs(
            ref.low_res_logits[r].astype(np.float64) - cand.low_res_logits[c]))))
    return {'best_pixels_pct': best, 'all_pixels_pct': 100.0 * same / max(total, 1),
            'max_iou_diff': iou_diff, 'max_logit_diff': logit_diff}


def _nvidia_smi() -> str:
    try:
        out = subprocess.run(
            ['nvidia-smi', '--query-gpu=name,driver_version,memory.total',
             '--format=csv,noheader'], capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else 'failed'
    except (OSError, subprocess.SubprocessError, IndexError):
        return 'not available'


def environment(device: torch.device) -> List[Tuple[str, str]]:
    """Return (name, value) rows describing the machine, the GPU and the torch build."""
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else 'none'
    rows = [('host CPU', f'{cpu_model()}, {os.cpu_count()} cores, torch threads '
             f'{torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}'),
            ('python / torch', f'{platform.python_version()} / {torch.__version__}'),
            ('torch CUDA / cuDNN', f'{torch.version.cuda or "none"} / {cudnn}'),
            ('device', str(device))]
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        rows += [('GPU', f'{props.name}, {props.total_memory / 2 ** 30:.1f} GiB, compute '
                  f'capability {props.major}.{props.minor}, {props.multi_processor_count} SMs'),
                 ('nvidia-smi (name, driver, memory)', _nvidia_smi()),
                 ('dtype support', f'fp16 yes, bf16 '
                  f'{"yes" if torch.cuda.is_bf16_supported() else "no"}'),
                 ('TF32 (matmul / cuDNN)', f'{torch.backends.cuda.matmul.allow_tf32} / '
                  f'{torch.backends.cudnn.allow_tf32} (parity runs with both off)'),
                 ('cuDNN benchmark', str(torch.backends.cudnn.benchmark))]
    else:
        rows += [('dtype support', 'CPU: fp32, bf16 (fp16 is CUDA only in sam_ros)')]
    return rows


def one_line(exc: BaseException) -> str:
    """Return ``Type: message`` on one line, short enough for a table cell."""
    text = ' '.join(str(exc).split()) or repr(exc)
    text = text.replace('|', '/')
    if len(text) > 200:
        text = text[:197] + '...'
    return f'{type(exc).__name__}: {text}'


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> List[str]:
    """Return a markdown table."""
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    return lines + ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
