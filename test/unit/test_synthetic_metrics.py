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

"""Tests of the evaluation measures, sam_ros.synthetic.metrics (tier 1, no ROS)."""

import numpy as np
import pytest

from sam_ros.synthetic import (evaluate, format_table, ground_truth_predictor, mask_iou,
                               MEASURES, NestedObject, Scene, SceneGenerator)

H, W = 60, 80


def _box_mask(y0, y1, x0, x1):
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _hand_scene():
    """Return one 3-level object: whole 40x60 px, part 20x30, subpart 10x10."""
    levels = (_box_mask(25, 35, 25, 35), _box_mask(20, 40, 20, 50), _box_mask(10, 50, 10, 70))
    obj = NestedObject(levels=levels, local_masks=levels, origin=(0, 0),
                       kinds=('rectangle',) * 3, colors=((0, 0, 0),) * 3)
    return Scene(np.zeros((H, W, 3), np.uint8), (obj,), levels[-1].astype(np.int16))


def _half_whole_predictor(scene):
    """Return the subpart and part exactly, and only the right half of the whole."""
    sub, part, whole = scene.objects[0].levels
    half = whole.copy()
    half[:, :40] = False   # IoU 0.5 with the whole

    def predict(image, coords, labels, box, mode):
        if mode == 'multi':
            return np.stack([half, sub, part]), np.array([0.7, 0.9, 0.8])
        return half[None], np.array([0.6])
    return predict


def test_mask_iou_of_identical_disjoint_and_overlapping_masks():
    a = _box_mask(0, 10, 0, 10)
    assert mask_iou(a, a) == 1.0
    assert mask_iou(a, _box_mask(20, 30, 20, 30)) == 0.0
    assert mask_iou(a, _box_mask(0, 10, 5, 15)) == pytest.approx(50 / 150)
    assert mask_iou(np.zeros((H, W), bool), np.zeros((H, W), bool)) == 1.0


def test_ground_truth_predictions_score_one_everywhere():
    generator = SceneGenerator(seed=31)
    for size in ((640, 480), (320, 240)):
        scenes = [generator.scene(i, *size) for i in range(6)]
        result = evaluate(ground_truth_predictor(scenes), scenes, seed=1)
        for key in MEASURES:
            assert result[key] == pytest.approx(1.0), key
        assert result['n_hierarchy'] > 0 and result['n_click'] >= 6
        assert result['n_masks'] == (3 * result['n_hierarchy'] + 3 * result['n_click']
                                     + result['n_box'] + result['n_multipoint'])


def test_hierarchy_sorts_masks_by_area_and_scores_each_level():
    scene = _hand_scene()
    result = evaluate(_half_whole_predictor(scene), [scene])
    assert result['n_hierarchy'] == 1
    assert result['hierarchy_subpart'] == 1.0 and result['hierarchy_part'] == 1.0
    assert result['hierarchy_whole'] == pytest.approx(0.5)
    assert result['hierarchy_miou'] == pytest.approx(2.5 / 3)


def test_single_mask_measures_score_the_known_partial_overlap():
    scene = _hand_scene()
    # Only the whole (2400 px) is large enough to be prompted with a box or points.
    result = evaluate(_half_whole_predictor(scene), [scene], min_area=1000)
    assert result['box_miou'] == pytest.approx(0.5)
    assert result['multipoint_miou'] == pytest.approx(0.5)
    assert np.isnan(result['hierarchy_miou'])


def test_click_measures_score_the_best_mask_and_the_most_confident_one():
    scene = _hand_scene()
    sub, part, whole = scene.objects[0].levels
    predict = _half_whole_predictor(scene)
    oracle, selected = [], []
    for seed in range(30):
        result = evaluate(predict, [scene], seed=seed)
        oracle.append(result['oracle_miou'])
        selected.append(result['selected_miou'])
    # Per click region: subpart (1 + 1 + 0.5) / 3, part-only (1 + 0.5) / 2, whole-only 0.5.
    assert set(np.round(oracle, 4)) == {round(2.5 / 3, 4), 0.75, 0.5}
    # The most confident mask is the subpart: IoU 1, 100 / 600 or 100 / 2400.
    assert set(np.round(selected, 4)) == {1.0, round(1 / 6, 4), round(1 / 24, 4)}


def test_empty_predictions_score_zero():
    scenes = [SceneGenerator(seed=32).scene(i) for i in range(3)]

    def predict(image, coords, labels, box, mode):
        count = 3 if mode == 'multi' else 1
        return np.zeros((count,) + image.shape[:2], bool), np.linspace(0.1, 0.9, count)
    result = evaluate(predict, scenes)
    for key in ('hierarchy_miou', 'oracle_miou', 'selected_miou', 'box_miou',
                'multipoint_miou'):
        assert result[key] == 0.0
    assert np.isnan(result['iou_calibration_r'])   # true IoU never varies


def test_wrong_mask_count_is_reported():
    scene = _hand_scene()

    def predict(image, coords, labels, box, mode):
        return np.zeros((2, H, W), bool), np.zeros(2)
    with pytest.raises(ValueError, match='return'):
        evaluate(predict, [scene])


def test_format_table_has_a_row_per_measure_and_marks_misses():
    good = dict.fromkeys(MEASURES, 0.99)
    bad = dict(good, box_miou=0.5)
    table = format_table({'640x480': good, '320x240': bad})
    lines = table.splitlines()
    assert lines[0] == '| measure | target | 640x480 | 320x240 |'
    assert len(lines) == 2 + len(MEASURES)
    box_row = next(line for line in lines if line.startswith('| box mIoU'))
    assert '0.990 |' in box_row and '0.500 ✗' in box_row
    assert table.count('✗') == 1
