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
Evaluation measures of a promptable segmenter on synthetic scenes.

The segmenter is any callable ``predict(image, point_coords, point_labels, box, mode)``:

* image: (H, W, 3) uint8 RGB, the scene's own array (calls for one scene come one after
  another with the same object, so an adapter can keep the embedding while
  ``image is last_image``);
* point_coords: (K, 2) float32 pixel XY or None; point_labels: (K,) int64 1 / 0 or None;
* box: (4,) float32 XYXY inclusive pixel bounds or None;
* mode: 'multi' (expects 3 masks) or 'single' (expects 1);
* returns masks (C, H, W) bool and predicted IoUs (C,) float.

Measures (each averaged over prompts; levels with fewer than ``min_area`` visible pixels
are never prompted):

* hierarchy mIoU: one click on a subpart pixel of a 3-level object; the 3 masks sorted by
  area against subpart, part, whole; the mean of the three IoUs.
* oracle mIoU: one click on an object (a region subpart / part-only / whole-only drawn
  uniformly among those present, then an interior-weighted pixel in it); for each level
  containing the pixel, the best IoU among the 3 masks; their mean.
* selected mIoU: the same click; the mask with the highest predicted IoU against its
  best-matching valid level.
* box mIoU: single mask from the tight box of a random level, each side jittered by up to
  5% of the box's size.
* multi-point mIoU: single mask from 2-3 positive points and 1 negative on a random level
  (see ``prompts.multi_point_prompt``).
* IoU calibration: Pearson r of predicted against true IoU over every mask returned above;
  a mask's true IoU is its IoU with the best-matching valid level for its prompt.
"""

from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from sam_ros.synthetic.prompts import (exclusive_regions, jitter_box, multi_point_prompt,
                                       object_at, point_ground_truth, sample_point,
                                       tight_box)
from sam_ros.synthetic.world import Scene

Predict = Callable[[np.ndarray, Optional[np.ndarray], Optional[np.ndarray],
                    Optional[np.ndarray], str], Tuple[np.ndarray, np.ndarray]]

MEASURES = ('hierarchy_miou', 'oracle_miou', 'selected_miou', 'box_miou', 'multipoint_miou',
            'iou_calibration_r')
TARGETS = {'hierarchy_miou': 0.85, 'oracle_miou': 0.90, 'selected_miou': 0.85,
           'box_miou': 0.90, 'multipoint_miou': 0.85, 'iou_calibration_r': 0.70}
_LABELS = {'hierarchy_miou': 'hierarchy mIoU', 'oracle_miou': 'oracle mIoU',
           'selected_miou': 'selected mIoU', 'box_miou': 'box mIoU',
           'multipoint_miou': 'multi-point mIoU', 'iou_calibration_r': 'IoU calibration r'}


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Return the IoU of two (H, W) bool masks; two empty masks give 1.0."""
    union = int(np.count_nonzero(a | b))
    return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union


def _best(mask: np.ndarray, valid: Sequence[np.ndarray]) -> float:
    """Return the IoU of ``mask`` with the best-matching of the valid levels."""
    return max(mask_iou(mask, level) for level in valid)


def _call(predict: Predict, image: np.ndarray, coords: Optional[np.ndarray],
          labels: Optional[np.ndarray], box: Optional[np.ndarray], mode: str
          ) -> Tuple[np.ndarray, np.ndarray]:
    """Call the segmenter and check the shapes it returns."""
    masks, ious = predict(image, coords, labels, box, mode)
    masks, ious = np.asarray(masks, bool), np.asarray(ious, np.float64).reshape(-1)
    want = 3 if mode == 'multi' else 1
    if masks.shape != (want,) + image.shape[:2] or ious.shape != (want,):
        raise ValueError(f'predict returned masks {masks.shape} and ious {ious.shape} in '
                         f'{mode!r} mode; return ({want}, H, W) bool masks and ({want},) ious')
    return masks, ious


def _pearson(pairs: List[Tuple[float, float]]) -> float:
    """Return Pearson r of (predicted, true) pairs, NaN when undefined."""
    if len(pairs) < 2:
        return float('nan')
    arr = np.array(pairs, np.float64)
    if arr[:, 0].std() == 0 or arr[:, 1].std() == 0:
        return float('nan')
    return float(np.corrcoef(arr[:, 0], arr[:, 1])[0, 1])


def _mean(values: List[float]) -> float:
    """Return the mean, NaN for no values."""
    return float(np.mean(values)) if values else float('nan')


def evaluate(predict: Predict, scenes: Sequence[Scene], seed: int = 0, min_area: int = 16
             ) -> Dict[str, float]:
    """
    Run every measure over the scenes, one prompt of each kind per object.

    ``predict`` is the segmenter (see the module docstring), ``scenes`` e.g.
    ``[SceneGenerator(s).scene(i) for i in range(n)]``; ``seed`` seeds the prompt
    sampling so runs repeat, and levels with fewer than ``min_area`` visible pixels are
    not prompted. Returns the measures of ``MEASURES``, the per-level hierarchy IoUs
    ('hierarchy_subpart', 'hierarchy_part', 'hierarchy_whole') and the prompt counts
    ('n_hierarchy', 'n_click', 'n_box', 'n_multipoint', 'n_masks'); NaN where nothing
    was measured.

    """
    rng = np.random.default_rng(seed)
    hier: List[np.ndarray] = []
    oracle, selected, boxes, multi = [], [], [], []
    pairs: List[Tuple[float, float]] = []
    for scene in scenes:
        image = scene.image
        for index, obj in enumerate(scene.objects):
            areas = [int(np.count_nonzero(m)) for m in obj.levels]
            ok = [i for i, a in enumerate(areas) if a >= min_area]
            if not ok:
                continue
            if obj.num_levels == 3 and len(ok) == 3:
                xy = sample_point(obj.levels[0], rng)
                masks, ious = _call(predict, image, xy[None], np.ones(1, np.int64), None, 'multi')
                order = np.argsort([np.count_nonzero(m) for m in masks], kind='stable')
                hier.append(np.array([mask_iou(masks[j], lv) for j, lv in zip(order, obj.levels)]))
                pairs += [(ious[j], _best(masks[j], obj.levels)) for j in range(3)]
            regions = [r for r in exclusive_regions(obj.levels) if r.any()]
            xy = sample_point(regions[int(rng.integers(len(regions)))], rng)
            valid = point_ground_truth(scene, index, xy)
            masks, ious = _call(predict, image, xy[None], np.ones(1, np.int64), None, 'multi')
            oracle.append(_mean([max(mask_iou(m, lv) for m in masks) for lv in valid]))
            selected.append(_best(masks[int(np.argmax(ious))], valid))
            pairs += [(ious[j], _best(masks[j], valid)) for j in range(3)]

            level = ok[int(rng.integers(len(ok)))]
            box = jitter_box(tight_box(obj.levels[level]), rng, 0.05, image.shape[:2])
            masks, ious = _call(predict, image, None, None, box, 'single')
            boxes.append(mask_iou(masks[0], obj.levels[level]))
            pairs.append((ious[0], boxes[-1]))

            level = ok[int(rng.integers(len(ok)))]
            child = obj.levels[level - 1] if level > 0 else None
            parent = obj.levels[level + 1] if level + 1 < obj.num_levels else None
            coords, labels = multi_point_prompt(obj.levels[level], rng, child=child,
                                                parent=parent)
            masks, ious = _call(predict, image, coords, labels, None, 'single')
            multi.append(mask_iou(masks[0], obj.levels[level]))
            pairs.append((ious[0], multi[-1]))
    per_level = np.array(hier).reshape(-1, 3)
    return {
        'hierarchy_miou': _mean(per_level.mean(axis=1).tolist()),
        'oracle_miou': _mean(oracle), 'selected_miou': _mean(selected),
        'box_miou': _mean(boxes), 'multipoint_miou': _mean(multi),
        'iou_calibration_r': _pearson(pairs),
        'hierarchy_subpart': _mean(per_level[:, 0].tolist()),
        'hierarchy_part': _mean(per_level[:, 1].tolist()),
        'hierarchy_whole': _mean(per_level[:, 2].tolist()),
        'n_hierarchy': len(per_level), 'n_click': len(oracle), 'n_box': len(boxes),
        'n_multipoint': len(multi), 'n_masks': len(pairs),
    }


def format_table(results: Mapping[str, Mapping[str, float]],
                 targets: Mapping[str, float] = TARGETS) -> str:
    """
    Format results as a markdown table: one row per measure, one column per run.

    ``results`` maps a column title (e.g. '640x480') to what ``evaluate`` returned;
    ``targets`` maps a measure to the value it must reach, and a miss gets a cross.

    """
    titles = list(results)
    lines = ['| measure | target | ' + ' | '.join(titles) + ' |',
             '|---|---|' + '---|' * len(titles)]
    for key in MEASURES:
        cells = []
        for title in titles:
            value = float(results[title].get(key, float('nan')))
            miss = key in targets and not value >= targets[key]
            cells.append(f'{value:.3f}' + (' ✗' if miss else ''))
        target = f'>= {targets[key]:.2f}' if key in targets else ''
        lines.append(f'| {_LABELS[key]} | {target} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def ground_truth_predictor(scenes: Sequence[Scene]) -> Predict:
    """
    Return a segmenter that answers from the scenes' ground truth (checks the plumbing).

    A click gets the clicked object's levels sorted by area (padded to 3 by repeating
    the smallest); a box gets the level whose tight box overlaps it most; points in
    'single' mode get the smallest level holding every positive and no negative. Each
    predicted IoU is the true IoU against the levels the prompt allows.
    """
    by_image = {id(s.image): s for s in scenes}

    def predict(image: np.ndarray, coords: Optional[np.ndarray],
                labels: Optional[np.ndarray], box: Optional[np.ndarray], mode: str
                ) -> Tuple[np.ndarray, np.ndarray]:
        scene = by_image[id(image)]
        empty = np.zeros((1,) + image.shape[:2], bool)
        if box is not None:
            cands = [lv for o in scene.objects for lv in o.levels if lv.any()]
            best = max(cands, key=lambda lv: _box_iou(tight_box(lv), box))
            return best[None], np.ones(1)
        k = object_at(scene, coords[0])
        if k is None:
            return (empty.repeat(3, 0), np.zeros(3)) if mode == 'multi' else (empty, np.zeros(1))
        if mode == 'multi':
            levels = list(scene.objects[k].levels)
            levels = [levels[0]] * (3 - len(levels)) + levels
            valid = point_ground_truth(scene, k, coords[0])
            return np.stack(levels), np.array([_best(m, valid) for m in levels])
        for level in scene.objects[k].levels:
            hits = np.array([level[int(y), int(x)] for x, y in coords])
            if hits[labels == 1].all() and not hits[labels == 0].any():
                return level[None], np.ones(1)
        return scene.objects[k].whole[None], np.ones(1)

    return predict


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Return the IoU of two XYXY inclusive pixel boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0]) + 1
    h = min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(0.0, w) * max(0.0, h)
    area = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return float(inter / (area - inter))
