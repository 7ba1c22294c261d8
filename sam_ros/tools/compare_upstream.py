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
Check numerically that our SAM networks match the upstream reference code.

Usage::

    python -m sam_ros.tools.compare_upstream --model vit_t vit_b
        --upstream-sam /path/to/segment-anything --upstream-mobilesam /path/to/MobileSAM

(one command line).

Both models get the SAME weights: ours is built, every tensor is randomised (so that
zero-initialised tables such as relative positions and attention biases matter), saved,
and loaded into upstream's model with ``strict=True``. Then the same preprocessed image
and prompts go through both, and the tool prints the max abs difference of the
preprocessing, the image embeddings, the dense positional encoding, the sparse/dense
prompt embeddings, the low-res masks of all four tokens and the IoUs.

Upstream code is imported from the given checkouts without running their package
``__init__`` (which needs torchvision); if ``timm`` is missing (MobileSAM's TinyViT
imports three helpers from it), a minimal stand-in is registered for the run. Nothing
of upstream is copied into this repository.
"""

import argparse
from dataclasses import replace
import importlib
from pathlib import Path
import sys
import tempfile
import time
import types
from typing import Dict, List, Optional, Tuple

from sam_ros.core.build import build_sam, build_tiny_sam, VIT_T_CONFIG
from sam_ros.core.checkpoint import load_checkpoint
from sam_ros.core.sam import Sam
import torch
from torch import nn

_VIT_TYPES = ('vit_b', 'vit_l', 'vit_h')


def _install_timm_stand_in() -> None:
    """Register a tiny ``timm`` providing what MobileSAM's TinyViT imports (eval only)."""
    timm = types.ModuleType('timm')
    models = types.ModuleType('timm.models')
    layers = types.ModuleType('timm.models.layers')
    registry = types.ModuleType('timm.models.registry')

    class DropPath(nn.Module):
        """Stochastic depth; identity at inference (all SAM builders use rate 0)."""

        def __init__(self, drop_prob: Optional[float] = None) -> None:
            super().__init__()
            self.drop_prob = drop_prob

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training or not self.drop_prob:
                return x
            keep = 1.0 - self.drop_prob
            mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
            return x * mask / keep

    layers.DropPath = DropPath
    layers.to_2tuple = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    layers.trunc_normal_ = lambda t, std=1.0, **kw: nn.init.trunc_normal_(t, std=std, **kw)
    registry.register_model = lambda fn: fn
    timm.models, models.layers, models.registry = models, layers, registry
    sys.modules.update({'timm': timm, 'timm.models': models, 'timm.models.layers': layers,
                        'timm.models.registry': registry})


def _import_upstream(root: Path, package: str) -> types.ModuleType:
    """Import ``<package>.build_sam`` from checkout ``root`` without its package __init__."""
    pkg_dir = root / package
    if not (pkg_dir / 'build_sam.py').is_file() or not (pkg_dir / 'modeling').is_dir():
        raise SystemExit(f'{root} does not look like a checkout with {package}/build_sam.py '
                         'and {package}/modeling/')
    for name in [m for m in sys.modules if m == package or m.startswith(package + '.')]:
        del sys.modules[name]
    stub = types.ModuleType(package)
    stub.__path__ = [str(pkg_dir)]
    sys.modules[package] = stub
    if package == 'mobile_sam':
        try:
            importlib.import_module('timm.models.layers')
        except ImportError:
            print('note: timm is not installed; using a minimal stand-in for the three '
                  'helpers MobileSAM imports (or: pip install timm --no-deps)')
            _install_timm_stand_in()
    return importlib.import_module(f'{package}.build_sam')


def _randomise(model: nn.Module, seed: int) -> None:
    """Give every floating tensor of ``model`` random, well-scaled values (in place)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            if name.endswith('running_var'):
                tensor.copy_(0.5 + noise.abs())
            elif name.endswith('positional_encoding_gaussian_matrix'):
                tensor.copy_(noise)
            else:
                std = float(tensor.std()) if tensor.numel() > 1 else 0.0
                tensor.add_(noise * (0.5 * std if std > 1e-6 else 0.1))


def _prompts(size: Tuple[int, int]) -> Dict[str, dict]:
    """Return named prompts in the input frame of an image of ``size`` (h, w)."""
    h, w = size
    pt = torch.tensor
    return {
        'point': {'points': (pt([[[0.48 * w, 0.51 * h]]]), pt([[1]]))},
        'box': {'boxes': pt([[0.2 * w, 0.2 * h, 0.7 * w, 0.8 * h]])},
        'points+box': {'points': (pt([[[0.4 * w, 0.4 * h], [0.6 * w, 0.7 * h]]]), pt([[1, 0]])),
                       'boxes': pt([[0.2 * w, 0.2 * h, 0.7 * w, 0.8 * h]])},
        '3 points fg/bg': {'points': (pt([[[0.3 * w, 0.3 * h], [0.5 * w, 0.5 * h],
                                           [0.9 * w, 0.1 * h]]]), pt([[1, 1, 0]]))},
        '2 boxes (batch)': {'boxes': pt([[0.1 * w, 0.1 * h, 0.5 * w, 0.5 * h],
                                         [0.3 * w, 0.2 * h, 0.9 * w, 0.95 * h]])},
    }


def _decode(model: nn.Module, embedding: torch.Tensor,
            prompt: dict) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return sparse, dense, all-token masks and IoUs of ``prompt`` on ``embedding``."""
    sparse, dense = model.prompt_encoder(points=prompt.get('points'),
                                         boxes=prompt.get('boxes'),
                                         masks=prompt.get('masks'))
    masks, iou = model.mask_decoder.predict_masks(
        image_embeddings=embedding, image_pe=model.prompt_encoder.get_dense_pe(),
        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense)
    return sparse, dense, masks, iou


def _row(rows: List[Tuple[str, float, float]], name: str, ours: torch.Tensor,
         ref: torch.Tensor) -> float:
    """Record the max abs difference of ``ours`` vs ``ref`` and the reference's scale."""
    if ours.shape != ref.shape:
        raise SystemExit(f'{name}: shape {tuple(ours.shape)} vs upstream {tuple(ref.shape)}')
    diff = float((ours.double() - ref.double()).abs().max())
    rows.append((name, diff, float(ref.abs().max())))
    return diff


def _build_pair(model_type: str, args: argparse.Namespace, seed: int) -> Tuple[Sam, nn.Module]:
    """Build ours with random weights and upstream's with the very same weights."""
    if model_type == 'vit_t':
        upstream = _import_upstream(args.upstream_mobilesam, 'mobile_sam')
        ours = build_tiny_sam(replace(VIT_T_CONFIG, num_classes=1000)).eval()
    else:
        upstream = _import_upstream(args.upstream_sam, 'segment_anything')
        ours = build_sam(model_type)
    _randomise(ours, seed)
    theirs = upstream.sam_model_registry[model_type]()
    if model_type in ('vit_l', 'vit_h'):
        # Too big to round-trip through a file cheaply: hand the tensors over directly.
        theirs.load_state_dict(ours.state_dict(), strict=True)
        return ours, theirs.eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f'{model_type}.pth'
        torch.save(ours.state_dict(), path)
        state = torch.load(path, map_location='cpu', weights_only=True)
        theirs.load_state_dict(state, strict=True)
        # Upstream TinyViT caches attention biases in eval(): refresh after loading.
        theirs.eval()
        # The same file also goes through our own strict loader into a fresh model.
        again = (build_tiny_sam(VIT_T_CONFIG) if model_type == 'vit_t'
                 else build_sam(model_type))
        load_checkpoint(again, path, model_name=model_type)
    return ours, theirs


def compare(model_type: str, args: argparse.Namespace) -> float:
    """Run the comparison for one model type; print a table; return the worst difference."""
    torch.manual_seed(args.seed)
    ours, theirs = _build_pair(model_type, args, args.seed)
    size = (args.height, args.width)
    gen = torch.Generator().manual_seed(args.seed + 1)
    image = torch.randint(0, 256, (1, 3, *size), generator=gen).float()
    rows: List[Tuple[str, float, float]] = []
    with torch.no_grad():
        x = ours.preprocess(image)
        _row(rows, 'preprocess', x, theirs.preprocess(image))
        started = time.perf_counter()
        emb_ours = ours.image_encoder(x)
        t_ours = time.perf_counter() - started
        started = time.perf_counter()
        emb_theirs = theirs.image_encoder(x)
        t_theirs = time.perf_counter() - started
        _row(rows, 'image embedding', emb_ours, emb_theirs)
        _row(rows, 'dense PE', ours.prompt_encoder.get_dense_pe(),
             theirs.prompt_encoder.get_dense_pe())
        prompts = _prompts(size)
        first = None
        for name, prompt in prompts.items():
            out_ours = _decode(ours, emb_ours, prompt)
            out_theirs = _decode(theirs, emb_theirs, prompt)
            for label, a, b in zip(('sparse', 'dense', 'masks (4 tokens)', 'iou (4 tokens)'),
                                   out_ours, out_theirs):
                _row(rows, f'{name}: {label}', a, b)
            if first is None:
                first = out_theirs[2][:, 1:2]
        prompt = dict(prompts['point'], masks=first)
        for label, a, b in zip(('sparse', 'dense', 'masks (4 tokens)', 'iou (4 tokens)'),
                               _decode(ours, emb_ours, prompt), _decode(theirs, emb_theirs,
                                                                        prompt)):
            _row(rows, f'point+mask input: {label}', a, b)
        for multi in (True, False):
            args_dec = (emb_ours, ours.prompt_encoder.get_dense_pe(),
                        *ours.prompt_encoder(points=prompts['point']['points'], boxes=None,
                                             masks=None))
            m_ours, i_ours = ours.mask_decoder(*args_dec, multimask_output=multi)
            m_theirs, i_theirs = theirs.mask_decoder(
                emb_theirs, theirs.prompt_encoder.get_dense_pe(),
                *theirs.prompt_encoder(points=prompts['point']['points'], boxes=None,
                                       masks=None), multimask_output=multi)
            _row(rows, f'forward multimask={multi}: masks', m_ours, m_theirs)
            _row(rows, f'forward multimask={multi}: iou', i_ours, i_theirs)
    print(f'\n== {model_type}: ours vs upstream, fp32, identical random weights '
          f'(encoder time ours {t_ours:.2f} s, upstream {t_theirs:.2f} s)')
    print(f'{"quantity":48s} {"max |diff|":>12s} {"max |ref|":>12s}')
    for name, diff, scale in rows:
        print(f'{name:48s} {diff:12.3e} {scale:12.3e}')
    return max(diff for _, diff, _ in rows)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns 0 when every difference is within ``--tolerance``."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--model', nargs='+', default=['vit_t', 'vit_b'],
                        choices=['vit_t', *_VIT_TYPES])
    parser.add_argument('--upstream-sam', type=Path,
                        help='checkout of facebookresearch/segment-anything (vit_b/l/h)')
    parser.add_argument('--upstream-mobilesam', type=Path,
                        help='checkout of ChaoningZhang/MobileSAM (vit_t)')
    parser.add_argument('--height', type=int, default=768, help='resized image height')
    parser.add_argument('--width', type=int, default=1024, help='resized image width')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest acceptable max abs difference')
    args = parser.parse_args(argv)
    if 'vit_t' in args.model and args.upstream_mobilesam is None:
        parser.error('--model vit_t needs --upstream-mobilesam')
    if set(args.model) & set(_VIT_TYPES) and args.upstream_sam is None:
        parser.error('--model vit_b/vit_l/vit_h need --upstream-sam')
    torch.set_num_threads(args.threads)
    worst = {name: compare(name, args) for name in args.model}
    print('\nworst max |diff|: ' + ', '.join(f'{k} {v:.3e}' for k, v in worst.items()))
    ok = all(v <= args.tolerance for v in worst.values())
    print('PASS' if ok else f'FAIL (tolerance {args.tolerance:g})')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
