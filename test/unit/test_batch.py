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

"""Batched prompts (sam_ros.core.batch) and box clipping on a tiny random SAM (fp32)."""

import numpy as np
import pytest
from sam_ros.core.batch import BatchPrompt, outcome_labels, segment_prompts
from sam_ros.core.build import build_tiny_sam, TinySamConfig
from sam_ros.core.errors import PromptError
from sam_ros.core.predictor import SamPredictor
from sam_ros.core.transforms import clip_boxes
import torch

_TINY = TinySamConfig(img_size=64, embed_dims=(8, 16, 16, 24), depths=(1, 1, 1, 1),
                      num_heads=(1, 2, 2, 3), window_sizes=(4, 4, 4, 4),
                      downsample_strides=(2, 1, 1), prompt_embed_dim=32, decoder_num_heads=4,
                      decoder_mlp_dim=64, iou_head_hidden_dim=32)
_H, _W = 48, 60


def _randomised(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                noise = torch.randn(tensor.shape, generator=gen)
                tensor.copy_(noise.abs() + 0.5 if name.endswith('running_var') else noise * 0.3)
    return model


@pytest.fixture(scope='module')
def predictor():
    pred = SamPredictor(_randomised(build_tiny_sam(_TINY)), device='cpu', precision='fp32')
    rng = np.random.default_rng(0)
    pred.set_image(rng.integers(0, 255, (_H, _W, 3), dtype=np.uint8))
    return pred


def _same(batched, alone):
    assert batched.mode == alone.mode and batched.levels == alone.levels
    np.testing.assert_allclose(batched.low_res_logits, alone.low_res_logits, atol=1e-4)
    np.testing.assert_allclose(batched.iou, alone.iou, atol=1e-5)
    assert np.mean(batched.masks == alone.masks) > 0.999
    np.testing.assert_array_equal(batched.tokens, alone.tokens)


def test_clip_boxes_cuts_to_the_image_and_reports_the_fraction():
    boxes = np.array([[-10.0, 0, 10, 10], [5, 5, 15, 15], [50, 40, 70, 60]])
    clipped, fraction = clip_boxes(boxes, (_H, _W))
    np.testing.assert_array_equal(clipped, [[0, 0, 10, 10], [5, 5, 15, 15], [50, 40, 60, 48]])
    np.testing.assert_allclose(fraction, [0.5, 0.0, 1 - 80 / 400])
    with pytest.raises(PromptError, match='does not overlap'):
        clip_boxes(np.array([[_W + 1.0, 0, _W + 5, 10]]), (_H, _W))
    with pytest.raises(PromptError, match='does not overlap'):
        clip_boxes(np.array([[-5.0, -5, 0, 10]]), (_H, _W))


def test_a_box_past_the_border_is_clipped_not_refused(predictor):
    past = predictor.segment(box=[-3, -2, 40, _H + 4])
    inside = predictor.segment(box=[0, 0, 40, _H])
    _same(past, inside)
    assert past.box_clipped > 0.0 and inside.box_clipped == 0.0
    # One such box no longer fails a whole segment_batch.
    batch = predictor.segment_batch(boxes=[[2, 3, 30, 40], [-3, -2, 40, _H + 4]])
    _same(batch[1], inside)


def test_batched_boxes_equal_single_prompts_in_one_pass(predictor):
    rng = np.random.default_rng(1)
    corners = rng.uniform(0, 1, (12, 2, 2)) * [_W, _H]
    boxes = np.concatenate([corners.min(1), corners.max(1) + 2], axis=1)
    result = segment_prompts(predictor, [BatchPrompt(box=b) for b in boxes])
    assert result.passes == 1 and len(result.outcomes) == 12
    for box, outcome in zip(boxes, result.outcomes):
        assert outcome.ok and outcome.error == ''
        _same(outcome.prediction, predictor.segment(box=box))


def test_mixed_prompts_equal_single_prompts_with_the_same_padding(predictor):
    prompts = [
        BatchPrompt(box=[2, 3, 30, 40]),
        BatchPrompt(point_coords=[[10, 12]], point_labels=[1]),
        BatchPrompt(point_coords=[[20, 20], [40, 30], [5, 5]], point_labels=[1, 0, 1]),
        BatchPrompt(point_coords=[[30, 20]], point_labels=[1], box=[10, 5, 50, 40]),
        BatchPrompt(box=[10, 10, 59, 47], mode='multi'),
        BatchPrompt(point_coords=[[44, 8]], point_labels=[1], mode='single'),
    ]
    result = segment_prompts(predictor, prompts)
    # Groups: boxes only, points only, points + box: three passes, not six.
    assert result.passes == 3
    single = [
        predictor.segment(box=[2, 3, 30, 40]),
        predictor.segment([[10, 12], [0, 0], [0, 0]], [1, -1, -1]),
        predictor.segment([[20, 20], [40, 30], [5, 5]], [1, 0, 1]),
        predictor.segment([[30, 20]], [1], box=[10, 5, 50, 40]),
        predictor.segment(box=[10, 10, 59, 47], mode='multi'),
        predictor.segment([[44, 8], [0, 0], [0, 0]], [1, -1, -1], mode='single'),
    ]
    assert [o.prediction.mode for o in result.outcomes] == [
        'single', 'multi', 'single', 'single', 'multi', 'single']
    for outcome, alone in zip(result.outcomes, single):
        _same(outcome.prediction, alone)


def test_a_bad_prompt_fails_only_itself(predictor):
    prompts = [BatchPrompt(box=[2, 3, 30, 40]), BatchPrompt(box=[_W + 5, 0, _W + 9, 9]),
               BatchPrompt(box=[10, 10, 5, 20]),
               BatchPrompt(point_coords=[[np.nan, 1]], point_labels=[1]),
               BatchPrompt(box=[1, 1, 20, 20], mode='best'), BatchPrompt(),
               BatchPrompt(box=[5, 5, 50, 40])]
    outcomes = segment_prompts(predictor, prompts).outcomes
    assert [o.ok for o in outcomes] == [True, False, False, False, False, False, True]
    assert 'does not overlap' in outcomes[1].error
    assert 'inverted' in outcomes[2].error and 'NaN' in outcomes[3].error
    assert 'mode' in outcomes[4].error and 'no prompt' in outcomes[5].error
    _same(outcomes[6].prediction, predictor.segment(box=[5, 5, 50, 40]))


def test_max_per_pass_splits_the_batch_without_changing_results(predictor):
    boxes = [[i, i, 20 + 2 * i, 15 + i] for i in range(7)]
    whole = segment_prompts(predictor, [BatchPrompt(box=b) for b in boxes])
    split = segment_prompts(predictor, [BatchPrompt(box=b) for b in boxes], max_per_pass=3)
    assert (whole.passes, split.passes) == (1, 3)
    for a, b in zip(whole.outcomes, split.outcomes):
        _same(a.prediction, b.prediction)
    with pytest.raises(ValueError, match='max_per_pass'):
        segment_prompts(predictor, [BatchPrompt(box=boxes[0])], max_per_pass=0)


def test_outcome_labels_paint_the_best_masks(predictor):
    prompts = [BatchPrompt(box=[2, 3, 30, 40]), BatchPrompt(box=[-9, -9, -1, -1]),
               BatchPrompt(point_coords=[[40, 30]], point_labels=[1])]
    outcomes = segment_prompts(predictor, prompts).outcomes
    image = outcome_labels(outcomes, (_H, _W))
    assert image.labels.shape == (_H, _W) and image.labels.dtype == np.uint16
    assert not np.any(image.labels == 2) and image.confidence[1] == 0.0
    point = outcomes[2].prediction
    assert image.confidence[2] == pytest.approx(point.iou[point.best_index])
    np.testing.assert_array_equal(image.labels == 3,
                                  point.masks[point.best_index] & (image.labels != 1)
                                  if image.confidence[0] >= image.confidence[2]
                                  else point.masks[point.best_index])
