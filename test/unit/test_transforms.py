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

"""Image and coordinate transforms: upstream rounding, PIL-like resize, padding, postprocess."""

import numpy as np
import pytest
from sam_ros.core.build import build_tiny_sam, TinySamConfig
from sam_ros.core.errors import ImageFormatError
from sam_ros.core.transforms import (as_rgb, postprocess_logits, preprocess_shape,
                                     resize_image, scale_boxes, scale_coords, to_input_tensor)
import torch

_PIL_BITS = 22  # PIL's PRECISION_BITS for 8-bit resampling: 32 - 8 - 2


def _pil_coefficients(in_size, out_size):
    """Return PIL's fixed-point bilinear (triangle) filter taps: (first index, weights)."""
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    rows = []
    for out_index in range(out_size):
        center = (out_index + 0.5) * scale
        first = max(int(center - filter_scale + 0.5), 0)
        last = min(int(center + filter_scale + 0.5), in_size)
        weights = [max(0.0, 1.0 - abs((x + first - center + 0.5) / filter_scale))
                   for x in range(last - first)]
        total = sum(weights)
        weights = [w / total for w in weights]
        fixed = [int(0.5 + w * (1 << _PIL_BITS)) for w in weights]
        rows.append((first, np.array(fixed, dtype=np.int64)))
    return rows


def _pil_pass(image, out_size, axis):
    """One separable PIL pass along ``axis``: fixed-point sum, round, clip to uint8."""
    moved = np.moveaxis(image, axis, 0).astype(np.int64)
    out = np.empty((out_size,) + moved.shape[1:], dtype=np.int64)
    for index, (first, weights) in enumerate(_pil_coefficients(moved.shape[0], out_size)):
        acc = np.tensordot(weights, moved[first:first + len(weights)], axes=(0, 0))
        out[index] = np.clip((acc + (1 << (_PIL_BITS - 1))) >> _PIL_BITS, 0, 255)
    return np.moveaxis(out.astype(np.uint8), 0, axis)


def _pil_bilinear(image, size):
    """Re-implement PIL's Image.resize(BILINEAR) on uint8: horizontal pass, then vertical."""
    out = image
    if size[1] != image.shape[1]:
        out = _pil_pass(out, size[1], 1)
    if size[0] != image.shape[0]:
        out = _pil_pass(out, size[0], 0)
    return out


@pytest.mark.parametrize('size, long_side, expected', [
    ((480, 640), 1024, (768, 1024)),
    ((640, 480), 1024, (1024, 768)),
    ((720, 1280), 1024, (576, 1024)),
    ((1080, 1920), 1024, (576, 1024)),
    ((333, 500), 1024, (682, 1024)),
    ((3, 4), 6, (5, 6)),  # 4.5 + 0.5 rounds half up
    ((1, 1000), 1024, (1, 1024)),
    ((100, 100), 512, (512, 512)),
])
def test_preprocess_shape_rounds_like_upstream(size, long_side, expected):
    assert preprocess_shape(size[0], size[1], long_side) == expected


@pytest.mark.parametrize('size, long_side, max_diff, max_mean', [
    ((480, 640), 1024, 0, 0.0),  # VGA camera frames: bit-identical to PIL
    ((100, 77), 1024, 1, 0.01),
    ((720, 1280), 1024, 2, 0.1),
    ((301, 1999), 1024, 2, 0.1),
    ((640, 480), 512, 2, 0.1),
])
def test_resize_matches_pil_bilinear_within_rounding(size, long_side, max_diff, max_mean):
    # torch's uint8 kernel uses 16-bit fixed-point weights where PIL uses 22-bit ones,
    # so a few pixels may differ by one or two levels.
    image = np.random.default_rng(2).integers(0, 256, (*size, 3), dtype=np.uint8)
    out = resize_image(image, long_side)
    assert out.shape == (*preprocess_shape(*size, long_side), 3) and out.dtype == np.uint8
    reference = _pil_bilinear(image, out.shape[:2]).astype(np.int64)
    diff = np.abs(out.astype(np.int64) - reference)
    assert diff.max() <= max_diff
    assert diff.mean() <= max_mean


def test_resize_antialiases_when_downscaling():
    image = np.random.default_rng(3).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    out = resize_image(image, 1024).astype(np.float64)
    # Plain bilinear (no antialiasing) of a 1.25x reduction of noise is far off PIL's.
    naive = torch.nn.functional.interpolate(
        torch.from_numpy(image).permute(2, 0, 1)[None].float(), size=out.shape[:2],
        mode='bilinear', align_corners=False)[0].permute(1, 2, 0).round().numpy()
    assert np.abs(naive - _pil_bilinear(image, out.shape[:2])).mean() > 1.0
    assert np.abs(out - _pil_bilinear(image, out.shape[:2])).mean() < 0.1


def test_resize_keeps_an_image_already_at_size():
    image = np.random.default_rng(3).integers(0, 256, (768, 1024, 3), dtype=np.uint8)
    np.testing.assert_array_equal(resize_image(image, 1024), image)


def test_scale_coords_uses_the_rounded_new_size_per_axis():
    coords = np.array([[500.0, 333.0], [0.0, 0.0], [250.0, 100.0]])
    out = scale_coords(coords, (333, 500), (682, 1024))
    np.testing.assert_allclose(out[:, 0], coords[:, 0] * 1024 / 500, rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], coords[:, 1] * 682 / 333, rtol=1e-6)
    assert out.dtype == np.float32 and out.shape == coords.shape
    assert coords[0, 0] == 500.0  # the input is not modified


def test_scale_boxes_scales_both_corners():
    boxes = np.array([[10.0, 20.0, 300.0, 200.0]])
    out = scale_boxes(boxes, (480, 640), (768, 1024))
    np.testing.assert_allclose(out, [[16.0, 32.0, 480.0, 320.0]])


def test_to_input_tensor_is_nchw_float_on_the_0_255_scale():
    image = np.random.default_rng(4).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    tensor = to_input_tensor(image, torch.device('cpu'))
    assert tensor.shape == (1, 3, 5, 7) and tensor.dtype == torch.float32
    assert tensor[0, 2, 4, 6].item() == image[4, 6, 2]


def test_padding_is_bottom_right_and_zero_after_normalisation():
    model = build_tiny_sam(TinySamConfig(img_size=64, prompt_embed_dim=32))
    image = np.full((30, 40, 3), 200, dtype=np.uint8)
    resized = resize_image(image, model.image_size)
    assert resized.shape == (48, 64, 3)
    x = model.preprocess(to_input_tensor(resized, torch.device('cpu')))
    assert x.shape == (1, 3, 64, 64)
    assert torch.all(x[:, :, 48:, :] == 0)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    torch.testing.assert_close(x[0, :, :48, :], ((200 - mean) / std).expand(3, 48, 64))


def test_postprocess_shapes_and_padding_is_cropped_away():
    # Positive logits only in the rows of the padded frame below the image content.
    low_res = -torch.ones(1, 3, 64, 64)
    low_res[..., 50:, :] = 5.0  # rows 50..63 of 64 lie beyond input_size[0] = 192 of 256
    logits = postprocess_logits(low_res, (192, 256), (480, 640), 256)
    assert logits.shape == (1, 3, 480, 640) and logits.dtype == torch.float32
    assert not torch.any(logits > 0)
    low_res[..., :10, :] = 5.0
    masks = postprocess_logits(low_res, (192, 256), (480, 640), 256) > 0
    rows = torch.nonzero(masks[0, 0].any(dim=1)).flatten()
    assert rows.min() == 0 and 90 < rows.max() < 110  # ~41 of 192 content rows


def test_postprocess_upcasts_bf16_logits():
    low_res = torch.randn(2, 1, 16, 16).bfloat16()
    out = postprocess_logits(low_res, (64, 48), (100, 75), 64)
    assert out.dtype == torch.float32 and out.shape == (2, 1, 100, 75)


def test_as_rgb_flips_bgr_and_replicates_grayscale():
    image = np.random.default_rng(5).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(as_rgb(image[:, :, ::-1], 'BGR'), image)
    gray = image[:, :, 0]
    for candidate in (gray, gray[:, :, None]):
        out = as_rgb(candidate, 'BGR')
        assert out.shape == (4, 6, 3) and out.flags['C_CONTIGUOUS']
        np.testing.assert_array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))


@pytest.mark.parametrize('image, image_format, fragment', [
    (np.zeros((4, 4, 3), np.float32), 'RGB', 'uint8'),
    (np.zeros((4, 4, 4), np.uint8), 'RGB', 'alpha'),
    (np.zeros((0, 4, 3), np.uint8), 'RGB', 'empty'),
    (np.zeros((1, 4, 4, 3), np.uint8), 'RGB', 'HxWx3'),
    (np.zeros((4, 4, 3), np.uint8), 'RGBA', 'image_format'),
    ([[0, 1], [2, 3]], 'RGB', 'numpy'),
])
def test_as_rgb_rejects_bad_images_with_a_clear_message(image, image_format, fragment):
    with pytest.raises(ImageFormatError, match=fragment):
        as_rgb(image, image_format)


def test_a_channels_first_image_is_told_to_transpose_not_to_drop_alpha():
    with pytest.raises(ImageFormatError, match=r'channels-first .*transpose\(1, 2, 0\)') as info:
        as_rgb(np.zeros((3, 48, 64), np.uint8))
    assert 'alpha' not in str(info.value)
