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
import sys

import numpy as np
import pytest
from sam_ros.core.errors import ImageFormatError
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
_CASES += [('mono16', 0, True), ('mono16', 2, True), ('rgb8', 0, True)]
_NEEDS_CV_BRIDGE = ('cv_bridge is not importable here (it has no PyPI wheel; it comes with a '
                    'ROS 2 install: ros-<distro>-cv-bridge)')


def _pixel_bytes(encoding: str) -> int:
    channels, dtype = conv.ENCODINGS[encoding]
    return channels * np.dtype(dtype).itemsize


@pytest.mark.parametrize('encoding,padding,bigendian', _CASES)
def test_cv_bridge_and_the_own_conversion_give_identical_arrays(encoding, padding,
                                                                bigendian):
    if bridge.BACKEND != 'cv_bridge':
        pytest.skip(_NEEDS_CV_BRIDGE)
    msg = _message(encoding, padding, bigendian)
    ours = conv.image_to_numpy(msg, use_cv_bridge=False)
    if bridge.handles(msg, _pixel_bytes(encoding)):
        theirs = bridge.passthrough(msg)    # cv_bridge itself, not the routing
    else:
        theirs = conv.image_to_numpy(msg)   # routed to the own conversion (see bridge.py)
    assert theirs.dtype == ours.dtype and theirs.shape == ours.shape
    np.testing.assert_array_equal(theirs, ours)
    np.testing.assert_array_equal(conv.image_to_numpy(msg), ours)
    np.testing.assert_array_equal(conv.image_to_rgb(msg), conv._to_rgb(ours, encoding))


@pytest.mark.parametrize('encoding,padding,bigendian,expected', [
    ('rgb8', 0, False, True), ('rgb8', 3, False, True), ('mono8', 3, False, True),
    ('mono16', 2, False, True), ('rgba8', 4, False, True),
    # cv_bridge strides rows by step // pixel bytes pixels: shifted rows
    ('rgba8', 3, False, False), ('bgra8', 3, False, False), ('mono16', 3, False, False),
    ('rgb8', 2, False, False),
    # cv_bridge calls ndarray.newbyteorder (gone in numpy 2) for a foreign byte order
    ('mono16', 0, True, False), ('rgb8', 0, True, False),
])
def test_cv_bridge_reads_only_the_messages_it_reads_correctly(encoding, padding, bigendian,
                                                              expected):
    if sys.byteorder != 'little':
        pytest.skip('the expected values are for a little-endian machine')
    msg = _message(encoding, padding, bigendian)
    assert bridge.handles(msg, _pixel_bytes(encoding)) is expected


def test_a_failure_inside_cv_bridge_becomes_an_image_format_error():
    if bridge.BACKEND != 'cv_bridge':
        pytest.skip(_NEEDS_CV_BRIDGE)
    msg = _message('mono16', 0, True)   # the case that fails inside cv_bridge on numpy 2
    ours = conv.image_to_numpy(msg, use_cv_bridge=False)
    try:
        theirs = bridge.passthrough(msg)
    except ImageFormatError as exc:
        assert 'cv_bridge' in str(exc)
    else:                               # a cv_bridge without the defect: the same array
        np.testing.assert_array_equal(theirs, ours)


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
