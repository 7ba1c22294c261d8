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

"""Sam module, preprocessing and the model registry."""

from pathlib import Path

import pytest
from sam_ros.core import build_sam, CheckpointError, sam_model_registry, SamError
from sam_ros.core.build import build_embedded, build_tiny_sam, EMBEDDED_WEIGHTS, TinySamConfig
from sam_ros.core.errors import ImageFormatError
import torch

_TINY = TinySamConfig(img_size=64, embed_dims=(8, 16, 16, 24), depths=(1, 1, 1, 1),
                      num_heads=(1, 2, 2, 3), window_sizes=(4, 4, 4, 4),
                      downsample_strides=(2, 1, 1), prompt_embed_dim=32, decoder_num_heads=2,
                      decoder_mlp_dim=64, iou_head_hidden_dim=32)


def test_registry_names_every_model_type():
    assert set(sam_model_registry) == {'default', 'vit_h', 'vit_l', 'vit_b', 'vit_t',
                                       'embedded'}
    assert sam_model_registry['default'] is sam_model_registry['vit_h']


def test_unknown_model_type_raises_sam_error_listing_the_choices():
    with pytest.raises(SamError, match='vit_t'):
        build_sam('vit_x')


def test_embedded_builder_says_what_to_do_when_weights_are_missing(tmp_path: Path):
    with pytest.raises(CheckpointError, match='train_embedded'):
        build_embedded(tmp_path / 'absent.pt')


def test_packaged_embedded_weights_load_when_present():
    if not EMBEDDED_WEIGHTS.is_file():
        with pytest.raises(CheckpointError, match='missing'):
            build_sam('embedded')
        return
    model = build_sam('embedded')
    assert not model.training and model.device.type == 'cpu'


def test_preprocess_normalises_then_pads_bottom_and_right_with_zeros():
    model = build_tiny_sam(_TINY).eval()
    image = torch.full((1, 3, 40, 64), 200.0)
    x = model.preprocess(image)
    assert x.shape == (1, 3, 64, 64)
    mean = torch.tensor([123.675, 116.28, 103.53])
    std = torch.tensor([58.395, 57.12, 57.375])
    assert torch.allclose(x[0, :, 0, 0], (200.0 - mean) / std)
    assert torch.equal(x[:, :, 40:], torch.zeros(1, 3, 24, 64))


def test_preprocess_statistics_stay_exact_in_a_bfloat16_model():
    model = build_tiny_sam(_TINY).eval()
    image = torch.rand(1, 3, 64, 48) * 255
    ref = model.preprocess(image)
    assert torch.equal(model.to(torch.bfloat16).preprocess(image), ref)


def test_preprocess_rejects_oversized_or_malformed_images():
    model = build_tiny_sam(_TINY)
    with pytest.raises(ImageFormatError, match='larger'):
        model.preprocess(torch.zeros(1, 3, 65, 10))
    with pytest.raises(ImageFormatError, match='float'):
        model.preprocess(torch.zeros(1, 3, 10, 10, dtype=torch.uint8))


def test_model_exposes_sizes_threshold_and_pixel_stats_outside_the_state_dict():
    model = build_tiny_sam(_TINY)
    assert model.image_size == 64 and model.embedding_grid == 8
    assert model.mask_threshold == 0.0
    assert model.pixel_mean.shape == model.pixel_std.shape == (3, 1, 1)
    assert not any(k.startswith('pixel_') for k in model.state_dict())


def test_end_to_end_tiny_model_is_deterministic_in_fp32():
    model = build_tiny_sam(_TINY).eval()
    image = torch.rand(1, 3, 64, 64) * 255

    def run():
        with torch.no_grad():
            emb = model.image_encoder(model.preprocess(image))
            sparse, dense = model.prompt_encoder(
                points=(torch.tensor([[[20.0, 30.0]]]), torch.tensor([[1]])))
            return model.mask_decoder.predict_masks(emb, model.prompt_encoder.get_dense_pe(),
                                                    sparse, dense)

    (m1, i1), (m2, i2) = run(), run()
    assert m1.shape == (1, 4, 32, 32)
    assert torch.equal(m1, m2) and torch.equal(i1, i2)
