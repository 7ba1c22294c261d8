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
Helpers of the automatic mask generator: point grids, crop boxes, box NMS, RLE.

Conventions follow upstream SAM's automatic mask generator, so that records and
parameters carry over: point grids are normalised XY in [0, 1] (cell centres of an
n x n grid, x varying fastest); crop boxes and mask boxes are XYXY pixels, where a mask
box holds the inclusive indices of its first and last columns and rows (an empty mask
gets [0, 0, 0, 0]) and an XYWH box is ``[x0, y0, x1 - x0, y1 - y0]``. The box NMS
measures IoU on these boxes with area ``(x1 - x0) * (y1 - y0)``, as torchvision's
``nms`` does; it is written with torch ops (no torchvision).
"""

import math
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch

__all__ = [
    'box_nms',
    'build_point_grid',
    'crop_boxes',
    'layer_point_grids',
    'mask_boxes_xyxy',
    'mask_to_uncompressed_rle',
    'near_crop_edge',
    'uncompressed_rle_to_mask',
    'xyxy_to_xywh',
]


def build_point_grid(n_per_side: int) -> np.ndarray:
    """Return an (n * n, 2) float64 grid of normalised XY cell centres, x fastest."""
    if int(n_per_side) < 1:
        raise ValueError(f'points per side must be >= 1, got {n_per_side}')
    n = int(n_per_side)
    offset = 1.0 / (2 * n)
    side = np.linspace(offset, 1 - offset, n)
    xs = np.tile(side[None, :], (n, 1))
    ys = np.tile(side[:, None], (1, n))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def layer_point_grids(n_per_side: int, n_layers: int, scale_per_layer: int) -> List[np.ndarray]:
    """Return one grid per crop layer 0..n_layers, layer i with n / scale**i per side."""
    return [build_point_grid(int(n_per_side / (scale_per_layer ** i)))
            for i in range(n_layers + 1)]


def crop_boxes(size: Tuple[int, int], n_layers: int,
               overlap_ratio: float) -> Tuple[List[List[int]], List[int]]:
    """
    Return the XYXY crop boxes of an image of ``size`` (H, W) and each box's layer.

    Layer 0 is the whole image; layer i (1..n_layers) tiles it with 2**i x 2**i crops
    that overlap by ``overlap_ratio`` of the short side scaled by 2 / 2**i.
    """
    height, width = size
    boxes, layers = [[0, 0, width, height]], [0]
    short = min(height, width)
    for layer in range(1, n_layers + 1):
        per_side = 2 ** layer
        overlap = int(overlap_ratio * short * (2 / per_side))
        crop_w = int(math.ceil((overlap * (per_side - 1) + width) / per_side))
        crop_h = int(math.ceil((overlap * (per_side - 1) + height) / per_side))
        x0s = [int((crop_w - overlap) * i) for i in range(per_side)]
        y0s = [int((crop_h - overlap) * i) for i in range(per_side)]
        for x0 in x0s:
            for y0 in y0s:
                boxes.append([x0, y0, min(x0 + crop_w, width), min(y0 + crop_h, height)])
                layers.append(layer)
    return boxes, layers


def mask_boxes_xyxy(masks: torch.Tensor) -> torch.Tensor:
    """Return the inclusive XYXY box (N, 4) int64 of bool masks (N, H, W); empty -> 0s."""
    if masks.numel() == 0:
        return torch.zeros((masks.shape[0], 4), dtype=torch.int64)
    height, width = masks.shape[-2:]
    rows = masks.any(dim=-1)
    cols = masks.any(dim=-2)
    row_idx = torch.arange(height, device=masks.device)
    col_idx = torch.arange(width, device=masks.device)
    y1 = torch.where(rows, row_idx, -1).max(dim=-1).values
    y0 = torch.where(rows, row_idx, height).min(dim=-1).values
    x1 = torch.where(cols, col_idx, -1).max(dim=-1).values
    x0 = torch.where(cols, col_idx, width).min(dim=-1).values
    boxes = torch.stack([x0, y0, x1, y1], dim=-1)
    empty = ~rows.any(dim=-1)
    return torch.where(empty[:, None], torch.zeros_like(boxes), boxes).to(torch.int64)


def xyxy_to_xywh(box: Sequence[float]) -> List:
    """Return an XYXY box as ``[x0, y0, x1 - x0, y1 - y0]`` (upstream's record bbox)."""
    x0, y0, x1, y1 = box
    return [x0, y0, x1 - x0, y1 - y0]


def box_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """
    Greedy non-maximum suppression of XYXY ``boxes`` (N, 4) by ``scores`` (N,).

    Visits boxes by score, highest first (ties keep index order), and drops every later
    box whose IoU with a kept one is above ``iou_threshold``. Returns the kept indices
    (int64, highest score first). Zero-area pairs have IoU 0.
    """
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64)
    order = torch.sort(scores.float(), descending=True, stable=True).indices
    b = boxes[order].float()
    area = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    top_left = torch.maximum(b[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(b[:, None, 2:], b[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area[:, None] + area[None, :] - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))
    over = (iou > iou_threshold).numpy()
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= over[i]
    return order[torch.as_tensor(keep, dtype=torch.int64)]


def near_crop_edge(boxes: torch.Tensor, crop_box: Sequence[int], image_box: Sequence[int],
                   atol: float = 20.0) -> torch.Tensor:
    """
    Return (N,) bool: the box touches an edge of ``crop_box`` that is not the image's.

    ``boxes`` (N, 4) XYXY are in the crop's frame; ``crop_box`` and ``image_box`` XYXY
    in the image's. A mask cut by a crop edge inside the image is partial: drop it.
    """
    crop = torch.as_tensor(crop_box, dtype=torch.float32)
    image = torch.as_tensor(image_box, dtype=torch.float32)
    shifted = boxes.float() + torch.stack([crop[0], crop[1], crop[0], crop[1]])
    at_crop = torch.isclose(shifted, crop[None], atol=atol, rtol=0)
    at_image = torch.isclose(shifted, image[None], atol=atol, rtol=0)
    return torch.any(at_crop & ~at_image, dim=1)


def mask_to_uncompressed_rle(mask: np.ndarray) -> Dict[str, Any]:
    """
    Encode an (H, W) bool mask as upstream's uncompressed RLE (column-major runs).

    Returns ``{'size': [H, W], 'counts': [...]}``; counts alternate runs of 0 and 1,
    starting with 0 (a leading 0 when the first pixel is set), COCO's order.
    """
    flat = np.asarray(mask, dtype=bool).T.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(edges).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {'size': [int(mask.shape[0]), int(mask.shape[1])], 'counts': counts}


def uncompressed_rle_to_mask(rle: Dict[str, Any]) -> np.ndarray:
    """Decode :func:`mask_to_uncompressed_rle` output back to an (H, W) bool mask."""
    height, width = rle['size']
    flat = np.zeros(height * width, dtype=bool)
    position, value = 0, False
    for count in rle['counts']:
        flat[position:position + count] = value
        position += count
        value = not value
    return flat.reshape(width, height).T
