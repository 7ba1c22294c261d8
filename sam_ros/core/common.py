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
Small building blocks shared by the SAM networks.

The module and attribute names reproduce the official checkpoints' state_dict keys
(``lin1``/``lin2`` of the transformer MLPs, ``layers.N`` of the heads).
"""

from typing import Tuple, Type

import torch
from torch import nn
import torch.nn.functional as F


__all__ = ['LayerNorm2d', 'MLP', 'MLPBlock', 'window_partition', 'window_unpartition']


class LayerNorm2d(nn.Module):
    """
    LayerNorm over the channel axis of a ``(B, C, H, W)`` tensor.

    Each pixel's C values are normalised to zero mean and unit (biased) variance, then
    scaled by ``weight`` (C,) and shifted by ``bias`` (C,). ``eps`` is 1e-6 everywhere in
    SAM (neck, mask downscaling, output upscaling).
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` (B, C, H, W) over C; return the same shape and dtype."""
        y = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias,
                         self.eps)
        return y.permute(0, 3, 1, 2)


class MLPBlock(nn.Module):
    """Two-layer perceptron ``lin2(act(lin1(x)))`` on the last axis: (..., D) -> (..., D)."""

    def __init__(self, embedding_dim: int, mlp_dim: int,
                 act: Type[nn.Module] = nn.GELU) -> None:
        super().__init__()
        self.lin1 = nn.Linear(embedding_dim, mlp_dim)
        self.lin2 = nn.Linear(mlp_dim, embedding_dim)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` (..., embedding_dim)."""
        return self.lin2(self.act(self.lin1(x)))


class MLP(nn.Module):
    """
    Perceptron of ``num_layers`` linear layers with ReLU between them (none after the last).

    Maps (..., input_dim) -> (..., output_dim) through hidden width ``hidden_dim``. Used for
    the mask decoder's hypernetworks and IoU head (``layers.0`` ... ``layers.N-1``).
    """

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int,
                 sigmoid_output: bool = False) -> None:
        super().__init__()
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims_in, dims_out))
        self.sigmoid_output = sigmoid_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the perceptron to ``x`` (..., input_dim)."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = F.relu(x)
        if self.sigmoid_output:
            x = torch.sigmoid(x)
        return x


def window_partition(x: torch.Tensor, window: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """
    Cut ``x`` (B, H, W, C) into non-overlapping ``window`` x ``window`` tiles.

    The grid is zero-padded at the bottom and right up to a multiple of ``window`` first
    (the padded tokens take part in attention, as upstream). Returns the tiles
    (B * nH * nW, window, window, C), row-major over tiles, and the padded size (Hp, Wp).
    """
    b, h, w, c = x.shape
    pad_h = (window - h % window) % window
    pad_w = (window - w % window) % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c).transpose(2, 3)
    return x.reshape(-1, window, window, c), (hp, wp)


def window_unpartition(tiles: torch.Tensor, window: int, padded: Tuple[int, int],
                       size: Tuple[int, int]) -> torch.Tensor:
    """
    Reassemble tiles (B * nH * nW, window, window, C) into (B, H, W, C), dropping padding.

    ``padded`` is (Hp, Wp) from :func:`window_partition` and ``size`` the original (H, W).
    """
    hp, wp = padded
    h, w = size
    nh, nw = hp // window, wp // window
    b = tiles.shape[0] // (nh * nw)
    x = tiles.view(b, nh, nw, window, window, -1).transpose(2, 3).reshape(b, hp, wp, -1)
    if hp != h or wp != w:
        x = x[:, :h, :w, :].contiguous()
    return x
