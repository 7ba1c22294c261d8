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
Prompt samplers and point ground truth for training and evaluation.

Conventions: masks are (H, W) bool; points are pixel XY (x right, y down) as float32
with integer values (the clicked pixel's column and row); boxes are XYXY float32 with
inclusive pixel bounds, so the tight box of a one-pixel mask at (x, y) is (x, y, x, y).
Level lists are ordered subpart -> part -> whole. Empty masks raise ValueError.
"""

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from sam_ros.synthetic.world import Scene


def _bounds(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """Return inclusive (x0, y0, x1, y1) of a non-empty mask, or raise ValueError."""
    x, y, w, h = cv2.boundingRect(np.asarray(mask, bool).view(np.uint8))
    if w == 0:
        raise ValueError('the mask is empty; pass a mask with at least one True pixel')
    return x, y, x + w - 1, y + h - 1


def _pick(weights: np.ndarray, rng: np.random.Generator) -> Tuple[int, int]:
    """Draw one (row, col) of a 2-D array with probability proportional to its weights."""
    cum = np.cumsum(weights, dtype=np.float64).ravel()
    i = int(np.searchsorted(cum, rng.random() * cum[-1], side='right'))
    return divmod(min(i, cum.size - 1), weights.shape[1])


def sample_point(mask: np.ndarray, rng: np.random.Generator, interior: bool = True
                 ) -> np.ndarray:
    """
    Draw one pixel of a (H, W) bool mask and return it as (2,) float32 pixel XY.

    With ``interior`` the pixels are weighted by their distance to the mask's edge (L2
    distance transform), so clicks favour the inside but can land anywhere; without it
    they are uniform.

    """
    x0, y0, x1, y1 = _bounds(mask)
    crop = mask[y0:y1 + 1, x0:x1 + 1]
    if interior:
        padded = np.pad(crop.view(np.uint8), 1)
        weights = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
    else:
        weights = crop.astype(np.float32)
    row, col = _pick(weights, rng)
    return np.array([x0 + col, y0 + row], np.float32)


def _pixel(xy: Sequence[float], shape: Tuple[int, int]) -> Tuple[int, int]:
    """Return the (row, col) a pixel XY falls on, or raise ValueError outside the frame."""
    col, row = int(np.floor(float(xy[0]) + 0.5)), int(np.floor(float(xy[1]) + 0.5))
    if not (0 <= row < shape[0] and 0 <= col < shape[1]):
        raise ValueError(f'point {tuple(xy)} lies outside the {shape[1]}x{shape[0]} frame; '
                         'pass pixel XY inside the image')
    return row, col


def object_at(scene: Scene, xy: Sequence[float]) -> Optional[int]:
    """Return the index of the object visible at pixel XY, or None on background."""
    row, col = _pixel(xy, scene.label_map.shape)
    label = int(scene.label_map[row, col])
    return label - 1 if label else None


def point_ground_truth(scene: Scene, obj_index: int, xy: Sequence[float]) -> List[np.ndarray]:
    """
    Return the visible levels of an object that contain pixel XY, subpart -> whole.

    On a subpart pixel that is [subpart, part, whole], on a part-only pixel [part, whole],
    on a whole-only pixel [whole], and [] where the object is not visible.
    """
    row, col = _pixel(xy, scene.label_map.shape)
    return [m for m in scene.objects[obj_index].levels if m[row, col]]


def exclusive_regions(levels: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Return, per level, the pixels whose smallest containing level it is (same order)."""
    out, inner = [], None
    for mask in levels:
        out.append(mask.copy() if inner is None else mask & ~inner)
        inner = mask
    return out


def tight_box(mask: np.ndarray) -> np.ndarray:
    """Return the (4,) float32 XYXY inclusive pixel bounds of a non-empty (H, W) mask."""
    return np.array(_bounds(mask), np.float32)


def jitter_box(box: np.ndarray, rng: np.random.Generator, frac: float = 0.05,
               size_hw: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """
    Move each side of an XYXY box by up to +-``frac`` of the box's size along its axis.

    The size is the inclusive pixel span (x1 - x0 + 1, y1 - y0 + 1); offsets are uniform.
    With ``size_hw`` = (H, W) the result is clipped to the frame's pixel bounds.
    Returns (4,) float32 XYXY.

    """
    box = np.asarray(box, np.float64)
    span = np.array([box[2] - box[0] + 1.0, box[3] - box[1] + 1.0])
    out = box + rng.uniform(-frac, frac, 4) * np.tile(span, 2)
    if size_hw is not None:
        out = np.clip(out, 0.0, np.tile([size_hw[1] - 1.0, size_hw[0] - 1.0], 2))
    return out.astype(np.float32)


def _ring(mask: np.ndarray, width: int) -> np.ndarray:
    """Return the pixels outside ``mask`` within ``width`` px of it, (H, W) bool."""
    x0, y0, x1, y1 = _bounds(mask)
    h, w = mask.shape
    ya, yb, xa, xb = max(0, y0 - width), min(h, y1 + width + 1), max(0, x0 - width), \
        min(w, x1 + width + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    grown = cv2.dilate(mask[ya:yb, xa:xb].view(np.uint8), kernel).view(bool)
    ring = np.zeros_like(mask)
    ring[ya:yb, xa:xb] = grown & ~mask[ya:yb, xa:xb]
    return ring


def multi_point_prompt(mask: np.ndarray, rng: np.random.Generator,
                       n_pos: Optional[int] = None, n_neg: int = 1,
                       child: Optional[np.ndarray] = None,
                       parent: Optional[np.ndarray] = None
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """
    Draw positive points inside a level and negative points just outside it.

    Positives are interior-weighted pixels of ``mask``; when ``child`` (the next smaller
    level) is given, the first positive avoids it, so the points do not also describe
    the child. Negatives are uniform in a ring around the mask, 10% of its size wide (at
    least 3 px), inside ``parent`` (the next larger level) where possible; with no ring
    pixels they come from anywhere outside the mask, and none are drawn if the mask
    fills the frame. ``mask`` is the (H, W) bool target level; ``n_pos`` None draws 2
    or 3 positives. Returns coords (K, 2) float32 pixel XY, positives first, and labels
    (K,) int64 (1 positive, 0 negative).

    """
    if n_pos is None:
        n_pos = int(rng.integers(2, 4))
    points = []
    first = mask & ~child if child is not None else mask
    for i in range(n_pos):
        source = first if i == 0 and first.any() else mask
        points.append(sample_point(source, rng))
    x0, y0, x1, y1 = _bounds(mask)
    ring = _ring(mask, max(3, int(round(0.1 * max(x1 - x0 + 1, y1 - y0 + 1)))))
    if parent is not None and (ring & parent).any():
        ring &= parent
    if not ring.any():
        ring = ~mask
    negatives = [sample_point(ring, rng, interior=False) for _ in range(n_neg) if ring.any()]
    coords = np.array(points + negatives, np.float32).reshape(-1, 2)
    labels = np.array([1] * len(points) + [0] * len(negatives), np.int64)
    return coords, labels


def corrective_point(pred_mask: np.ndarray, gt_mask: np.ndarray, rng: np.random.Generator,
                     interior: bool = False) -> Optional[Tuple[np.ndarray, int]]:
    """
    Draw the next click of interactive training from the larger error region.

    As in SAM's interactive training: false negatives (in ``gt_mask``, not predicted)
    give a positive click, false positives a negative one; the region with more pixels
    is used and the point is uniform in it (or interior-weighted). Masks are (H, W)
    bool. Returns ((2,) float32 pixel XY, label 1 or 0), or None for an exact mask.

    """
    missed = gt_mask & ~pred_mask
    extra = pred_mask & ~gt_mask
    n_missed, n_extra = int(np.count_nonzero(missed)), int(np.count_nonzero(extra))
    if n_missed == 0 and n_extra == 0:
        return None
    if n_missed >= n_extra:
        return sample_point(missed, rng, interior), 1
    return sample_point(extra, rng, interior), 0
