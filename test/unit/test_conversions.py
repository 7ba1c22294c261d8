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

"""Tests of sam_ros.node.conversions (tier 2: messages <-> numpy, no DDS traffic)."""

import array

from builtin_interfaces.msg import Time
import cv2
from geometry_msgs.msg import Point, Point32, PointStamped, PolygonStamped
import numpy as np
import pytest
from sam_ros.core.errors import ImageFormatError, PromptError
from sam_ros.core.predictor import Prediction
from sam_ros.msg import SegmentMask, SegmentPrompt, SegmentResult
from sam_ros.node import conversions as conv
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)


def _raw_image(encoding, pixels_bytes, height, width, step, bigendian=0):
    msg = Image(height=height, width=width, encoding=encoding, step=step,
                is_bigendian=bigendian)
    msg.data = array.array('B', pixels_bytes)
    return msg


# ----------------------------------------------------------------------- raw images

@pytest.mark.parametrize('encoding,pixels', [
    ('rgb8', RGB),
    ('bgr8', RGB[..., ::-1].copy()),
    ('rgba8', np.dstack([RGB, np.full(RGB.shape[:2], 9, np.uint8)])),
    ('bgra8', np.dstack([RGB[..., ::-1], np.full(RGB.shape[:2], 9, np.uint8)])),
    ('mono8', RGB[..., 0].copy()),
    ('mono16', RNG.integers(0, 65536, size=(5, 7), dtype=np.uint16)),
])
def test_numpy_image_round_trip_keeps_pixels(encoding, pixels):
    msg = conv.numpy_to_image(pixels, encoding)
    assert msg.encoding == encoding
    assert msg.step == pixels.shape[1] * pixels.itemsize * (
        pixels.shape[2] if pixels.ndim == 3 else 1)
    np.testing.assert_array_equal(conv.image_to_numpy(msg), pixels)


@pytest.mark.parametrize('encoding,pixels', [
    ('rgb8', RGB),
    ('bgr8', RGB[..., ::-1].copy()),
    ('rgba8', np.dstack([RGB, np.zeros(RGB.shape[:2], np.uint8)])),
    ('bgra8', np.dstack([RGB[..., ::-1], np.zeros(RGB.shape[:2], np.uint8)])),
])
def test_colour_encodings_become_the_same_rgb(encoding, pixels):
    rgb = conv.image_to_rgb(conv.numpy_to_image(pixels, encoding))
    assert rgb.dtype == np.uint8 and rgb.flags.c_contiguous
    np.testing.assert_array_equal(rgb, RGB)


def test_mono8_is_replicated_to_three_channels():
    gray = RGB[..., 1].copy()
    rgb = conv.image_to_rgb(conv.numpy_to_image(gray, 'mono8'))
    assert rgb.shape == (5, 7, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], gray)


def test_mono16_is_stretched_from_min_to_max():
    depth = np.array([[1000, 2000], [3000, 1000]], np.uint16)
    rgb = conv.image_to_rgb(conv.numpy_to_image(depth, 'mono16'))
    np.testing.assert_array_equal(rgb[..., 0], [[0, 128], [255, 0]])


def test_constant_mono16_becomes_black():
    rgb = conv.image_to_rgb(conv.numpy_to_image(np.full((3, 3), 77, np.uint16), 'mono16'))
    assert not rgb.any()


def test_row_padding_is_dropped():
    width, height, step = 7, 5, 7 * 3 + 5
    padded = np.full((height, step), 0xEE, np.uint8)
    padded[:, :width * 3] = RGB.reshape(height, width * 3)
    msg = _raw_image('rgb8', padded.tobytes(), height, width, step)
    np.testing.assert_array_equal(conv.image_to_rgb(msg), RGB)


@pytest.mark.parametrize('bigendian', [0, 1])
def test_mono16_byte_order_follows_is_bigendian(bigendian):
    values = np.array([[1, 258], [65535, 4096]], np.uint16)
    raw = values.astype('>u2' if bigendian else '<u2').tobytes()
    msg = _raw_image('mono16', raw, 2, 2, 4, bigendian)
    np.testing.assert_array_equal(conv.image_to_numpy(msg), values)


def test_mono16_with_padding_and_big_endian():
    values = np.array([[1, 2, 3], [400, 500, 600]], np.uint16)
    rows = np.zeros((2, 10), np.uint8)
    rows[:, :6] = np.frombuffer(values.astype('>u2').tobytes(), np.uint8).reshape(2, 6)
    msg = _raw_image('mono16', rows.tobytes(), 2, 3, 10, 1)
    np.testing.assert_array_equal(conv.image_to_numpy(msg), values)


@pytest.mark.parametrize('change,match', [
    ({'data': b'\x00' * 10}, 'data has 10 bytes'),
    ({'step': 20}, 'smaller than width'),
    ({'encoding': 'yuv422'}, 'unsupported image encoding'),
    ({'encoding': '32FC1'}, 'unsupported image encoding'),
    ({'width': 0, 'step': 0, 'data': b''}, 'no pixels'),
])
def test_bad_image_raises_image_format_error(change, match):
    fields = {'encoding': 'rgb8', 'data': RGB.tobytes(), 'height': 5, 'width': 7, 'step': 21}
    fields.update(change)
    msg = _raw_image(fields['encoding'], fields['data'], fields['height'], fields['width'],
                     fields['step'])
    with pytest.raises(ImageFormatError, match=match):
        conv.image_to_rgb(msg)


def test_numpy_to_image_rejects_a_wrong_shape():
    with pytest.raises(ImageFormatError, match='rgb8 needs'):
        conv.numpy_to_image(RGB[..., 0], 'rgb8')


# ---------------------------------------------------------------- compressed images

def _compressed(fmt, pixels, ext):
    ok, data = cv2.imencode(ext, pixels)
    assert ok
    msg = CompressedImage(format=fmt)
    msg.data = array.array('B', data.tobytes())
    return msg


@pytest.mark.parametrize('fmt', ['png', 'rgb8; png compressed bgr8'])
def test_png_decodes_to_exact_rgb(fmt):
    msg = _compressed(fmt, RGB[..., ::-1].copy(), '.png')
    np.testing.assert_array_equal(conv.compressed_to_rgb(msg), RGB)


def test_jpeg_decodes_to_close_rgb():
    smooth = np.zeros((32, 32, 3), np.uint8)
    smooth[..., 0] = 200  # red in RGB
    msg = _compressed('jpeg', smooth[..., ::-1].copy(), '.jpg')
    rgb = conv.compressed_to_rgb(msg)
    assert rgb.shape == (32, 32, 3)
    assert abs(int(rgb[..., 0].mean()) - 200) < 4 and rgb[..., 2].mean() < 4


def test_grayscale_png_is_replicated():
    gray = RGB[..., 2].copy()
    rgb = conv.compressed_to_rgb(_compressed('png', gray, '.png'))
    np.testing.assert_array_equal(rgb[..., 1], gray)


def test_16_bit_png_is_stretched():
    depth = np.array([[0, 500], [1000, 250]], np.uint16)
    rgb = conv.compressed_to_rgb(_compressed('png', depth, '.png'))
    np.testing.assert_array_equal(rgb[..., 0], [[0, 128], [255, 64]])


@pytest.mark.parametrize('fmt,data,match', [
    ('jpeg', b'not a jpeg at all', 'could not decode'),
    ('png', b'', 'no data'),
    ('16UC1; compressedDepth', b'\x00' * 20, 'compressedDepth'),
    ('tiff', b'\x00' * 20, 'unsupported compressed format'),
])
def test_bad_compressed_image_raises_image_format_error(fmt, data, match):
    msg = CompressedImage(format=fmt)
    msg.data = array.array('B', data)
    with pytest.raises(ImageFormatError, match=match):
        conv.compressed_to_rgb(msg)


@pytest.mark.parametrize('fmt,ext,says', [
    ('png', '.png', 'IEND'), ('jpeg', '.jpg', 'end-of-image')])
def test_a_truncated_image_is_one_error_and_nothing_on_stderr(fmt, ext, says, capfd):
    noisy = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    whole = _compressed(fmt, noisy, ext)
    assert conv.compressed_to_rgb(whole).shape == (64, 64, 3)
    capfd.readouterr()
    cut = CompressedImage(format=fmt)
    cut.data = array.array('B', bytes(whole.data)[:len(whole.data) * 2 // 3])
    with pytest.raises(ImageFormatError, match=f'truncated: .*{says}'):
        conv.compressed_to_rgb(cut)
    captured = capfd.readouterr()      # the C libraries print to fd 2 themselves
    assert captured.err == '' and captured.out == ''


# -------------------------------------------------------------------- masks, stamps

def test_mask_becomes_mono8_255_inside():
    mask = np.zeros((4, 6), bool)
    mask[1:3, 2:5] = True
    header = Header(frame_id='cam')
    msg = conv.mask_to_image(mask, header)
    assert (msg.encoding, msg.height, msg.width, msg.step) == ('mono8', 4, 6, 6)
    assert msg.header.frame_id == 'cam'
    np.testing.assert_array_equal(conv.image_to_numpy(msg), mask.astype(np.uint8) * 255)


def test_stamp_round_trip():
    stamp = Time(sec=1700000000, nanosec=123456789)
    ns = conv.stamp_to_ns(stamp)
    assert ns == 1700000000123456789
    assert conv.ns_to_stamp(ns) == stamp


# ----------------------------------------------------------------------- prompts

def _prompt(points=(), labels=(), box=None, mode=SegmentPrompt.MODE_AUTO):
    msg = SegmentPrompt(prompt_id='p')
    msg.points = [Point(x=float(x), y=float(y)) for x, y in points]
    msg.labels = list(labels)
    if box is not None:
        msg.has_box = True
        msg.box = [float(v) for v in box]
    msg.mode = mode
    return msg


def test_prompt_arrays_have_engine_shapes():
    arrays = conv.prompt_to_arrays(_prompt([(3, 4), (5, 6)], [1, 0], box=(1, 2, 8, 9),
                                           mode=SegmentPrompt.MODE_MULTI))
    assert arrays.point_coords.shape == (2, 2) and arrays.point_coords.dtype == np.float32
    np.testing.assert_array_equal(arrays.point_labels, [1, 0])
    np.testing.assert_array_equal(arrays.box, [1, 2, 8, 9])
    assert arrays.mode == 'multi'


def test_box_only_prompt_has_no_points():
    arrays = conv.prompt_to_arrays(_prompt(box=(0, 0, 5, 5)))
    assert arrays.point_coords is None and arrays.point_labels is None
    assert arrays.mode == 'auto'


@pytest.mark.parametrize('kwargs,match', [
    ({'points': [(1, 1)], 'labels': []}, 'labels'),
    ({'points': [(float('nan'), 1)], 'labels': [1]}, 'finite'),
    ({'points': [(1, float('inf'))], 'labels': [1]}, 'finite'),
    ({'points': [(1, 1)], 'labels': [2]}, 'labels must be'),
    ({'box': (10, 10, 5, 20)}, 'inverted'),
    ({'box': (10, 10, 20, 10)}, 'inverted'),
    ({'box': (0, float('nan'), 5, 5)}, 'finite'),
    ({}, 'no point and no box'),
    ({'points': [(1, 1)], 'labels': [1], 'mode': 7}, 'unknown mode'),
])
def test_bad_prompt_raises_prompt_error(kwargs, match):
    with pytest.raises(PromptError, match=match):
        conv.prompt_to_arrays(_prompt(**kwargs))


def test_point_prompt_keeps_the_frame_stamp():
    msg = PointStamped()
    msg.header.stamp = Time(sec=5, nanosec=6)
    msg.point.x, msg.point.y = 12.5, 7.0
    prompt = conv.point_prompt(msg, 'point/1')
    assert prompt.header.stamp == Time(sec=5, nanosec=6)
    assert [(p.x, p.y) for p in prompt.points] == [(12.5, 7.0)]
    assert list(prompt.labels) == [1] and prompt.prompt_id == 'point/1'


def test_box_prompt_sorts_corners():
    msg = PolygonStamped()
    msg.polygon.points = [Point32(x=30.0, y=40.0), Point32(x=10.0, y=5.0)]
    prompt = conv.box_prompt(msg, 'box/1')
    assert prompt.has_box and list(prompt.box) == [10.0, 5.0, 30.0, 40.0]


def test_box_prompt_needs_two_corners():
    msg = PolygonStamped()
    msg.polygon.points = [Point32(x=1.0, y=1.0)] * 3
    with pytest.raises(PromptError, match='exactly two corners'):
        conv.box_prompt(msg, 'box/1')


def test_click_prompt_refers_to_the_latest_frame():
    prompt = conv.click_prompt(Point(x=3.0, y=4.0), 'click/1')
    assert conv.stamp_to_ns(prompt.header.stamp) == 0
    assert [(p.x, p.y) for p in prompt.points] == [(3.0, 4.0)]


# ----------------------------------------------------------------------- results

def _prediction(ious, levels, mode='multi'):
    count = len(ious)
    masks = np.zeros((count, 6, 8), bool)
    for i in range(count):
        masks[i, 1:2 + i, 2:3 + 2 * i] = True
    areas = masks.reshape(count, -1).sum(1).astype(np.int64)
    boxes = np.array([[2, 1, 2 + 2 * i, 1 + i] for i in range(count)], np.int64)
    return Prediction(
        masks=masks, iou=np.array(ious, np.float32),
        stability=np.full(count, 0.5, np.float32),
        low_res_logits=np.zeros((count, 4, 4), np.float32), levels=tuple(levels),
        best_index=int(np.argmax(ious)), areas=areas, boxes=boxes,
        tokens=np.arange(1, count + 1), mode=mode)


def test_prediction_becomes_result_with_masks_in_order():
    header = Header(frame_id='cam', stamp=Time(sec=3))
    result = conv.prediction_to_result(_prediction([0.5, 0.9, 0.7],
                                                   ('subpart', 'part', 'whole')), header, 'p')
    assert result.status == SegmentResult.STATUS_OK
    assert result.best_index == 1
    assert result.mode == SegmentPrompt.MODE_MULTI
    assert [m.level for m in result.masks] == [
        SegmentMask.LEVEL_SUBPART, SegmentMask.LEVEL_PART, SegmentMask.LEVEL_WHOLE]
    assert [m.area for m in result.masks] == [1, 6, 15]
    np.testing.assert_allclose([m.predicted_iou for m in result.masks], [0.5, 0.9, 0.7])
    roi = result.masks[2].bbox
    assert (roi.x_offset, roi.y_offset, roi.width, roi.height) == (2, 1, 5, 3)
    assert result.masks[0].mask.header.frame_id == 'cam'
    assert result.masks[0].mask.encoding == 'mono8'


def test_min_iou_drops_masks_and_reindexes_best():
    result = conv.prediction_to_result(
        _prediction([0.5, 0.9, 0.7], ('subpart', 'part', 'whole')), Header(), 'p',
        min_iou=0.6)
    assert [m.level for m in result.masks] == [SegmentMask.LEVEL_PART, SegmentMask.LEVEL_WHOLE]
    assert result.best_index == 0


def test_zero_min_iou_keeps_masks_with_negative_predictions():
    result = conv.prediction_to_result(
        _prediction([-0.05, 0.9, 0.7], ('subpart', 'part', 'whole')), Header(), 'p')
    assert len(result.masks) == 3 and result.best_index == 1


def test_all_masks_below_min_iou_is_filtered():
    result = conv.prediction_to_result(_prediction([0.3], ('single',), 'single'),
                                       Header(), 'p', min_iou=0.8)
    assert result.status == SegmentResult.STATUS_FILTERED
    assert len(result.masks) == 0 and result.best_index == -1
    assert 'min_iou' in result.message


def test_error_result_has_no_masks():
    result = conv.error_result(Header(frame_id='x'), 'p', SegmentResult.STATUS_NO_FRAME, 'why')
    assert (result.status, result.best_index, len(result.masks)) == (
        SegmentResult.STATUS_NO_FRAME, -1, 0)
    assert result.message == 'why'
