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
Prompt sampling for training the embedded model, as in SAM's interactive training.

Every function works in ORIGINAL frame pixels (x right, y down) on boolean level masks of
shape (H, W), ordered subpart -> part -> whole (two or three levels per object). The
training loop scales the coordinates to the model's input frame. Corrective clicks are
drawn on the low-res logits inside the training step (``sam_ros.training.step``).
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np
from sam_ros.synthetic.prompts import exclusive_regions


@dataclass(frozen=True)
class PointPrompt:
    """One clicked pixel and the levels that contain it (subpart -> whole)."""

    xy: np.ndarray            # (2,) float32 pixel XY
    target_levels: tuple      # indices into the object's level list, ascending area


@dataclass(frozen=True)
class RegionPrompt:
    """A box and/or several labelled points meant to select one level."""

    level: int                # index into the object's level list
    box: Optional[np.ndarray]  # (4,) float32 XYXY or None
    points: np.ndarray        # (K, 2) float32 pixel XY (K may be 0)
    labels: np.ndarray        # (K,) int64, 1 foreground / 0 background


def _pixel_in(mask: np.ndarray, rng: np.random.Generator, interior: bool) -> Optional[np.ndarray]:
    """Return a random pixel centre of ``mask`` as float32 XY, or None if it is empty."""
    if interior:
        dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
        ys, xs = np.nonzero(dist > 0)
        if len(xs) == 0:
            return None
        weights = dist[ys, xs].astype(np.float64)
        idx = rng.choice(len(xs), p=weights / weights.sum())
    else:
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            return None
        idx = rng.integers(len(xs))
    # Pixel indices (as a click reports them) with sub-pixel jitter that rounds back.
    jitter = rng.uniform(-0.45, 0.45, size=2)
    return np.array([xs[idx] + jitter[0], ys[idx] + jitter[1]], dtype=np.float32)


def sample_click(levels: Sequence[np.ndarray], rng: np.random.Generator,
                 subpart_bias: float = 0.4) -> Optional[PointPrompt]:
    """
    Sample one click on an object and the ground-truth levels it selects.

    With probability ``subpart_bias`` the click lands on the innermost level (a subpart
    pixel of a three-level object, the ambiguous case); otherwise on a random exclusive
    region. Targets are every level containing the pixel.
    """
    regions = exclusive_regions(levels)
    nonempty = [i for i, r in enumerate(regions) if r.any()]
    if not nonempty:
        return None
    if nonempty[0] == 0 and rng.random() < subpart_bias:
        region = 0
    else:
        region = int(rng.choice(nonempty))
    xy = _pixel_in(regions[region], rng, interior=rng.random() < 0.3)
    if xy is None:
        return None
    xi, yi = int(np.rint(xy[0])), int(np.rint(xy[1]))
    targets = tuple(i for i, m in enumerate(levels) if m[yi, xi])
    return PointPrompt(xy=xy, target_levels=targets)


def tight_box(mask: np.ndarray) -> np.ndarray:
    """Return the XYXY box (pixel edges, float32) around a non-empty mask."""
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float32)


def jittered_box(mask: np.ndarray, rng: np.random.Generator, frac: float) -> np.ndarray:
    """Return the tight box with each edge moved by up to ``frac`` of the box size."""
    box = tight_box(mask)
    size = np.array([box[2] - box[0], box[3] - box[1]] * 2, dtype=np.float32)
    box = box + rng.uniform(-frac, frac, size=4).astype(np.float32) * size
    h, w = mask.shape
    box[[0, 2]] = np.clip(box[[0, 2]], 0, w)
    box[[1, 3]] = np.clip(box[[1, 3]], 0, h)
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        return tight_box(mask)
    return box


def _negative_point(levels: Sequence[np.ndarray], level: int,
                    rng: np.random.Generator) -> Optional[np.ndarray]:
    """Sample a background click: inside the parent level, or near the target's box."""
    target = levels[level]
    if level + 1 < len(levels) and rng.random() < 0.5:
        xy = _pixel_in(levels[level + 1] & ~target, rng, interior=False)
        if xy is not None:
            return xy
    x0, y0, x1, y1 = tight_box(target).astype(int)
    h, w = target.shape
    pad_x, pad_y = max(4, (x1 - x0) // 3), max(4, (y1 - y0) // 3)
    ring = np.zeros_like(target)
    ring[max(0, y0 - pad_y):min(h, y1 + pad_y), max(0, x0 - pad_x):min(w, x1 + pad_x)] = True
    return _pixel_in(ring & ~target, rng, interior=False)


def sample_region_prompt(levels: Sequence[np.ndarray], rng: np.random.Generator,
                         kind: str) -> Optional[RegionPrompt]:
    """
    Sample an unambiguous prompt for one random level of an object.

    ``kind`` is 'box' (tight box jittered by up to 5-10% of its size) or 'points'
    (2-3 foreground clicks in the level and one background click outside it).
    """
    nonempty = [i for i, m in enumerate(levels) if m.sum() >= 4]
    if not nonempty:
        return None
    level = int(rng.choice(nonempty))
    target = levels[level]
    if kind == 'box':
        frac = 0.05 if rng.random() < 0.7 else 0.1
        return RegionPrompt(level, jittered_box(target, rng, frac),
                            np.zeros((0, 2), np.float32), np.zeros((0,), np.int64))
    points = [_pixel_in(target, rng, interior=False) for _ in range(int(rng.integers(2, 4)))]
    negative = _negative_point(levels, level, rng)
    labels = [1] * len(points)
    if negative is not None:
        points.append(negative)
        labels.append(0)
    return RegionPrompt(level, None, np.stack(points).astype(np.float32),
                        np.array(labels, dtype=np.int64))
