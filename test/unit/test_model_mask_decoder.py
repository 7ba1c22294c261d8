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

"""Two-way transformer and mask decoder: all tokens in token order, upstream slicing."""

import pytest
from sam_ros.core.errors import PromptError
from sam_ros.core.mask_decoder import MaskDecoder
from sam_ros.core.transformer import TwoWayTransformer
import torch

D, G = 32, 8


def _decoder() -> MaskDecoder:
    torch.manual_seed(0)
    transformer = TwoWayTransformer(depth=2, embedding_dim=D, num_heads=2, mlp_dim=64)
    return MaskDecoder(transformer_dim=D, transformer=transformer,
                       iou_head_hidden_dim=16).eval()


def _inputs(batch: int):
    gen = torch.Generator().manual_seed(1)
    image = torch.randn(1, D, G, G, generator=gen)
    pe = torch.randn(1, D, G, G, generator=gen)
    sparse = torch.randn(batch, 3, D, generator=gen)
    dense = torch.randn(batch, D, G, G, generator=gen)
    return image, pe, sparse, dense


def test_predict_masks_returns_all_four_tokens_at_four_times_the_grid():
    with torch.no_grad():
        masks, iou = _decoder().predict_masks(*_inputs(3))
    assert masks.shape == (3, 4, 4 * G, 4 * G)
    assert iou.shape == (3, 4)


@pytest.mark.parametrize('multimask,tokens', [(True, slice(1, None)), (False, slice(0, 1))])
def test_forward_slices_tokens_like_upstream(multimask, tokens):
    decoder = _decoder()
    with torch.no_grad():
        all_masks, all_iou = decoder.predict_masks(*_inputs(2))
        masks, iou = decoder(*_inputs(2), multimask_output=multimask)
    assert torch.equal(masks, all_masks[:, tokens])
    assert torch.equal(iou, all_iou[:, tokens])


def test_one_image_embedding_serves_every_prompt_of_the_batch():
    decoder = _decoder()
    image, pe, sparse, dense = _inputs(3)
    with torch.no_grad():
        batched, batched_iou = decoder.predict_masks(image, pe, sparse, dense)
        for i in range(3):
            single, single_iou = decoder.predict_masks(image, pe, sparse[i:i + 1],
                                                       dense[i:i + 1])
            assert torch.allclose(single, batched[i:i + 1], atol=1e-5)
            assert torch.allclose(single_iou, batched_iou[i:i + 1], atol=1e-6)
        repeated, _ = decoder.predict_masks(image.expand(3, -1, -1, -1), pe, sparse, dense)
    assert torch.allclose(repeated, batched, atol=1e-6)


def test_mismatched_embedding_batch_raises_prompt_error():
    image, pe, sparse, dense = _inputs(3)
    with pytest.raises(PromptError, match='embeddings'):
        _decoder().predict_masks(image.expand(2, -1, -1, -1), pe, sparse, dense)


def test_first_layer_skips_the_query_pe_and_the_others_do_not():
    transformer = _decoder().transformer
    assert [layer.skip_first_layer_pe for layer in transformer.layers] == [True, False]
    assert transformer.layers[0].cross_attn_token_to_image.internal_dim == D // 2


def test_same_input_twice_gives_identical_fp32_output():
    decoder = _decoder()
    with torch.no_grad():
        first = decoder.predict_masks(*_inputs(2))
        second = decoder.predict_masks(*_inputs(2))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
