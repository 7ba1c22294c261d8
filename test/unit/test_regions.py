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

"""Region clean-up: small islands go, small holes fill, big ones stay."""

import numpy as np
import pytest
from sam_ros.core.regions import clean_mask, remove_small_regions


def _blob_mask() -> np.ndarray:
    mask = np.zeros((60, 80), dtype=bool)
    mask[10:40, 10:50] = True     # the object, 1200 px
    mask[20:23, 20:23] = False    # a 9 px hole
    mask[50:52, 70:72] = True     # a 4 px island
    return mask


def test_small_islands_are_removed_and_big_ones_kept() -> None:
    cleaned, changed = remove_small_regions(_blob_mask(), 10, 'islands')
    assert changed
    assert not cleaned[50:52, 70:72].any()
    assert cleaned[10:20, 10:50].all()
    assert not cleaned[20:23, 20:23].any()  # holes untouched in this mode


def test_small_holes_are_filled_and_islands_untouched() -> None:
    cleaned, changed = remove_small_regions(_blob_mask(), 10, 'holes')
    assert changed
    assert cleaned[20:23, 20:23].all()
    assert cleaned[50:52, 70:72].all()


def test_regions_at_or_above_the_threshold_stay() -> None:
    mask = _blob_mask()
    cleaned, changed = clean_mask(mask, 4)
    assert not changed
    np.testing.assert_array_equal(cleaned, mask)


def test_clean_mask_does_both_and_never_empties_a_mask() -> None:
    cleaned, changed = clean_mask(_blob_mask(), 10)
    assert changed
    assert cleaned.sum() == 1200
    tiny = np.zeros((20, 20), dtype=bool)
    tiny[3:5, 3:5] = True
    tiny[10:13, 10:13] = True
    kept, _ = clean_mask(tiny, 100)
    assert kept.sum() == 9 and kept[10:13, 10:13].all()


def test_zero_threshold_changes_nothing_and_bad_input_raises() -> None:
    mask = _blob_mask()
    cleaned, changed = clean_mask(mask, 0)
    assert not changed and cleaned is not mask
    with pytest.raises(ValueError, match='mode'):
        remove_small_regions(mask, 10, 'blobs')
    with pytest.raises(ValueError, match='2-D'):
        remove_small_regions(mask[None], 10, 'holes')


def _full_image_reference(mask: np.ndarray, min_area: int, mode: str) -> np.ndarray:
    # The definition: label the whole image (upstream's way), no bounding-box window.
    import cv2
    fill = mode == 'holes'
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (fill ^ mask).astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    small = [i + 1 for i, area in enumerate(areas) if area < min_area]
    if not fill and len(small) == count - 1 and small:
        small.remove(int(np.argmax(areas)) + 1)
    out = mask.copy()
    out[np.isin(labels, small)] = fill
    return out


@pytest.mark.parametrize('seed', range(24))
def test_windowed_labelling_equals_labelling_the_whole_image(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = 30 + seed % 5, 36
    mask = np.zeros((height, width), dtype=bool)
    # Boxes at 0, 1 or 2 pixels from each border, and across the whole width or height:
    # every combination of ring sides and outside bands.
    top, left = rng.integers(0, 3, size=2)
    bottom = height - rng.integers(0, 3) if seed % 3 else top + 20
    right = width - rng.integers(0, 3) if seed % 2 else left + 25
    mask[top:bottom, left:right] = rng.random((bottom - top, right - left)) > 0.35
    for mode in ('holes', 'islands'):
        for min_area in (1, 3, 8, 40, 600, 2000):
            got, changed = remove_small_regions(mask, min_area, mode)
            want = _full_image_reference(mask, min_area, mode)
            np.testing.assert_array_equal(got, want, err_msg=f'{mode} {min_area}')
            assert changed == bool((got != mask).any())


def test_a_tie_for_the_largest_island_keeps_the_one_the_whole_image_keeps() -> None:
    mask = np.zeros((6, 8), dtype=bool)
    mask[1, 5] = mask[2, 2] = mask[4, 5] = True   # three 1-pixel islands, all too small
    got, _ = remove_small_regions(mask, 15, 'islands')
    np.testing.assert_array_equal(got, _full_image_reference(mask, 15, 'islands'))
