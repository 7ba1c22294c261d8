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

"""Tests of the synthetic nested-object world, sam_ros.synthetic.world (tier 1, no ROS)."""

from typing import List

import cv2
import numpy as np
import pytest

from sam_ros.synthetic import generate_scene, Scene, SceneGenerator
from sam_ros.synthetic.shapes import mask_extent

SIZES = [(640, 480), (1280, 720), (320, 240)]


@pytest.fixture(scope='module')
def scenes() -> List[Scene]:
    generator = SceneGenerator(seed=11)
    return [generator.scene(i) for i in range(100)]


@pytest.fixture(scope='module')
def scenes_by_size() -> dict:
    generator = SceneGenerator(seed=12)
    return {size: [generator.scene(i, *size) for i in range(16)] for size in SIZES}


def _objects(scenes):
    return [obj for scene in scenes for obj in scene.objects]


def test_same_seed_and_index_give_identical_scenes():
    a, b = SceneGenerator(3).scene(7), SceneGenerator(3).scene(7)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.label_map, b.label_map)
    assert len(a.objects) == len(b.objects)
    for oa, ob in zip(a.objects, b.objects):
        assert oa.kinds == ob.kinds and oa.colors == ob.colors and oa.origin == ob.origin
        assert all(np.array_equal(x, y) for x, y in zip(oa.levels, ob.levels))


def test_scenes_differ_across_indices_and_seeds():
    base = SceneGenerator(3).scene(7).image
    assert not np.array_equal(base, SceneGenerator(3).scene(8).image)
    assert not np.array_equal(base, SceneGenerator(4).scene(7).image)


def test_generate_scene_is_a_pure_function_of_the_generator_state():
    a = generate_scene(np.random.default_rng(5), 400, 300)
    b = generate_scene(np.random.default_rng(5), 400, 300)
    assert np.array_equal(a.image, b.image)


def test_image_is_rgb_uint8_of_the_requested_size(scenes_by_size):
    for (width, height), group in scenes_by_size.items():
        for scene in group:
            assert scene.image.shape == (height, width, 3)
            assert scene.image.dtype == np.uint8
            assert scene.label_map.shape == (height, width)
            for obj in scene.objects:
                assert all(m.shape == (height, width) and m.dtype == bool for m in obj.levels)


def test_scenes_have_one_to_four_objects_and_all_counts_occur(scenes):
    counts = [len(s.objects) for s in scenes]
    assert set(counts) == {1, 2, 3, 4}


def test_about_three_quarters_of_objects_have_three_levels(scenes):
    levels = [obj.num_levels for obj in _objects(scenes)]
    assert set(levels) == {2, 3}
    share = levels.count(3) / len(levels)
    assert 0.67 <= share <= 0.83, share   # ~250 objects: 0.75 +- 3 standard errors


def test_level_names_follow_the_number_of_levels(scenes):
    for obj in _objects(scenes):
        assert obj.names == ('subpart', 'part', 'whole')[-obj.num_levels:]
        assert (obj.subpart is None) == (obj.num_levels == 2)


def test_wholes_are_120_to_320_px_across_at_640x480(scenes):
    extents = [obj.extents[-1] for obj in _objects(scenes)]
    assert 120 <= min(extents) and max(extents) <= 320
    assert min(extents) < 150 and max(extents) > 290   # the whole range is used


def test_recorded_extent_matches_the_frame_mask_of_unclipped_objects(scenes):
    checked = 0
    for obj in _objects(scenes):
        unoccluded = obj.unoccluded()
        for mask, local, extent in zip(unoccluded, obj.local_masks, obj.extents):
            if np.count_nonzero(mask) == np.count_nonzero(local):   # not clipped
                assert mask_extent(mask) == extent
                checked += 1
    assert checked > 100


def test_part_and_subpart_sizes_are_within_the_spec_ratios(scenes):
    for obj in _objects(scenes):
        extents = obj.extents
        assert 0.35 <= extents[-2] / extents[-1] <= 0.65
        if obj.num_levels == 3:
            assert 0.30 <= extents[0] / extents[1] <= 0.60


def test_levels_nest_strictly_at_the_pixel_level(scenes_by_size):
    for group in scenes_by_size.values():
        for obj in _objects(group):
            for masks in (obj.local_masks, obj.unoccluded(), obj.levels):
                for inner, outer in zip(masks[:-1], masks[1:]):
                    assert not np.any(inner & ~outer)
            assert all(np.count_nonzero(m) > 0 for m in obj.local_masks)


def test_later_objects_occlude_every_level_of_earlier_ones(scenes):
    overlaps = 0
    for scene in scenes:
        for k, obj in enumerate(scene.objects):
            later = np.zeros(scene.label_map.shape, bool)
            for other in scene.objects[k + 1:]:
                later |= other.unoccluded()[-1]
            for visible, drawn in zip(obj.levels, obj.unoccluded()):
                assert np.array_equal(visible, drawn & ~later)
            overlaps += int(np.any(obj.unoccluded()[-1] & later))
            assert np.array_equal(obj.whole, scene.label_map == k + 1)
    assert overlaps > 10   # occlusion does happen


def test_every_object_stays_visible(scenes):
    for obj in _objects(scenes):
        assert np.count_nonzero(obj.whole) > 0.2 * np.count_nonzero(obj.local_masks[-1])


def test_other_frame_sizes_scale_the_sizes_with_the_short_side(scenes_by_size):
    for (width, height), group in scenes_by_size.items():
        scale = min(width, height) / 480
        for obj in _objects(group):
            extents = obj.extents
            assert 120 * scale <= extents[-1] <= 320 * scale
            assert 0.35 <= extents[-2] / extents[-1] <= 0.65
            if obj.num_levels == 3:
                assert 0.30 <= extents[0] / extents[1] <= 0.60


def test_objects_stick_out_of_the_frame_by_at_most_a_tenth(scenes):
    clipped = 0
    for scene in scenes:
        for obj in scene.objects:
            x0, y0, x1, y1 = obj.box
            size = obj.local_masks[-1].shape
            assert x0 >= -0.1 * size[1] - 1 and y0 >= -0.1 * size[0] - 1
            assert x1 <= scene.width - 1 + 0.1 * size[1] + 1
            assert y1 <= scene.height - 1 + 0.1 * size[0] + 1
            clipped += int(np.count_nonzero(obj.unoccluded()[-1])
                           < np.count_nonzero(obj.local_masks[-1]))
    assert clipped > 0


def test_each_level_colour_is_clearly_distinct_from_its_parent(scenes):
    for obj in _objects(scenes):
        rgb = np.array(obj.colors, np.float32).reshape(1, -1, 3) / 255.0
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[0]
        for inner, outer in zip(lab[:-1], lab[1:]):
            assert np.linalg.norm(inner - outer) >= 29.5


def test_rendered_levels_differ_from_their_parent_in_the_image(scenes):
    # The mean colour of a level's own pixels (eroded, away from blurred edges) stands
    # apart from its parent's own pixels even after texture, light, blur and noise.
    kernel = np.ones((5, 5), np.uint8)
    checked = 0
    for scene in scenes[:40]:
        for obj in scene.objects:
            own = []
            inner = np.zeros_like(obj.whole)
            for mask in obj.levels:
                own.append(cv2.erode((mask & ~inner).view(np.uint8), kernel).view(bool))
                inner = mask
            for a, b in zip(own[:-1], own[1:]):
                if a.sum() > 50 and b.sum() > 50:
                    diff = scene.image[a].mean(axis=0) - scene.image[b].mean(axis=0)
                    assert np.linalg.norm(diff) > 15
                    checked += 1
    assert checked > 20


def test_image_has_texture_and_noise_inside_levels(scenes):
    scene = scenes[0]
    obj = scene.objects[0]
    core = cv2.erode(obj.whole.view(np.uint8), np.ones((7, 7), np.uint8)).view(bool)
    assert scene.image[core].std(axis=0).min() > 1.0


def test_depth_map_counts_the_levels_containing_each_pixel(scenes):
    scene = scenes[0]
    depth = scene.depth_map()
    assert depth.max() <= 3
    assert np.array_equal(depth > 0, scene.label_map > 0)
    obj = scene.objects[0]
    assert np.all(depth[obj.levels[0]] == obj.num_levels)


def test_bad_sizes_seeds_and_indices_are_rejected():
    with pytest.raises(ValueError, match='at least'):
        generate_scene(np.random.default_rng(0), 32, 480)
    with pytest.raises(ValueError, match='seed'):
        SceneGenerator(-1)
    with pytest.raises(ValueError, match='index'):
        SceneGenerator(0).scene(-3)
