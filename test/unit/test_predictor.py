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

"""SamPredictor on a real (tiny, randomly initialised) SAM: modes, order, reuse, errors."""

from concurrent.futures import ThreadPoolExecutor
import copy

import numpy as np
import pytest
from sam_ros.core.build import build_embedded_untrained, build_tiny_sam, TinySamConfig
from sam_ros.core.errors import ImageFormatError, PromptError, SamError
from sam_ros.core.predictor import ImageEmbedding, Prediction, SamPredictor
from sam_ros.core.selection import stability_score
from sam_ros.core.transforms import resize_image, scale_coords, to_input_tensor
import torch

_TINY = TinySamConfig(img_size=64, embed_dims=(8, 16, 16, 24), depths=(1, 1, 1, 1),
                      num_heads=(1, 2, 2, 3), window_sizes=(4, 4, 4, 4),
                      downsample_strides=(2, 1, 1), prompt_embed_dim=32, decoder_num_heads=4,
                      decoder_mlp_dim=64, iou_head_hidden_dim=32)
_H, _W = 48, 60


def _randomised(model, seed=0):
    """Give every weight O(1) random values so that outputs vary with the prompt."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                noise = torch.randn(tensor.shape, generator=gen)
                tensor.copy_(noise.abs() + 0.5 if name.endswith('running_var') else noise * 0.3)
    return model


def _frame(height=_H, width=_W, seed=0):
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    image = np.zeros((height, width, 3)) + rng.uniform(30, 80, 3)
    for _ in range(4):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(5, 20)
        image[(ys - cy) ** 2 + (xs - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    return np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope='module')
def predictor():
    pred = SamPredictor(_randomised(build_tiny_sam(_TINY)), device='cpu', precision='fp32')
    pred.set_image(_frame())
    return pred


def _raw_decode(pred, coords, labels):
    """Run prompt encoder + decoder by hand (no predictor logic): (4, 4G, 4G), (4,)."""
    emb = pred.embedding
    scaled = scale_coords(np.asarray(coords, float), emb.original_size, emb.input_size)
    model = pred.model
    with torch.inference_mode():
        sparse, dense = model.prompt_encoder(
            points=(torch.from_numpy(scaled)[None], torch.tensor(labels)[None]))
        low, iou = model.mask_decoder.predict_masks(
            emb.features, model.prompt_encoder.get_dense_pe(), sparse, dense)
    return low[0].numpy(), iou[0].numpy()


def test_single_point_returns_three_masks_sorted_by_area(predictor):
    pred = predictor.segment(point_coords=[[20, 30]], point_labels=[1])
    assert isinstance(pred, Prediction) and pred.mode == 'multi'
    assert pred.masks.shape == (3, _H, _W) and pred.masks.dtype == bool
    assert pred.levels == ('subpart', 'part', 'whole')
    assert list(pred.areas) == sorted(pred.areas)
    np.testing.assert_array_equal(pred.areas, pred.masks.reshape(3, -1).sum(axis=1))
    assert sorted(pred.tokens.tolist()) == [1, 2, 3]
    assert pred.iou.dtype == np.float32 and pred.stability.shape == (3,)
    assert pred.low_res_logits.shape == (3, 32, 32) and pred.boxes.shape == (3, 4)


@pytest.mark.parametrize('kwargs, mode, count', [
    ({'box': [5, 5, 40, 30]}, 'single', 1),
    ({'point_coords': [[10, 10], [30, 20]], 'point_labels': [1, 0]}, 'single', 1),
    ({'point_coords': [[10, 10]], 'point_labels': [1], 'box': [5, 5, 40, 30]}, 'single', 1),
    ({'point_coords': [[10, 10]], 'point_labels': [1], 'mode': 'single'}, 'single', 1),
    ({'box': [5, 5, 40, 30], 'mode': 'multi'}, 'multi', 3),
    ({'point_coords': [[10, 10], [3, 3]], 'point_labels': [1, -1]}, 'multi', 3),
])
def test_automatic_mode_and_overrides(predictor, kwargs, mode, count):
    pred = predictor.segment(**kwargs)
    assert pred.mode == mode and len(pred.masks) == count
    if mode == 'single':
        assert pred.levels == ('single',) and pred.tokens.tolist() == [0]


def test_masks_are_the_decoder_tokens_they_claim(predictor):
    coords, labels = [[25.0, 12.0]], [1]
    low, iou = _raw_decode(predictor, coords + [[0.0, 0.0]], labels + [-1])
    pred = predictor.segment(point_coords=coords, point_labels=labels)
    # The predictor appends no padding of its own: the prompt encoder pads a box-less
    # prompt, so the hand-made padding point above makes the raw run differ...
    low_plain, iou_plain = _raw_decode(predictor, coords, labels)
    assert not np.array_equal(low, low_plain)
    # ...and the predictor matches the plain run token for token.
    for i, token in enumerate(pred.tokens):
        np.testing.assert_array_equal(pred.low_res_logits[i], low_plain[token])
        assert pred.iou[i] == iou_plain[token]
    single = predictor.segment(point_coords=coords, point_labels=labels, mode='single')
    np.testing.assert_array_equal(single.low_res_logits[0], low_plain[0])


def test_predict_returns_upstream_token_order(predictor):
    coords, labels = np.array([[33.0, 21.0]]), np.array([1])
    low_plain, iou_plain = _raw_decode(predictor, coords, labels)
    masks, ious, low = predictor.predict(coords, labels, multimask_output=True)
    assert masks.shape == (3, _H, _W) and masks.dtype == bool
    np.testing.assert_array_equal(ious, iou_plain[1:])
    np.testing.assert_array_equal(low, low_plain[1:])
    pred = predictor.segment(coords, labels)
    np.testing.assert_array_equal(masks, pred.masks[np.argsort(pred.tokens)])
    masks, ious, low = predictor.predict(coords, labels, multimask_output=False)
    assert masks.shape == (1, _H, _W)
    np.testing.assert_array_equal(ious, iou_plain[:1])
    logits, _, _ = predictor.predict(coords, labels, return_logits=True)
    assert logits.dtype == np.float32
    np.testing.assert_array_equal(logits > 0, predictor.predict(coords, labels)[0])


def test_best_index_stability_and_boxes_describe_the_masks(predictor):
    coords, labels = np.array([[12.0, 40.0]]), np.array([1])
    pred = predictor.segment(coords, labels)
    assert pred.best_index == int(np.argmax(pred.iou))
    logits, _, _ = predictor.predict(coords, labels, return_logits=True)
    order = np.argsort(np.argsort(pred.tokens))  # token order -> sorted position
    np.testing.assert_allclose(pred.stability[order], stability_score(logits))
    for mask, box, area in zip(pred.masks, pred.boxes, pred.areas):
        if area == 0:
            assert box.tolist() == [0, 0, 0, 0]
            continue
        rows, cols = np.nonzero(mask)
        assert box.tolist() == [cols.min(), rows.min(), cols.max(), rows.max()]


def test_padding_points_are_ignored_wherever_they_are(predictor):
    a = predictor.segment([[20, 20], [0, 0]], [1, -1])
    b = predictor.segment([[20, 20], [55, 47]], [1, -1])
    np.testing.assert_array_equal(a.low_res_logits, b.low_res_logits)
    np.testing.assert_array_equal(a.iou, b.iou)


def test_background_points_change_the_answer(predictor):
    fg = predictor.segment([[20, 20], [40, 30]], [1, 1])
    bg = predictor.segment([[20, 20], [40, 30]], [1, 0])
    assert not np.array_equal(fg.low_res_logits, bg.low_res_logits)


def test_segment_on_a_stored_embedding_equals_segment_after_set_image(predictor):
    image = _frame(seed=3)
    stored = predictor.encode(image)
    assert isinstance(stored, ImageEmbedding)
    assert stored.features.shape == (1, 32, 8, 8)
    assert stored.original_size == (_H, _W) and stored.input_size == (51, 64)
    other = predictor.embedding
    predictor.set_image(image)
    try:
        live = predictor.segment(box=[4, 6, 50, 40])
        reused = SamPredictor.segment(predictor, box=[4, 6, 50, 40], embedding=stored)
    finally:
        predictor.set_embedding(other)
    for field in ('masks', 'iou', 'stability', 'low_res_logits', 'areas', 'boxes'):
        np.testing.assert_array_equal(getattr(live, field), getattr(reused, field))


def test_fp32_encoding_is_deterministic(predictor):
    image = _frame(seed=4)
    first, second = predictor.encode(image), predictor.encode(image)
    assert torch.equal(first.features, second.features)


def test_encode_handles_bgr_and_grayscale(predictor):
    image = _frame(seed=5)
    rgb = predictor.encode(image).features
    assert torch.equal(predictor.encode(image[:, :, ::-1].copy(), 'BGR').features, rgb)
    gray = image[:, :, 1]
    replicated = predictor.encode(np.repeat(gray[:, :, None], 3, axis=2)).features
    assert torch.equal(predictor.encode(gray).features, replicated)
    assert torch.equal(predictor.encode(gray[:, :, None]).features, replicated)


@pytest.mark.parametrize('image, fmt, fragment', [
    (np.zeros((8, 8, 3), np.float64), 'RGB', 'uint8'),
    (np.zeros((8, 8, 4), np.uint8), 'RGB', 'HxWx3'),
    (np.zeros((8, 0, 3), np.uint8), 'RGB', 'empty'),
    (np.zeros((8, 8, 3), np.uint8), 'YUV', 'image_format'),
])
def test_bad_images_raise_image_format_error(predictor, image, fmt, fragment):
    with pytest.raises(ImageFormatError, match=fragment):
        predictor.encode(image, fmt)


_BAD_PROMPTS = [
    ({'point_coords': [[np.nan, 3]], 'point_labels': [1]}, 'NaN'),
    ({'point_coords': [[np.inf, 3]], 'point_labels': [1]}, 'infinite'),
    ({'point_coords': [[-0.5, 3]], 'point_labels': [1]}, 'outside'),
    ({'point_coords': [[3, _H + 0.5]], 'point_labels': [1]}, 'outside'),
    ({'point_coords': [[3, 3]], 'point_labels': [2]}, 'label 2'),
    ({'point_coords': [[3, 3]], 'point_labels': [-2]}, 'label -2'),
    ({'point_coords': [[3, 3], [4, 4]], 'point_labels': [1]}, 'one label per point'),
    ({'point_coords': [[3, 3]]}, 'together'),
    ({'point_coords': [[3, 3, 1]], 'point_labels': [1]}, 'shape'),
    ({'point_coords': [['a', 3]], 'point_labels': [1]}, 'numeric'),
    ({'box': [10, 5, 10, 20]}, 'inverted'),
    ({'box': [10, 25, 20, 20]}, 'inverted'),
    ({'box': [-9, 0, -1, 10]}, 'does not overlap'),
    ({'box': [_W, 0, _W + 1, 10]}, 'does not overlap'),
    ({'box': [0, 0, np.nan, 10]}, 'NaN'),
    ({'box': [0, 0, 10]}, 'shape'),
    ({}, 'no prompt'),
    ({'point_coords': [[3, 3]], 'point_labels': [-1]}, 'no prompt'),
    ({'point_coords': np.zeros((0, 2)), 'point_labels': np.zeros(0)}, 'no prompt'),
    ({'mask_input': np.zeros((1, 32, 32))}, 'no prompt'),
    ({'box': [0, 0, 10, 10], 'mask_input': np.zeros((1, 64, 64))}, 'mask_input'),
    ({'box': [0, 0, 10, 10], 'mode': 'best'}, 'mode'),
]


@pytest.mark.parametrize('kwargs, fragment', _BAD_PROMPTS)
def test_bad_prompts_raise_prompt_error_saying_what_is_wrong(predictor, kwargs, fragment):
    with pytest.raises(PromptError, match=fragment):
        predictor.segment(**kwargs)


def test_points_on_the_image_border_are_inside(predictor):
    pred = predictor.segment(point_coords=[[0, 0], [_W, _H]], point_labels=[1, 1])
    assert pred.masks.shape == (1, _H, _W)
    assert predictor.segment(box=[0, 0, _W, _H]).masks.shape == (1, _H, _W)


def test_bad_batches_raise_prompt_error(predictor):
    with pytest.raises(PromptError, match='prompt counts differ'):
        predictor.segment_batch(boxes=[[0, 0, 5, 5], [1, 1, 6, 6]],
                                point_coords=[[[2, 2]]], point_labels=[[1]])
    with pytest.raises(PromptError, match='no prompt'):
        predictor.segment_batch(point_coords=[[[2, 2]], [[3, 3]]], point_labels=[[1], [-1]])
    with pytest.raises(PromptError, match='shape'):
        predictor.segment_batch(boxes=[0, 0, 5, 5])


def test_batched_boxes_match_one_by_one(predictor):
    boxes = np.array([[2, 3, 30, 40], [10, 10, 59, 47], [0, 0, 20, 15]], dtype=float)
    batch = predictor.segment_batch(boxes=boxes)
    assert len(batch) == 3
    for box, pred in zip(boxes, batch):
        alone = predictor.segment(box=box)
        assert pred.mode == 'single'
        np.testing.assert_allclose(pred.low_res_logits, alone.low_res_logits, atol=1e-4)
        np.testing.assert_allclose(pred.iou, alone.iou, atol=1e-5)
        assert np.mean(pred.masks == alone.masks) > 0.999


def test_batched_points_choose_the_mode_per_prompt(predictor):
    coords = np.array([[[10, 10], [30, 30]], [[40, 20], [0, 0]]], dtype=float)
    labels = np.array([[1, 1], [1, -1]])
    first, second = predictor.segment_batch(point_coords=coords, point_labels=labels)
    assert (first.mode, second.mode) == ('single', 'multi')
    # A padded row is the same prompt as its padded single form (the -1 point is one
    # more not-a-point token, so it is close to, not equal to, the unpadded prompt).
    alone = predictor.segment(coords[1], labels[1])
    np.testing.assert_allclose(second.iou, alone.iou, atol=1e-5)
    np.testing.assert_allclose(second.low_res_logits, alone.low_res_logits, atol=1e-4)


def test_low_res_logits_feed_back_as_mask_input(predictor):
    first = predictor.segment([[20, 20]], [1])
    refined = predictor.segment([[20, 20]], [1], mask_input=first.low_res_logits[None, 0],
                                mode='single')
    assert refined.masks.shape == (1, _H, _W)
    assert not np.array_equal(refined.low_res_logits[0], first.low_res_logits[0])


def test_state_management_and_missing_image():
    pred = SamPredictor(build_tiny_sam(_TINY), device='cpu', precision='fp32')
    assert not pred.is_image_set
    with pytest.raises(SamError, match='set_image'):
        pred.predict(point_coords=[[1, 1]], point_labels=[1])
    embedding = pred.encode(_frame())
    pred.set_embedding(embedding)
    assert pred.is_image_set and pred.get_image_embedding() is embedding.features
    pred.reset_image()
    assert not pred.is_image_set
    with pytest.raises(ImageFormatError, match='do not fit'):
        pred.set_embedding(ImageEmbedding(torch.zeros(1, 16, 8, 8), (_H, _W), (51, 64)))


def test_concurrent_encode_and_segment_match_serial_results(predictor):
    images = [_frame(seed=s) for s in range(4)]
    serial = [predictor.segment([[20, 20]], [1], embedding=predictor.encode(im))
              for im in images]

    def work(image):
        return predictor.segment([[20, 20]], [1], embedding=predictor.encode(image))

    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(work, images))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.low_res_logits, b.low_res_logits)


def test_folding_batchnorm_keeps_the_encoder_output():
    torch.manual_seed(0)
    reference = _randomised(build_tiny_sam(_TINY)).eval()
    pred = SamPredictor(copy.deepcopy(reference), device='cpu', precision='fp32')
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in pred.model.modules())
    image = _frame(seed=6)
    resized = resize_image(image, reference.image_size)
    with torch.inference_mode():
        expected = reference.image_encoder(
            reference.preprocess(to_input_tensor(resized, torch.device('cpu'))))
    torch.testing.assert_close(pred.encode(image).features, expected, rtol=1e-4, atol=1e-4)


def test_bf16_keeps_the_prompt_encoder_and_outputs_in_fp32():
    pred = SamPredictor(build_tiny_sam(_TINY), device='cpu', precision='bf16')
    assert next(pred.model.image_encoder.parameters()).dtype == torch.bfloat16
    assert next(pred.model.mask_decoder.parameters()).dtype == torch.bfloat16
    assert next(pred.model.prompt_encoder.parameters()).dtype == torch.float32
    pred.set_image(_frame())
    assert pred.embedding.features.dtype == torch.bfloat16
    out = pred.segment([[20, 20]], [1])
    assert out.iou.dtype == np.float32 and out.low_res_logits.dtype == np.float32


def test_bf16_agrees_with_fp32_on_the_embedded_architecture():
    """Quality check (not speed): bf16 masks and IoUs stay close to fp32's."""
    torch.manual_seed(0)
    reference = SamPredictor(build_embedded_untrained(), device='cpu', precision='fp32')
    torch.manual_seed(0)
    candidate = SamPredictor(build_embedded_untrained(), device='cpu', precision='bf16')
    image = _frame(240, 320, seed=7)
    ref_emb, cand_emb = reference.encode(image), candidate.encode(image)
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(0, 320, 6), rng.uniform(0, 240, 6)], axis=1)
    same = total = 0
    worst_iou = 0.0
    for point in points:
        a = reference.segment(point[None], [1], mode='multi', embedding=ref_emb)
        b = candidate.segment(point[None], [1], mode='multi', embedding=cand_emb)
        a_order, b_order = np.argsort(a.tokens), np.argsort(b.tokens)
        same += np.count_nonzero(a.masks[a_order] == b.masks[b_order])
        total += a.masks.size
        worst_iou = max(worst_iou, float(np.abs(a.iou[a_order] - b.iou[b_order]).max()))
    assert same / total >= 0.98
    assert worst_iou <= 0.02
