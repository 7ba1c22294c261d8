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

"""Mask selection: automatic mode, tokens, sorting by area, stability, areas and boxes."""

import numpy as np
import pytest
from sam_ros.core.errors import PromptError
from sam_ros.core.selection import (mask_areas, mask_boxes, resolve_mode, sort_by_area,
                                    stability_score, tokens_for_mode)
import torch


def test_stability_score_counts_pixels_above_plus_and_minus_offset():
    logits = np.array([[[2.0, 1.5, 0.5, -0.5],
                        [-0.9, -1.0, -2.0, 1.0]]])
    # > +1: 2.0, 1.5 -> 2. > -1: 2.0, 1.5, 0.5, -0.5, -0.9, 1.0 -> 6 (-1.0 is not > -1).
    score = stability_score(logits)
    assert score.dtype == np.float32 and score.shape == (1,)
    assert score[0] == pytest.approx(2 / 6)


def test_stability_score_of_an_empty_mask_is_zero_not_nan():
    logits = np.full((2, 3, 3), -5.0)
    logits[1, 0, 0] = 0.5  # a mask of one pixel that vanishes at threshold + 1
    np.testing.assert_array_equal(stability_score(logits), [0.0, 0.0])


def test_stability_score_is_one_for_a_sharp_mask_and_accepts_tensors():
    logits = torch.full((3, 8, 8), -10.0)
    logits[:, 2:5, 2:5] = 10.0
    logits[1, 0, 0] = 0.0  # inside the -1..+1 band: counted below only
    score = stability_score(logits)
    np.testing.assert_allclose(score, [1.0, 9 / 10, 1.0])
    np.testing.assert_allclose(stability_score(logits.numpy()), score)


def test_stability_score_follows_threshold_and_offset():
    logits = np.array([[[3.0, 2.5, 1.2, 0.2, -1.5]]])
    assert stability_score(logits, threshold=1.0, offset=1.0)[0] == pytest.approx(2 / 4)
    assert stability_score(logits, threshold=0.0, offset=2.0)[0] == pytest.approx(2 / 5)
    assert stability_score(logits, threshold=0.0, offset=0.5)[0] == pytest.approx(3 / 4)


@pytest.mark.parametrize('points, box, expected', [
    (1, False, 'multi'),
    (2, False, 'single'),
    (5, False, 'single'),
    (0, True, 'single'),
    (1, True, 'single'),
])
def test_auto_mode_one_point_is_multi_box_or_several_points_single(points, box, expected):
    assert resolve_mode('auto', points, box) == expected


def test_explicit_mode_overrides_the_rule():
    assert resolve_mode('multi', 0, True) == 'multi'
    assert resolve_mode('single', 1, False) == 'single'


def test_unknown_mode_is_a_prompt_error():
    with pytest.raises(PromptError, match='mode'):
        resolve_mode('best', 1, False)


def test_tokens_multi_are_1_2_3_and_single_is_0():
    assert tokens_for_mode('multi') == (1, 2, 3)
    assert tokens_for_mode('single') == (0,)
    with pytest.raises(PromptError):
        tokens_for_mode('auto')


def test_sort_by_area_orders_ascending_with_levels_and_keeps_ties_in_token_order():
    order, levels = sort_by_area(np.array([50, 10, 30]), 'multi')
    np.testing.assert_array_equal(order, [1, 2, 0])
    assert levels == ('subpart', 'part', 'whole')
    order, _ = sort_by_area(np.array([7, 3, 7]), 'multi')
    np.testing.assert_array_equal(order, [1, 0, 2])


def test_sort_by_area_single_mask_keeps_its_level():
    order, levels = sort_by_area(np.array([99]), 'single')
    np.testing.assert_array_equal(order, [0])
    assert levels == ('single',)


def test_mask_areas_and_inclusive_xyxy_boxes():
    masks = np.zeros((3, 6, 8), dtype=bool)
    masks[0, 1:4, 2:7] = True  # rows 1..3, columns 2..6
    masks[1, 5, 7] = True  # a single pixel in the bottom-right corner
    areas = mask_areas(masks)
    np.testing.assert_array_equal(areas, [15, 1, 0])
    assert areas.dtype == np.int64
    boxes = mask_boxes(masks)
    np.testing.assert_array_equal(boxes, [[2, 1, 6, 3], [7, 5, 7, 5], [0, 0, 0, 0]])
