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
TinyViT image encoder (MobileSAM's vit_t, and the embedded model).

Layout (official vit_t in brackets): a two-conv patch embedding of stride 4
[1024 -> 256x256], stage 0 of MBConv blocks, then stages of windowed-attention blocks;
every stage but the last ends in a PatchMerging with its own stride [2, 2, 1], giving the
output grid G [64]. A neck maps the last width to ``out_chans`` [256]:
(B, 3, S, S) -> (B, out_chans, G, G).

Unlike upstream, the grid is computed from ``img_size`` and ``downsample_strides``, and
the attention-bias table is gathered on every forward pass, so it can never be stale
after ``load_state_dict``.
"""

import math
from typing import List, Optional, Sequence, Tuple

from sam_ros.core.common import LayerNorm2d, window_partition, window_unpartition
from sam_ros.core.errors import ImageFormatError
import torch
from torch import nn
import torch.nn.functional as F


__all__ = ['TinyViT']


class _ConvBN(nn.Sequential):
    """Bias-free convolution ``c`` followed by BatchNorm ``bn`` (keys ``.c`` / ``.bn``)."""

    def __init__(self, in_chans: int, out_chans: int, kernel: int = 1, stride: int = 1,
                 padding: int = 0, groups: int = 1, bn_weight_init: float = 1.0) -> None:
        super().__init__()
        self.add_module('c', nn.Conv2d(in_chans, out_chans, kernel, stride, padding,
                                       groups=groups, bias=False))
        bn = nn.BatchNorm2d(out_chans)
        nn.init.constant_(bn.weight, bn_weight_init)
        nn.init.zeros_(bn.bias)
        self.add_module('bn', bn)


class _PatchEmbed(nn.Module):
    """Two 3x3 stride-2 convolutions: (B, 3, S, S) -> (B, C, ceil(S/4), ceil(S/4))."""

    def __init__(self, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(
            _ConvBN(in_chans, embed_dim // 2, 3, 2, 1),
            nn.GELU(),
            _ConvBN(embed_dim // 2, embed_dim, 3, 2, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed ``x`` (B, 3, S, S)."""
        return self.seq(x)


class _MBConv(nn.Module):
    """Inverted residual block (1x1 expand, 3x3 depthwise, 1x1 project) on (B, C, H, W)."""

    def __init__(self, dim: int, expand_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * expand_ratio)
        self.conv1 = _ConvBN(dim, hidden)
        self.act1 = nn.GELU()
        self.conv2 = _ConvBN(hidden, hidden, 3, 1, 1, groups=hidden)
        self.act2 = nn.GELU()
        self.conv3 = _ConvBN(hidden, dim, bn_weight_init=0.0)
        self.act3 = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block; same shape out."""
        y = self.act2(self.conv2(self.act1(self.conv1(x))))
        return self.act3(self.conv3(y) + x)


class _PatchMerging(nn.Module):
    """1x1 conv, 3x3 depthwise conv (stride ``stride``), 1x1 conv on (B, C, H, W)."""

    def __init__(self, dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.act = nn.GELU()
        self.conv1 = _ConvBN(dim, out_dim)
        self.conv2 = _ConvBN(out_dim, out_dim, 3, stride, 1, groups=out_dim)
        self.conv3 = _ConvBN(out_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Merge patches; H' = ceil(H / stride)."""
        return self.conv3(self.act(self.conv2(self.act(self.conv1(x)))))


class _Attention(nn.Module):
    """
    Self-attention inside a window of ``resolution`` tokens with learned position biases.

    One bias per head and per absolute offset (|dy|, |dx|): ``attention_biases`` has shape
    (heads, Rh * Rw), ``attention_bias_idxs`` (N, N) maps token pairs to offsets.
    """

    def __init__(self, dim: int, key_dim: int, num_heads: int, attn_ratio: float,
                 resolution: Tuple[int, int]) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = int(attn_ratio * key_dim)
        self.scale = key_dim ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, num_heads * (2 * key_dim + self.value_dim))
        self.proj = nn.Linear(num_heads * self.value_dim, dim)
        rows, cols = resolution
        ys = torch.arange(rows).repeat_interleave(cols)
        xs = torch.arange(cols).repeat(rows)
        index = ((ys[:, None] - ys[None, :]).abs() * cols + (xs[:, None] - xs[None, :]).abs())
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, rows * cols))
        self.register_buffer('attention_bias_idxs', index, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend within each window ``x`` (B', N, C); return (B', N, C)."""
        b, n, _ = x.shape
        qkv = self.qkv(self.norm(x)).view(b, n, self.num_heads, -1)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.value_dim], dim=3)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        # A 4-D (1, heads, N, N) mask lets SDPA take its fused CPU path; a 3-D one does
        # not (vit_t encoder 0.58 -> 0.48 s on the 2-core development machine).
        bias = self.attention_biases[:, self.attention_bias_idxs][None]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype),
                                             scale=self.scale)
        return self.proj(out.transpose(1, 2).reshape(b, n, -1))


class _Mlp(nn.Module):
    """LayerNorm then two linear layers with GELU: (..., C) -> (..., C)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the MLP."""
        return self.fc2(self.act(self.fc1(self.norm(x))))


class _TinyViTBlock(nn.Module):
    """Windowed attention, depthwise local conv, MLP; on a (B, H, W, C) grid."""

    def __init__(self, dim: int, num_heads: int, window_size: int, mlp_ratio: float,
                 local_conv_size: int) -> None:
        super().__init__()
        self.window_size = window_size
        head_dim = dim // num_heads
        self.attn = _Attention(dim, head_dim, num_heads, 1.0, (window_size, window_size))
        self.mlp = _Mlp(dim, int(dim * mlp_ratio))
        self.local_conv = _ConvBN(dim, dim, local_conv_size, 1, local_conv_size // 2,
                                  groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Transform ``x`` (B, H, W, C)."""
        b, h, w, c = x.shape
        tiles, padded = window_partition(x, self.window_size)
        tokens = self.attn(tiles.reshape(tiles.shape[0], -1, c))
        tiles = tokens.view(-1, self.window_size, self.window_size, c)
        x = x + window_unpartition(tiles, self.window_size, padded, (h, w))
        x = self.local_conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x + self.mlp(x)


class _ConvStage(nn.Module):
    """Stage of MBConv blocks, then an optional PatchMerging; (B, C, H, W) in and out."""

    def __init__(self, dim: int, depth: int, expand_ratio: float,
                 downsample: Optional[_PatchMerging]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_MBConv(dim, expand_ratio) for _ in range(depth))
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the stage."""
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)


class _AttnStage(nn.Module):
    """Stage of TinyViT blocks, then an optional PatchMerging; (B, C, H, W) in and out."""

    def __init__(self, dim: int, depth: int, num_heads: int, window_size: int,
                 mlp_ratio: float, local_conv_size: int,
                 downsample: Optional[_PatchMerging]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            _TinyViTBlock(dim, num_heads, window_size, mlp_ratio, local_conv_size)
            for _ in range(depth))
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the stage."""
        x = x.permute(0, 2, 3, 1)
        for block in self.blocks:
            x = block(x)
        x = x.permute(0, 3, 1, 2)
        return x if self.downsample is None else self.downsample(x)


class TinyViT(nn.Module):
    """
    TinyViT encoder: (B, in_chans, S, S) normalised image -> (B, out_chans, G, G).

    ``embed_dims``, ``depths``, ``num_heads`` and ``window_sizes`` have one entry per stage
    (stage 0 is convolutional: its heads and window are unused); ``downsample_strides`` has
    one entry per stage but the last. G = ceil(S / 4) reduced by each stride (ceil).
    ``num_classes`` > 0 adds the unused classifier ``norm_head`` / ``head`` that
    MobileSAM's checkpoint carries; it never takes part in ``forward``.
    """

    def __init__(self, img_size: int = 1024, in_chans: int = 3,
                 embed_dims: Sequence[int] = (64, 128, 160, 320),
                 depths: Sequence[int] = (2, 2, 6, 2),
                 num_heads: Sequence[int] = (2, 4, 5, 10),
                 window_sizes: Sequence[int] = (7, 7, 14, 7),
                 downsample_strides: Sequence[int] = (2, 2, 1),
                 mlp_ratio: float = 4.0, mbconv_expand_ratio: float = 4.0,
                 local_conv_size: int = 3, out_chans: int = 256, num_classes: int = 0) -> None:
        super().__init__()
        stages = len(depths)
        if not (len(embed_dims) == len(num_heads) == len(window_sizes) == stages
                and len(downsample_strides) == stages - 1 and stages >= 1):
            raise ValueError('embed_dims, depths, num_heads and window_sizes need one entry '
                             'per stage and downsample_strides one per stage but the last')
        self.img_size = img_size
        self.embed_dims = tuple(embed_dims)
        #: Token-grid side at the input of every stage; the last stage keeps its grid.
        self.stage_grids = self._stage_grids(img_size, downsample_strides)
        self.grid_size = self.stage_grids[-1]
        self.patch_embed = _PatchEmbed(in_chans, embed_dims[0])
        self.layers = nn.ModuleList()
        for i in range(stages):
            merge = None
            if i < stages - 1:
                merge = _PatchMerging(embed_dims[i], embed_dims[i + 1], downsample_strides[i])
            if i == 0:
                stage = _ConvStage(embed_dims[0], depths[0], mbconv_expand_ratio, merge)
            else:
                stage = _AttnStage(embed_dims[i], depths[i], num_heads[i], window_sizes[i],
                                   mlp_ratio, local_conv_size, merge)
            self.layers.append(stage)
        if num_classes > 0:
            self.norm_head = nn.LayerNorm(embed_dims[-1])
            self.head = nn.Linear(embed_dims[-1], num_classes)
        self.neck = nn.Sequential(
            nn.Conv2d(embed_dims[-1], out_chans, kernel_size=1, bias=False),
            LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_chans),
        )
        self._init_linear_and_norms()

    @staticmethod
    def _stage_grids(img_size: int, strides: Sequence[int]) -> List[int]:
        """Return each stage's input grid side, then the output grid side (ceil per stride)."""
        grids = [math.ceil(math.ceil(img_size / 2) / 2)]
        for stride in strides:
            grids.append(math.ceil(grids[-1] / stride))
        return grids

    def _init_linear_and_norms(self) -> None:
        """Initialise linear layers (normal folded into +-2 std, std 0.02), LayerNorms (1, 0)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                with torch.no_grad():  # much faster than nn.init.trunc_normal_ on the CPU
                    module.weight.normal_().fmod_(2.0).mul_(0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ``x`` (B, in_chans, S, S); return the embedding (B, out_chans, G, G)."""
        if x.ndim != 4 or x.shape[-2:] != (self.img_size, self.img_size):
            raise ImageFormatError(
                f'the image encoder expects (B, 3, {self.img_size}, {self.img_size}), got '
                f'{tuple(x.shape)}; resize and pad with Sam.preprocess first')
        x = self.patch_embed(x)
        for stage in self.layers:
            x = stage(x)
        return self.neck(x)
