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
The ViT image encoder of SAM (vit_b, vit_l, vit_h).

A 16x16 patch embedding turns the padded input (B, 3, S, S) into a (B, G, G, C) token
grid (G = S / patch), an absolute position embedding is added, then ``depth`` transformer
blocks run: most attend inside 14x14 windows, the blocks listed in ``global_attn_indexes``
attend over the whole grid. Every attention adds decomposed relative-position terms.
A neck maps the C channels to ``out_chans`` (256): (B, out_chans, G, G).
"""

from typing import Sequence, Tuple

from sam_ros.core.common import LayerNorm2d, MLPBlock, window_partition, window_unpartition
from sam_ros.core.errors import ImageFormatError
import torch
from torch import nn
import torch.nn.functional as F


__all__ = ['ImageEncoderViT']


def _relative_table(rel_pos: torch.Tensor, size: int) -> torch.Tensor:
    """
    Gather a relative-position table for one axis of length ``size``.

    ``rel_pos`` is (2 * size - 1, D), indexed by (query - key + size - 1). Returns
    (size, size, D) with entry [i, j] = rel_pos[i - j + size - 1].
    """
    coords = torch.arange(size, device=rel_pos.device)
    index = coords[:, None] - coords[None, :] + (size - 1)
    return rel_pos[index]


class _Attention(nn.Module):
    """Multi-head self-attention over a (B, H, W, C) grid with decomposed relative positions."""

    def __init__(self, dim: int, num_heads: int, input_size: Tuple[int, int],
                 qkv_bias: bool = True, use_rel_pos: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.use_rel_pos = use_rel_pos
        if use_rel_pos:
            # Zero init, as upstream; trained values come from the checkpoint.
            self.rel_pos_h = nn.Parameter(torch.zeros(2 * input_size[0] - 1, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(2 * input_size[1] - 1, self.head_dim))

    def _rel_pos_bias(self, q: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """
        Return the additive bias (B, heads, h*w, h*w) of the decomposed relative positions.

        bias[(qy, qx), (ky, kx)] = q . rel_pos_h[qy - ky] + q . rel_pos_w[qx - kx], with the
        unscaled query q (B, heads, h*w, head_dim).
        """
        b, n = q.shape[:2]
        table_h = _relative_table(self.rel_pos_h, h)
        table_w = _relative_table(self.rel_pos_w, w)
        grid_q = q.reshape(b, n, h, w, -1)
        rel_h = torch.einsum('bnhwc,hkc->bnhwk', grid_q, table_h)
        rel_w = torch.einsum('bnhwc,wkc->bnhwk', grid_q, table_w)
        bias = rel_h[..., :, None] + rel_w[..., None, :]
        return bias.reshape(b, n, h * w, h * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over ``x`` (B, H, W, C); return (B, H, W, C)."""
        b, h, w, c = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        bias = self._rel_pos_bias(q, h, w) if self.use_rel_pos else None
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        out = out.transpose(1, 2).reshape(b, h, w, c)
        return self.proj(out)


class _Block(nn.Module):
    """Pre-norm transformer block; windowed attention when ``window_size`` > 0, else global."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, window_size: int,
                 grid_size: Tuple[int, int], qkv_bias: bool, use_rel_pos: bool) -> None:
        super().__init__()
        self.window_size = window_size
        attn_size = (window_size, window_size) if window_size > 0 else grid_size
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, num_heads, attn_size, qkv_bias, use_rel_pos)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, int(dim * mlp_ratio), nn.GELU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Transform the token grid ``x`` (B, H, W, C)."""
        shortcut = x
        x = self.norm1(x)
        if self.window_size > 0:
            size = (x.shape[1], x.shape[2])
            tiles, padded = window_partition(x, self.window_size)
            x = window_unpartition(self.attn(tiles), self.window_size, padded, size)
        else:
            x = self.attn(x)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    """Non-overlapping patch projection: (B, 3, S, S) -> (B, S/p, S/p, C)."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project patches; channels last."""
        return self.proj(x).permute(0, 2, 3, 1)


class ImageEncoderViT(nn.Module):
    """
    SAM's ViT image encoder: (B, in_chans, S, S) normalised image -> (B, out_chans, G, G).

    ``S = img_size`` and ``G = img_size // patch_size`` (1024 and 64 for the official
    models). The input must already be normalised and padded to S x S
    (see :meth:`sam_ros.core.sam.Sam.preprocess`).
    """

    def __init__(self, img_size: int = 1024, patch_size: int = 16, in_chans: int = 3,
                 embed_dim: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_ratio: float = 4.0, out_chans: int = 256, qkv_bias: bool = True,
                 use_abs_pos: bool = True, use_rel_pos: bool = True, window_size: int = 14,
                 global_attn_indexes: Sequence[int] = (2, 5, 8, 11)) -> None:
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f'img_size {img_size} must be a multiple of patch_size '
                             f'{patch_size}')
        self.img_size = img_size
        self.grid_size = img_size // patch_size
        grid = (self.grid_size, self.grid_size)
        self.patch_embed = _PatchEmbed(patch_size, in_chans, embed_dim)
        self.pos_embed = (nn.Parameter(torch.zeros(1, grid[0], grid[1], embed_dim))
                          if use_abs_pos else None)
        global_set = set(global_attn_indexes)
        self.blocks = nn.ModuleList(
            _Block(embed_dim, num_heads, mlp_ratio, 0 if i in global_set else window_size,
                   grid, qkv_bias, use_rel_pos)
            for i in range(depth))
        self.neck = nn.Sequential(
            nn.Conv2d(embed_dim, out_chans, kernel_size=1, bias=False),
            LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_chans),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ``x`` (B, in_chans, S, S); return the embedding (B, out_chans, G, G)."""
        if x.ndim != 4 or x.shape[-2:] != (self.img_size, self.img_size):
            raise ImageFormatError(
                f'the image encoder expects (B, 3, {self.img_size}, {self.img_size}), got '
                f'{tuple(x.shape)}; resize and pad with Sam.preprocess first')
        x = self.patch_embed(x)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.neck(x.permute(0, 3, 1, 2))
