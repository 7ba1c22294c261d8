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


"""cv_bridge and the project's own conversion give identical arrays for every encoding."""

import array

import numpy as np
import pytest
from sam_ros.node import bridge
from sam_ros.node import conversions as conv
from sensor_msgs.msg import Image

_RNG = np.random.default_rng(11)


def _message(encoding: str, padding: int = 0, bigendian: bool = False) -> Image:
    channels, dtype = conv.ENCODINGS[encoding]
    shape = (5, 7) if channels == 1 else (5, 7, channels)
    pixels = _RNG.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    if bigendian:
        pixels = pixels.astype(pixels.dtype.newbyteorder('>'))
    rows = pixels.reshape(5, -1).view(np.uint8)
    rows = np.concatenate([rows, np.full((5, padding), 0xAB, np.uint8)], axis=1)
    msg = Image(height=5, width=7, encoding=encoding, is_bigendian=bigendian,
                step=rows.shape[1])
    msg.data = array.array('B', rows.tobytes())
    return msg


_CASES = [(encoding, padding, False) for encoding in conv.ENCODINGS for padding in (0, 3)]
_CASES += [('mono16', 0, True), ('mono16', 2, True)]


@pytest.mark.parametrize('encoding,padding,bigendian', _CASES)
def test_cv_bridge_and_the_own_conversion_give_identical_arrays(encoding, padding,
                                                                bigendian):
    if bridge.BACKEND != 'cv_bridge':
        pytest.skip('cv_bridge is not importable here (it has no PyPI wheel; it comes '
                    'with a ROS 2 install: ros-<distro>-cv-bridge)')
    msg = _message(encoding, padding, bigendian)
    ours = conv.image_to_numpy(msg, use_cv_bridge=False)
    theirs = conv.image_to_numpy(msg)
    assert theirs.dtype == ours.dtype and theirs.shape == ours.shape
    np.testing.assert_array_equal(theirs, ours)
    np.testing.assert_array_equal(conv.image_to_rgb(msg), conv._to_rgb(ours, encoding))


@pytest.mark.parametrize('encoding,padding,bigendian', _CASES)
def test_the_own_conversion_reads_every_encoding_the_node_takes(encoding, padding, bigendian):
    msg = _message(encoding, padding, bigendian)
    pixels = conv.image_to_numpy(msg, use_cv_bridge=False)
    channels, dtype = conv.ENCODINGS[encoding]
    row_bytes = 7 * channels * np.dtype(dtype).itemsize
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(5, -1)[:, :row_bytes]
    expected = rows.copy().view(np.dtype(dtype).newbyteorder('>' if bigendian else '<'))
    np.testing.assert_array_equal(pixels.reshape(5, -1), expected)
    assert pixels.dtype == np.dtype(dtype) and pixels.dtype.isnative


def test_the_start_log_says_which_conversion_reads_the_images():
    note = bridge.backend_note()
    if bridge.BACKEND == 'cv_bridge':
        assert note == 'images are read with cv_bridge'
    else:
        assert note.startswith('cv_bridge is not importable') and 'ros-<distro>-cv-bridge' in note
