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

"""The instance label image: overlaps go to the higher score, ties to the earlier object."""

import numpy as np
import pytest
from sam_ros.core.labels import label_image, MAX_LABELS


def _square(x0, y0, x1, y1, size=(10, 12)):
    mask = np.zeros(size, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_background_is_zero_and_object_k_is_label_k():
    masks = [_square(0, 0, 3, 3), _square(6, 6, 9, 9)]
    image = label_image(masks, [0.5, 0.7], (10, 12))
    assert image.labels.dtype == np.uint16 and image.labels.shape == (10, 12)
    assert set(np.unique(image.labels)) == {0, 1, 2}
    np.testing.assert_array_equal(image.labels == 1, masks[0])
    np.testing.assert_array_equal(image.labels == 2, masks[1])
    np.testing.assert_allclose(image.confidence, [0.5, 0.7])
    np.testing.assert_array_equal(image.visible_area, [9, 9])


def test_an_overlap_goes_to_the_higher_score_whatever_the_order():
    low, high = _square(0, 0, 6, 6), _square(3, 3, 9, 9)
    for first_high in (False, True):
        masks, scores = ([high, low], [0.9, 0.4]) if first_high else ([low, high], [0.4, 0.9])
        image = label_image(masks, scores, (10, 12))
        k_high, k_low = (1, 2) if first_high else (2, 1)
        assert np.all(image.labels[high] == k_high)
        np.testing.assert_array_equal(image.labels == k_low, low & ~high)
        assert image.visible_area[k_low - 1] == 36 - 9


def test_equal_scores_go_to_the_earlier_object():
    a, b = _square(0, 0, 6, 6), _square(3, 3, 9, 9)
    image = label_image([a, b], [0.8, 0.8], (10, 12))
    assert np.all(image.labels[a] == 1)
    np.testing.assert_array_equal(image.labels == 2, b & ~a)


def test_an_object_without_a_mask_owns_no_pixel():
    image = label_image([None, _square(1, 1, 4, 4)], [0.99, 0.3], (10, 12))
    assert not np.any(image.labels == 1) and image.confidence[0] == 0.0
    assert image.visible_area.tolist() == [0, 9]


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match='one score per mask'):
        label_image([_square(0, 0, 2, 2)], [], (10, 12))
    with pytest.raises(ValueError, match='shape'):
        label_image([np.zeros((5, 5), bool)], [0.5], (10, 12))
    with pytest.raises(ValueError, match='finite'):
        label_image([_square(0, 0, 2, 2)], [float('nan')], (10, 12))
    with pytest.raises(ValueError, match='uint16'):
        label_image([None] * (MAX_LABELS + 1), [0.0] * (MAX_LABELS + 1), (2, 2))
