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

"""Tests of sam_ros.core.image_header: png/jpeg sizes read without decoding (no ROS)."""

import cv2
import numpy as np
import pytest
from sam_ros.core.image_header import encoded_size


@pytest.mark.parametrize('ext,params', [('.png', []), ('.jpg', []),
                                        ('.jpg', [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])])
def test_the_size_is_read_from_the_header(ext, params):
    ok, data = cv2.imencode(ext, np.zeros((37, 53, 3), np.uint8), params)
    assert ok
    assert encoded_size(data.tobytes()) == (53, 37)


@pytest.mark.parametrize('data', [b'', b'garbage', b'\xff\xd8\xff', b'\x89PNG\r\n\x1a\n'])
def test_unknown_or_truncated_data_has_no_size(data):
    assert encoded_size(data) is None
