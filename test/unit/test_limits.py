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

"""Tests of sam_ros.node.limits: bounds on one prompt and one frame (tier 2, no DDS)."""

import array

import cv2
from geometry_msgs.msg import Point
import numpy as np
from sam_ros.msg import SegmentPrompt
from sam_ros.node.config import config_from_values
from sam_ros.node.limits import image_limit_error, prompt_limit_error
from sensor_msgs.msg import CompressedImage, Image

CFG = config_from_values({'max_prompt_points': 4, 'max_prompt_id_length': 8,
                          'max_image_pixels': 1000})


def _prompt(points=1, prompt_id='p', refine=''):
    prompt = SegmentPrompt(prompt_id=prompt_id, refine_prompt_id=refine)
    prompt.points = [Point(x=1.0, y=1.0)] * points
    prompt.labels = [1] * points
    return prompt


def test_prompts_within_the_bounds_pass():
    assert prompt_limit_error(_prompt(4, 'x' * 8), CFG) is None


def test_too_many_points_or_too_long_ids_are_refused_with_the_parameter_named():
    assert 'max_prompt_points = 4' in prompt_limit_error(_prompt(5), CFG)
    assert 'prompt_id has 9' in prompt_limit_error(_prompt(1, 'x' * 9), CFG)
    assert 'refine_prompt_id' in prompt_limit_error(_prompt(1, 'p', 'r' * 9), CFG)


def test_raw_images_over_max_image_pixels_are_refused_from_their_header():
    small = Image(width=40, height=25, encoding='rgb8', step=120)
    small.data = array.array('B', bytes(25 * 120))
    assert image_limit_error(small, CFG) is None
    big = Image(width=40, height=26, encoding='rgb8', step=120)   # no data needed
    assert 'max_image_pixels = 1000' in image_limit_error(big, CFG)


def test_compressed_images_are_measured_from_the_png_or_jpeg_header():
    for size, refused in (((25, 40), False), ((26, 40), True)):
        ok, data = cv2.imencode('.png', np.zeros((*size, 3), np.uint8))
        msg = CompressedImage(format='png', data=data.tobytes())
        assert (image_limit_error(msg, CFG) is not None) == refused
    huge = CompressedImage(format='jpeg', data=bytes(4001))    # more bytes than any image
    assert 'bytes' in image_limit_error(huge, CFG)
