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

"""Tests of sam_ros.core.change.ChangeDetector (tier 1, no ROS)."""

import numpy as np
import pytest

from sam_ros.core.change import ChangeDetector
from sam_ros.core.errors import ImageFormatError, SamError


def _scene(seed=0, height=480, width=640):
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 90, np.uint8)
    image[100:300, 200:400] = (200, 40, 40)
    noise = rng.integers(-3, 4, size=image.shape)
    return np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def test_first_frame_counts_as_changed():
    detector = ChangeDetector()
    check = detector.check(_scene())
    assert check.changed
    assert check.score == 1.0


@pytest.mark.parametrize('threshold', [0.0, 0.001, 0.5, 1.0])
def test_identical_frame_is_never_changed(threshold):
    detector = ChangeDetector(threshold=threshold)
    image = _scene()
    detector.set_reference(detector.check(image).signature)
    check = detector.check(image.copy())
    assert not check.changed
    assert check.score == 0.0


def test_sensor_noise_alone_is_not_a_change():
    detector = ChangeDetector()
    detector.set_reference(detector.check(_scene(seed=1)).signature)
    assert not detector.check(_scene(seed=2)).changed


def test_small_moving_object_is_a_change():
    detector = ChangeDetector()
    before = _scene()
    detector.set_reference(detector.check(before).signature)
    after = before.copy()
    after[400:430, 500:530] = 255  # a 30 x 30 px object appears: 0.3 % of the image
    check = detector.check(after)
    assert check.changed
    assert 0.0 < check.score < 0.05


def test_change_is_measured_against_the_reference_not_the_previous_frame():
    detector = ChangeDetector()
    base = _scene()
    detector.set_reference(detector.check(base).signature)
    previous = detector.signature(base)
    for step in range(1, 6):
        # 3 gray levels brighter per step: no step differs from the one before it...
        frame = np.clip(base.astype(np.int16) + 3 * step, 0, 255).astype(np.uint8)
        assert not detector.differs(detector.signature(frame), previous)
        previous = detector.signature(frame)
    # ...but the drift of 15 gray levels from the reference is a change.
    assert detector.check(frame).changed


def test_resized_frame_is_a_change():
    detector = ChangeDetector()
    detector.set_reference(detector.check(_scene()).signature)
    check = detector.check(_scene(height=240, width=320))
    assert check.changed
    assert check.score == 1.0


def test_grayscale_frames_are_supported():
    detector = ChangeDetector()
    gray = _scene()[..., 0]
    detector.set_reference(detector.check(gray).signature)
    assert not detector.check(gray.copy()).changed


def test_signature_covers_the_image_edges():
    detector = ChangeDetector()
    before = np.zeros((97, 131, 3), np.uint8)
    after = before.copy()
    after[-2:, -2:] = 255  # the last pixels, past any whole cell
    assert detector.differs(detector.signature(after), detector.signature(before))


def test_threshold_is_settable_and_checked():
    detector = ChangeDetector()
    detector.threshold = 0.25
    assert detector.threshold == 0.25
    with pytest.raises(SamError, match='fraction'):
        detector.threshold = 1.5


@pytest.mark.parametrize('image', [
    np.zeros((4, 4, 4), np.uint8),
    np.zeros((4, 4), np.float32),
    np.zeros((0, 4, 3), np.uint8),
    [[0, 1], [2, 3]],
])
def test_bad_image_raises_image_format_error(image):
    with pytest.raises(ImageFormatError):
        ChangeDetector().signature(image)
