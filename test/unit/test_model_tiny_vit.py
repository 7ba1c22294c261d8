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

"""TinyViT encoder: configurable grid, attention biases never stale, optional classifier."""

import itertools

import pytest
from sam_ros.core.build import build_embedded_untrained, EMBEDDED_CONFIG
from sam_ros.core.errors import ImageFormatError
from sam_ros.core.tiny_vit import TinyViT
import torch

_SMALL = {'img_size': 64, 'embed_dims': (8, 16, 16, 24), 'depths': (1, 1, 2, 1),
          'num_heads': (1, 2, 2, 3), 'window_sizes': (4, 5, 4, 3),
          'downsample_strides': (2, 1, 1), 'out_chans': 32}


def _randomised(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                noise = torch.randn(tensor.shape, generator=gen)
                tensor.copy_(noise.abs() + 0.5 if name.endswith('running_var') else noise * 0.3)
    return model


def test_output_grid_follows_img_size_and_strides():
    model = TinyViT(**_SMALL).eval()
    assert model.stage_grids == [16, 8, 8, 8]
    assert model.grid_size == 8
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 32, 8, 8)


def test_vit_t_layout_gives_a_64_grid_and_embedded_grid_follows_its_config():
    with torch.device('meta'):
        vit_t = TinyViT()
    assert vit_t.stage_grids == [256, 128, 64, 64]
    embedded = build_embedded_untrained()
    grid = -(-EMBEDDED_CONFIG.img_size // 4)
    for stride in EMBEDDED_CONFIG.downsample_strides:
        grid = -(-grid // stride)
    assert embedded.image_size == EMBEDDED_CONFIG.img_size
    assert embedded.embedding_grid == embedded.image_encoder.grid_size == grid
    assert embedded.prompt_encoder.mask_input_size == (4 * grid, 4 * grid)


def test_attention_bias_index_enumerates_offsets_in_first_seen_order():
    model = TinyViT(**_SMALL)
    attn = model.layers[1].blocks[0].attn
    rows = cols = 5
    points = list(itertools.product(range(rows), range(cols)))
    offsets, idxs = {}, []
    for p1 in points:
        for p2 in points:
            offset = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
            idxs.append(offsets.setdefault(offset, len(offsets)))
    assert attn.attention_biases.shape == (2, len(offsets))
    assert torch.equal(attn.attention_bias_idxs, torch.tensor(idxs).view(25, 25))


def test_biases_loaded_after_eval_are_used_like_in_a_freshly_built_model():
    source = _randomised(TinyViT(**_SMALL)).eval()
    weights = source.state_dict()
    stale = TinyViT(**_SMALL).eval()  # switched to eval BEFORE loading, like upstream
    stale.load_state_dict(weights)
    fresh = TinyViT(**_SMALL)
    fresh.load_state_dict(weights)
    fresh.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = fresh(x)
        assert torch.equal(stale(x), expected)
        assert torch.equal(source(x), expected)
        with torch.no_grad():
            stale.layers[2].blocks[0].attn.attention_biases.add_(1.0)
        assert not torch.equal(stale(x), expected)


def test_classifier_is_created_only_on_request_and_never_changes_the_output():
    plain = TinyViT(**_SMALL)
    with_head = TinyViT(**_SMALL, num_classes=10)
    assert not hasattr(plain, 'head')
    assert with_head.head.weight.shape == (10, 24) and with_head.norm_head.weight.shape == (24,)
    with_head.load_state_dict(_randomised(plain).state_dict(), strict=False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(plain.eval()(x), with_head.eval()(x))


def test_same_input_twice_gives_identical_fp32_output():
    model = _randomised(TinyViT(**_SMALL)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_bfloat16_model_runs_and_stays_close_to_fp32():
    model = _randomised(TinyViT(**_SMALL)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = model(x)
        low = model.to(torch.bfloat16)(x.to(torch.bfloat16))
    assert low.dtype == torch.bfloat16
    assert float((low.float() - ref).abs().max()) < 0.25


def test_wrong_input_size_raises_image_format_error():
    model = TinyViT(**_SMALL)
    with pytest.raises(ImageFormatError, match='64'):
        model(torch.zeros(1, 3, 32, 32))


def test_inconsistent_stage_lists_are_rejected():
    with pytest.raises(ValueError, match='one entry per stage'):
        TinyViT(img_size=64, embed_dims=(8, 16), depths=(1, 1), num_heads=(1, 2),
                window_sizes=(4, 4), downsample_strides=(2, 2))
