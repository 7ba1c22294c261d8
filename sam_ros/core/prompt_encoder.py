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
SAM's prompt encoder: points, boxes and mask inputs to sparse and dense embeddings.

Coordinates are pixel XY (x right, y down) in the *padded input frame* of side S (the
frame the image encoder sees, 1024 for the official models); boxes are XYXY in the same
frame. Mask inputs are (B, 1, 4G, 4G) logits, G being the embedding grid side.
"""

import math
from typing import Optional, Tuple

from sam_ros.core.common import LayerNorm2d
from sam_ros.core.errors import PromptError
import torch
from torch import nn


__all__ = ['PositionEmbeddingRandom', 'PromptEncoder']


class PositionEmbeddingRandom(nn.Module):
    """
    Random Fourier features of 2-D positions: (..., 2) in [0, 1] -> (..., 2 * num_pos_feats).

    The Gaussian matrix is a persistent buffer (checkpoint key
    ``pe_layer.positional_encoding_gaussian_matrix``): it is loaded, never regenerated.
    The encoding is computed in float32 (autocast off) and returned in the buffer's dtype.
    """

    def __init__(self, num_pos_feats: int = 64, scale: Optional[float] = None) -> None:
        super().__init__()
        scale = 1.0 if scale is None or scale <= 0.0 else scale
        self.register_buffer('positional_encoding_gaussian_matrix',
                             scale * torch.randn((2, num_pos_feats)))

    def _encode(self, coords: torch.Tensor) -> torch.Tensor:
        """Encode ``coords`` (..., 2) normalised to [0, 1]; return (..., 2 * num_pos_feats)."""
        matrix = self.positional_encoding_gaussian_matrix
        with torch.autocast(device_type=coords.device.type, enabled=False):
            coords = 2 * coords.float() - 1
            phase = (2 * math.pi) * (coords @ matrix.float())
            encoding = torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1)
        return encoding.to(matrix.dtype)

    def forward(self, size: Tuple[int, int]) -> torch.Tensor:
        """Encode the cell centres of an (h, w) grid; return (2 * num_pos_feats, h, w)."""
        h, w = size
        device = self.positional_encoding_gaussian_matrix.device
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
        grid = torch.stack([xs[None, :].expand(h, w), ys[:, None].expand(h, w)], dim=-1)
        return self._encode(grid).permute(2, 0, 1)

    def forward_with_coords(self, coords: torch.Tensor,
                            image_size: Tuple[int, int]) -> torch.Tensor:
        """Encode pixel XY ``coords`` (B, N, 2) of an (H, W) frame; return (B, N, C)."""
        x = coords[..., 0].float() / image_size[1]
        y = coords[..., 1].float() / image_size[0]
        return self._encode(torch.stack([x, y], dim=-1))


class PromptEncoder(nn.Module):
    """
    Encode prompts into sparse tokens (B, N, D) and a dense map (B, D, G, G).

    Points get their Fourier encoding plus a learned embedding per label: 1 foreground
    (``point_embeddings[1]``), 0 background (``[0]``), -1 padding (encoding zeroed, plus
    ``not_a_point_embed``). Without a box one padding point is appended. Box corners use
    ``point_embeddings[2]`` (top-left) and ``[3]`` (bottom-right). Sparse order: points,
    then box corners. The dense map is ``no_mask_embed`` everywhere, or the mask input
    passed through ``mask_downscaling`` (stride 4).
    """

    def __init__(self, embed_dim: int = 256, image_embedding_size: Tuple[int, int] = (64, 64),
                 input_image_size: Tuple[int, int] = (1024, 1024),
                 mask_in_chans: int = 16) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.input_image_size = tuple(input_image_size)
        self.image_embedding_size = tuple(image_embedding_size)
        self.mask_input_size = (4 * image_embedding_size[0], 4 * image_embedding_size[1])
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def get_dense_pe(self) -> torch.Tensor:
        """Return the positional encoding of the embedding grid, (1, D, G, G)."""
        return self.pe_layer(self.image_embedding_size).unsqueeze(0)

    def _embed_points(self, coords: torch.Tensor, labels: torch.Tensor,
                      pad: bool) -> torch.Tensor:
        """Embed points (B, N, 2) with labels (B, N); return (B, N + pad, D)."""
        coords = coords + 0.5  # pixel centres
        if pad:
            coords = torch.cat([coords, coords.new_zeros(coords.shape[0], 1, 2)], dim=1)
            labels = torch.cat([labels, labels.new_full((labels.shape[0], 1), -1)], dim=1)
        encoding = self.pe_layer.forward_with_coords(coords, self.input_image_size)
        labels = labels[..., None]
        out = torch.where(labels == -1, self.not_a_point_embed.weight, encoding)
        out = torch.where(labels == 0, encoding + self.point_embeddings[0].weight, out)
        return torch.where(labels == 1, encoding + self.point_embeddings[1].weight, out)

    def _embed_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        """Embed XYXY boxes (B, 4) as two corner tokens; return (B, 2, D)."""
        corners = (boxes + 0.5).reshape(-1, 2, 2)
        encoding = self.pe_layer.forward_with_coords(corners, self.input_image_size)
        top_left = encoding[:, 0] + self.point_embeddings[2].weight
        bottom_right = encoding[:, 1] + self.point_embeddings[3].weight
        return torch.stack([top_left, bottom_right], dim=1)

    def _batch_size(self, points: Optional[Tuple[torch.Tensor, torch.Tensor]],
                    boxes: Optional[torch.Tensor], masks: Optional[torch.Tensor]) -> int:
        """Return the prompt batch size B and check that all prompts agree on it."""
        sizes = []
        if points is not None:
            coords, labels = points
            if coords.ndim != 3 or coords.shape[-1] != 2 or labels.shape != coords.shape[:2]:
                raise PromptError(f'points must be coords (B, N, 2) with labels (B, N), got '
                                  f'{tuple(coords.shape)} and {tuple(labels.shape)}')
            sizes.append(coords.shape[0])
        if boxes is not None:
            if boxes.shape[-1] != 4:
                raise PromptError(f'boxes must be XYXY (B, 4), got {tuple(boxes.shape)}')
            sizes.append(boxes.reshape(-1, 4).shape[0])
        if masks is not None:
            if masks.ndim != 4 or tuple(masks.shape[1:]) != (1, *self.mask_input_size):
                raise PromptError(f'mask input must be (B, 1, {self.mask_input_size[0]}, '
                                  f'{self.mask_input_size[1]}) logits, got {tuple(masks.shape)}')
            sizes.append(masks.shape[0])
        if len(set(sizes)) > 1:
            raise PromptError(f'points, boxes and masks must share the batch size, got {sizes}')
        return sizes[0] if sizes else 1

    def forward(self, points: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
                boxes: Optional[torch.Tensor] = None,
                masks: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Embed a batch of B prompts.

        ``points`` is (coords (B, N, 2) pixel XY, labels (B, N) in {1, 0, -1}); ``boxes``
        (B, 4) XYXY; ``masks`` (B, 1, 4G, 4G) logits. Returns sparse (B, N', D) with
        N' = N + (1 if points and no box) + (2 if box) and dense (B, D, G, G).
        """
        batch = self._batch_size(points, boxes, masks)
        weight = self.no_mask_embed.weight
        parts = [weight.new_zeros(batch, 0, self.embed_dim)]
        if points is not None:
            parts.append(self._embed_points(points[0], points[1], pad=boxes is None))
        if boxes is not None:
            parts.append(self._embed_boxes(boxes))
        sparse = torch.cat(parts, dim=1)
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            dense = weight.reshape(1, -1, 1, 1).expand(batch, -1, *self.image_embedding_size)
        return sparse, dense
