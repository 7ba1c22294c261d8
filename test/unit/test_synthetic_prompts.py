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

"""Tests of the synthetic prompt samplers, sam_ros.synthetic.prompts (tier 1, no ROS)."""

import cv2
import numpy as np
import pytest

from sam_ros.synthetic import (corrective_point, exclusive_regions, jitter_box,
                               multi_point_prompt, object_at, point_ground_truth,
                               sample_point, SceneGenerator, tight_box)


def _square(h=60, w=80, y0=10, y1=40, x0=20, x1=60):
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = True
    return mask


@pytest.fixture(scope='module')
def nested():
    """Return (scene, index) of a 3-level object whose three own regions are visible."""
    generator = SceneGenerator(seed=21)
    for i in range(50):
        scene = generator.scene(i)
        for k, obj in enumerate(scene.objects):
            if obj.num_levels == 3 and all(r.sum() > 20 for r in exclusive_regions(obj.levels)):
                return scene, k
    raise RuntimeError('no suitable object in 50 scenes')


def _at(mask, xy):
    return bool(mask[int(xy[1]), int(xy[0])])


def test_sample_point_returns_a_pixel_of_the_mask():
    rng = np.random.default_rng(0)
    mask = _square()
    for interior in (True, False):
        for _ in range(200):
            xy = sample_point(mask, rng, interior)
            assert xy.shape == (2,) and xy.dtype == np.float32
            assert _at(mask, xy) and np.all(xy == np.round(xy))


def test_interior_sampling_prefers_pixels_far_from_the_edge():
    rng = np.random.default_rng(1)
    mask = _square()
    dist = cv2.distanceTransform(np.pad(mask.view(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    inner = [dist[int(y), int(x)] for x, y in (sample_point(mask, rng) for _ in range(400))]
    flat = [dist[int(y), int(x)]
            for x, y in (sample_point(mask, rng, interior=False) for _ in range(400))]
    assert np.mean(inner) > 1.2 * np.mean(flat)


def test_sampling_an_empty_mask_raises_value_error():
    with pytest.raises(ValueError, match='empty'):
        sample_point(np.zeros((5, 5), bool), np.random.default_rng(0))


def test_point_ground_truth_lists_the_levels_containing_the_pixel(nested):
    scene, k = nested
    obj = scene.objects[k]
    sub_only, part_only, whole_only = exclusive_regions(obj.levels)
    rng = np.random.default_rng(2)
    expected = {0: [0, 1, 2], 1: [1, 2], 2: [2]}
    for region_index, region in enumerate((sub_only, part_only, whole_only)):
        xy = sample_point(region, rng)
        got = point_ground_truth(scene, k, xy)
        assert [id(m) for m in got] == [id(obj.levels[i]) for i in expected[region_index]]
        assert object_at(scene, xy) == k
    background = np.argwhere(scene.label_map == 0)[0]
    xy = (background[1], background[0])
    assert point_ground_truth(scene, k, xy) == [] and object_at(scene, xy) is None
    with pytest.raises(ValueError, match='outside'):
        point_ground_truth(scene, k, (scene.width + 3, 0))


def test_exclusive_regions_partition_the_object():
    levels = [_square(y0=20, y1=30, x0=30, x1=40), _square(y0=15, y1=35, x0=25, x1=50),
              _square()]
    regions = exclusive_regions(levels)
    assert np.array_equal(np.sum(regions, axis=0) > 0, levels[-1])
    assert np.sum(regions, axis=0).max() == 1
    assert np.array_equal(regions[0], levels[0])


def test_tight_box_is_the_inclusive_pixel_bounds():
    box = tight_box(_square(y0=10, y1=40, x0=20, x1=60))
    assert box.dtype == np.float32
    assert box.tolist() == [20.0, 10.0, 59.0, 39.0]
    one = np.zeros((9, 9), bool)
    one[4, 7] = True
    assert tight_box(one).tolist() == [7.0, 4.0, 7.0, 4.0]


def test_jitter_box_moves_each_side_by_at_most_five_percent_of_the_size():
    rng = np.random.default_rng(3)
    box = np.array([100.0, 50.0, 299.0, 149.0], np.float32)   # 200 x 100 px
    limit = 0.05 * np.array([200.0, 100.0, 200.0, 100.0]) + 1e-3
    deltas = np.array([jitter_box(box, rng) - box for _ in range(500)])
    assert np.all(np.abs(deltas) <= limit)
    assert np.all(np.abs(deltas).max(axis=0) > 0.8 * limit)   # the bound is reached
    assert np.all(deltas.min(axis=0) < 0) and np.all(deltas.max(axis=0) > 0)


def test_jitter_box_clips_to_the_frame():
    rng = np.random.default_rng(4)
    box = np.array([0.0, 0.0, 79.0, 59.0], np.float32)
    for _ in range(100):
        out = jitter_box(box, rng, 0.05, size_hw=(60, 80))
        assert out.min() >= 0 and out[2] <= 79 and out[3] <= 59


def test_multi_point_prompt_has_positives_inside_and_a_negative_near_outside():
    rng = np.random.default_rng(5)
    parent = _square(h=120, w=160, y0=10, y1=110, x0=10, x1=150)
    mask = _square(h=120, w=160, y0=30, y1=90, x0=40, x1=120)
    child = _square(h=120, w=160, y0=40, y1=80, x0=50, x1=110)
    n_pos_seen = set()
    for _ in range(60):
        coords, labels = multi_point_prompt(mask, rng, child=child, parent=parent)
        assert coords.dtype == np.float32 and labels.dtype == np.int64
        n_pos = int((labels == 1).sum())
        n_pos_seen.add(n_pos)
        assert list(labels) == [1] * n_pos + [0]
        assert all(_at(mask, xy) for xy in coords[labels == 1])
        assert not _at(child, coords[0])
        negative = coords[-1]
        assert not _at(mask, negative) and _at(parent, negative)
        # near: within 10% of the mask's size (80 px) of its box
        assert 40 - 9 <= negative[0] <= 119 + 9 and 30 - 9 <= negative[1] <= 89 + 9
    assert n_pos_seen == {2, 3}


def test_multi_point_prompt_without_room_outside_has_no_negative():
    coords, labels = multi_point_prompt(np.ones((20, 20), bool), np.random.default_rng(6),
                                        n_pos=2)
    assert labels.tolist() == [1, 1]


def test_corrective_point_targets_the_larger_error_region():
    rng = np.random.default_rng(7)
    gt = _square(y0=10, y1=40, x0=20, x1=60)
    shrunk = _square(y0=10, y1=40, x0=20, x1=40)            # misses half
    xy, label = corrective_point(shrunk, gt, rng)
    assert label == 1 and _at(gt, xy) and not _at(shrunk, xy)
    grown = _square(y0=5, y1=55, x0=10, x1=75)              # spills out
    xy, label = corrective_point(grown, gt, rng)
    assert label == 0 and _at(grown, xy) and not _at(gt, xy)
    assert corrective_point(gt, gt, rng) is None
