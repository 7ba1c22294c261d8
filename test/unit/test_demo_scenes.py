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

"""The demo camera's moving world: its timeline, frames and ground truth (tier 1)."""

import numpy as np
import pytest
from sam_ros.demo.scenes import FrameKey, interior_point, MovingWorld


@pytest.fixture(scope='module')
def world() -> MovingWorld:
    return MovingWorld(seed=1, width=320, height=240, hold_s=2.0, move_s=1.0,
                       poses_per_stage=2)


def test_the_object_holds_still_then_moves_then_holds_at_a_new_pose(world):
    start, moving = world.key_at(0.1)
    assert not moving
    assert world.key_at(1.9) == (start, False)
    middle, moving = world.key_at(2.5)
    assert moving and middle != start
    end, moving = world.key_at(3.2)
    assert not moving and end == FrameKey(0, *world.pose(0, 1)) != start
    assert world.hold_left(0.5) == pytest.approx(1.5)
    assert world.hold_left(2.5) == 0.0


def test_the_camera_cuts_to_the_next_stage_after_its_last_pose(world):
    key, moving = world.key_at(3 * 2 + 0.5)     # period 3 s, 2 poses per stage
    assert not moving and key.stage == 1
    assert world.key_at(5.5) == (FrameKey(0, *world.pose(0, 1)), False)


def test_frames_are_a_pure_function_of_seed_and_key(world):
    key, _ = world.key_at(0.0)
    again = MovingWorld(seed=1, width=320, height=240, hold_s=2.0, move_s=1.0,
                        poses_per_stage=2)
    np.testing.assert_array_equal(world.render(key).image, again.render(key).image)
    np.testing.assert_array_equal(world.render(key, 0).image, world.render(key, 3).image)


def test_the_actor_is_a_visible_three_level_nest_on_top(world):
    view = world.view_at(0.0)
    subpart, part, whole = view.actor
    assert subpart.any() and not (subpart & ~part).any() and not (part & ~whole).any()
    assert subpart.sum() < part.sum() < whole.sum()
    for levels in view.objects[:-1]:
        assert not (levels[-1] & whole).any()
        for child, parent in zip(levels, levels[1:]):
            assert not (child & ~parent).any()
    assert view.image.shape == (240, 320, 3) and view.image.dtype == np.uint8


def test_the_actor_moves_with_its_masks(world):
    key, _ = world.key_at(0.0)
    shifted = FrameKey(key.stage, key.x + 5, key.y + 3)
    a, b = world.render(key).actor[-1], world.render(shifted).actor[-1]
    assert a.sum() == b.sum()
    np.testing.assert_array_equal(np.roll(a, (3, 5), axis=(0, 1))[3:, 5:], b[3:, 5:])


def test_sensor_noise_changes_pixels_slightly_and_keeps_the_ground_truth():
    noisy = MovingWorld(seed=1, width=320, height=240, noise=2.0)
    key, _ = noisy.key_at(0.0)
    a, b = noisy.render(key, 0), noisy.render(key, 1)
    diff = np.abs(a.image.astype(int) - b.image.astype(int))
    assert 0 < diff.mean() < 4
    for x, y in zip(a.actor, b.actor):
        np.testing.assert_array_equal(x, y)


def test_interior_point_is_the_middle_of_the_mask():
    mask = np.zeros((50, 80), bool)
    mask[10:31, 20:61] = True
    x, y = interior_point(mask)
    assert mask[int(y), int(x)]
    assert (x, y) == (40.0, 20.0)
    with pytest.raises(ValueError, match='empty'):
        interior_point(np.zeros((5, 5), bool))


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match='too small'):
        MovingWorld(width=100, height=100)
    with pytest.raises(ValueError, match='hold_s'):
        MovingWorld(hold_s=0.0)
