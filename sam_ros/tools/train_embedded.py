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
Train the embedded default model on the synthetic nested-object world.

    python -m sam_ros.tools.train_embedded --out my_model.pt    # = --steps 2500 --seed 0

Deterministic from ``--seed`` (same machine, same thread count). Runs on the CPU in
fp32 by default: on the development CPU (AVX-512 BF16, no AMX) a bf16-autocast step
costs 1.3x an fp32 one, so bf16 is opt-in (``--precision bf16`` or ``auto``). Writes
a flat state_dict, loadable by the strict checkpoint loader, and a JSON sidecar with
the run's settings, time and losses.

``--out`` is required: the tool never writes the shipped model
(``sam_ros/core/weights/embedded_sam.pt``) unless ``--overwrite-shipped`` asks for it.
"""

import argparse
import json
import math
import os
from pathlib import Path
import platform
import sys
import time
from typing import Dict, List, Optional

import numpy as np
from sam_ros.core.build import build_embedded_untrained
from sam_ros.core.runtime import cpu_supports_bf16, precision_dtype, tune_cpu_allocator
from sam_ros.synthetic import SceneGenerator
from sam_ros.training.losses import FOCAL_WEIGHT
from sam_ros.training.samples import build_sample, draw_frame_size
from sam_ros.training.step import sample_losses
import torch

DEFAULT_FOCAL_WEIGHT = 6.0
SHIPPED = Path(__file__).resolve().parents[1] / 'core' / 'weights' / 'embedded_sam.pt'


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--steps', type=int, default=2500, help='optimizer steps')
    parser.add_argument('--images', type=int, default=4, help='images per step')
    parser.add_argument('--clicks', type=int, default=3,
                        help='single clicks per image (three-mask supervision, then a '
                        'correction round each)')
    parser.add_argument('--boxes', type=int, default=2, help='jittered boxes per image')
    parser.add_argument('--point-sets', type=int, default=2,
                        help='2-3 positive + 1 negative point sets per image')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--lr', type=float, default=2e-3)
    parser.add_argument('--weight-decay', type=float, default=0.01)
    parser.add_argument('--warmup', type=int, default=50)
    parser.add_argument('--focal-weight', type=float, default=DEFAULT_FOCAL_WEIGHT,
                        help=f'weight of the focal term against dice (SAM: {FOCAL_WEIGHT:g}, '
                        'at which the model sits in an all-background state for the first '
                        '250+ steps; default: %(default)s)')
    parser.add_argument('--focal-warmup', type=int, default=0,
                        help='steps over which the focal weight ramps up from 0 (dice '
                        'alone has no all-background minimum; default: no ramp)')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads; on a shared CPU use 1, OpenMP stalls otherwise')
    parser.add_argument('--precision', default='fp32', choices=['auto', 'fp32', 'bf16'],
                        help="autocast precision; 'auto' = bf16 where the CPU has AVX-512 BF16")
    parser.add_argument('--out', type=Path, default=None,
                        help='the checkpoint file to write (its run record goes next to it, '
                        '.json); required, and never the shipped model unless '
                        '--overwrite-shipped is given')
    parser.add_argument('--overwrite-shipped', action='store_true',
                        help=f'write the shipped model {SHIPPED.name} (and its .json) in '
                        'the package, replacing it; --out may then be left out')
    parser.add_argument('--log-every', type=int, default=50)
    args = parser.parse_args(argv)
    problem = _shipped_problem(args)
    if not problem:
        problem = _out_problem(args.out)
    if problem:
        parser.error(problem)
    return args


def _shipped_problem(args: argparse.Namespace) -> str:
    """Say why the run would write the shipped model without being asked; set ``args.out``."""
    if args.out is None:
        if not args.overwrite_shipped:
            return ('give --out FILE for the checkpoint to write (the shipped model '
                    f'{SHIPPED} is replaced only with --overwrite-shipped)')
        args.out = SHIPPED
    if args.out.resolve() == SHIPPED.resolve() and not args.overwrite_shipped:
        return (f'--out {args.out} is the shipped model; add --overwrite-shipped to '
                'replace it, or write elsewhere')
    return ''


def _out_problem(out: Path) -> str:
    """Say why ``out`` cannot take the checkpoint, before an hour of training is spent."""
    if out.is_dir():
        return (f'--out {out} is a directory; give the checkpoint file to write, e.g. '
                f'--out {out / SHIPPED.name}')
    parent = next((p for p in out.absolute().parents if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK):
        return f'--out {out}: cannot create or write under {parent}'
    if out.exists() and not os.access(out, os.W_OK):
        return f'--out {out} exists and is not writable'
    return ''


def _lr_at(step: int, args: argparse.Namespace) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def _focal_weight_at(step: int, args: argparse.Namespace) -> float:
    if step >= args.focal_warmup:
        return args.focal_weight
    return args.focal_weight * step / args.focal_warmup


def _progress(step: int, total: int, started: float, stats: Dict[str, float]) -> None:
    done = step / total
    elapsed = time.monotonic() - started
    eta = elapsed / max(done, 1e-9) * (1.0 - done)
    bar = '#' * int(30 * done) + '.' * (30 - int(30 * done))
    text = ' '.join(f'{k}={v:.3f}' for k, v in stats.items())
    sys.stderr.write(f'\r[{bar}] {step}/{total} {elapsed / 60:5.1f}m eta {eta / 60:5.1f}m {text}')
    sys.stderr.flush()


def _next_sample(generator: SceneGenerator, rng: np.random.Generator, index: int, model,
                 args: argparse.Namespace):
    low_res = 4 * model.embedding_grid
    while True:
        width, height = draw_frame_size(rng)
        scene = generator.scene(index, width, height)
        index += 1
        objects = scene_levels(scene)
        if any(levels[-1].sum() >= 16 for levels in objects):
            sample = build_sample(scene.image, objects, rng, model.image_size, low_res,
                                  n_clicks=args.clicks, n_boxes=args.boxes,
                                  n_points=args.point_sets)
            return sample, index


def scene_levels(scene) -> list:
    """Return each object's visible level masks, ordered subpart -> whole."""
    return [list(obj.levels) for obj in scene.objects]


def train(args: argparse.Namespace) -> dict:
    """Run the training loop and return the run record."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tune_cpu_allocator()
    rng = np.random.default_rng(args.seed)
    generator = SceneGenerator(seed=args.seed)
    torch_gen = torch.Generator().manual_seed(args.seed)
    # 'auto' follows the CPU's flags, never a timing probe, so a run repeats exactly.
    precision = args.precision
    if precision == 'auto':
        precision = 'bf16' if cpu_supports_bf16() else 'fp32'
    dtype = precision_dtype(precision)
    model = build_embedded_untrained()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{'params': decay, 'weight_decay': args.weight_decay},
         {'params': no_decay, 'weight_decay': 0.0}], lr=args.lr)
    print(f'training embedded model: {sum(p.numel() for p in params) / 1e6:.2f} M parameters, '
          f'{args.steps} steps x {args.images} images, autocast {dtype}', flush=True)
    started = time.monotonic()
    scene_index = 0
    history: List[dict] = []
    window: Dict[str, List[float]] = {}
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group['lr'] = _lr_at(step, args)
        samples = []
        for _ in range(args.images):
            sample, scene_index = _next_sample(generator, rng, scene_index, model, args)
            samples.append(sample)
        with torch.autocast('cpu', dtype=dtype, enabled=dtype != torch.float32):
            batch = torch.stack([model.preprocess(s.image[None].float())[0] for s in samples])
            embeddings = model.image_encoder(batch)
            totals = []
            for i, sample in enumerate(samples):
                parts = sample_losses(model, embeddings[i:i + 1], sample, torch_gen,
                                      _focal_weight_at(step, args))
                totals.append(sum(v for k, v in parts.items() if not k.endswith('miou')))
                for key, value in parts.items():
                    window.setdefault(key, []).append(float(value.detach()))
        loss = torch.stack(totals).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        window.setdefault('loss', []).append(float(loss.detach()))
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            stats = {k: float(np.mean(v)) for k, v in window.items()}
            stats['lr'] = _lr_at(step, args)
            history.append({'step': step + 1, 'minutes': (time.monotonic() - started) / 60,
                            **stats})
            window = {}
            _progress(step + 1, args.steps, started, {k: stats[k] for k in
                      ('loss', 'click_miou', 'single_miou') if k in stats})
            print(f'\nstep {step + 1}: ' + json.dumps(history[-1]), flush=True)
    minutes = (time.monotonic() - started) / 60
    model.eval()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float32).contiguous() if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    torch.save(state, args.out)
    record = {
        'seed': args.seed, 'steps': args.steps, 'images_per_step': args.images,
        'prompts_per_image': {'clicks': args.clicks, 'boxes': args.boxes,
                              'point_sets': args.point_sets},
        'lr': args.lr, 'focal_weight': args.focal_weight,
        'focal_warmup': args.focal_warmup, 'precision': str(dtype),
        'threads': args.threads,
        'minutes': round(minutes, 2), 'machine': platform.processor() or platform.machine(),
        'torch': torch.__version__, 'final': history[-1] if history else {},
        'history': history,
    }
    args.out.with_suffix('.json').write_text(json.dumps(record, indent=1) + '\n')
    print(f'\nsaved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) after {minutes:.1f} min')
    return record


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``sam-ros-train-embedded``."""
    train(_parse(argv))
    return 0


if __name__ == '__main__':
    sys.exit(main())
