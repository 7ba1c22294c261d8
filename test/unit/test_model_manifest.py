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

"""Our modules reproduce the official checkpoints' state_dict keys and shapes exactly."""

import json
from pathlib import Path

import pytest
from sam_ros.core.build import _vit_sam, build_sam, build_tiny_sam, VIT_T_CONFIG
import torch

_DATA = Path(__file__).resolve().parents[1] / 'data' / 'sam_checkpoint_keys.json'
_SHARED = Path(__file__).resolve().parents[3] / 'shared' / 'reference' / 'sam_checkpoint_keys.json'
_VIT = {
    'vit_b': (768, 12, 12, (2, 5, 8, 11)),
    'vit_l': (1024, 24, 16, (5, 11, 17, 23)),
    'vit_h': (1280, 32, 16, (7, 15, 23, 31)),
}
_HEAD = ('image_encoder.head.', 'image_encoder.norm_head.')


def _manifest() -> dict:
    return json.loads(_DATA.read_text())


def _shapes(model: torch.nn.Module) -> dict:
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def test_committed_manifest_equals_the_shared_reference():
    if not _SHARED.is_file():
        pytest.skip('no reference copy of the key manifest of the official checkpoints sits '
                    'beside this checkout; the committed test/data manifest is checked '
                    'against the models by the other tests of this file')
    shared = json.loads(_SHARED.read_text())
    ours = _manifest()
    for name in ('vit_b', 'vit_l', 'vit_h', 'vit_t'):
        assert list(ours[name].items()) == list(shared[name].items())


@pytest.mark.parametrize('name', ['vit_b', 'vit_l', 'vit_h'])
def test_vit_state_dict_keys_and_shapes_equal_the_official_checkpoint(name):
    with torch.device('meta'):
        model = _vit_sam(*_VIT[name])
    expected = _manifest()[name]
    assert list(_shapes(model).items()) == list(expected.items())


def test_vit_b_built_on_cpu_matches_the_manifest_and_has_no_pixel_stats_in_state_dict():
    model = build_sam('vit_b')
    shapes = _shapes(model)
    assert shapes == _manifest()['vit_b']
    assert 'pixel_mean' not in shapes and 'pixel_std' not in shapes
    assert not model.training
    assert (model.image_size, model.embedding_grid) == (1024, 64)


def test_vit_t_with_classifier_matches_the_official_mobilesam_file_in_order():
    from dataclasses import replace
    with torch.device('meta'):
        model = build_tiny_sam(replace(VIT_T_CONFIG, num_classes=1000))
    assert list(_shapes(model).items()) == list(_manifest()['vit_t'].items())


def test_vit_t_default_build_leaves_out_only_the_unused_classifier():
    model = build_sam('vit_t')
    expected = {k: v for k, v in _manifest()['vit_t'].items() if not k.startswith(_HEAD)}
    assert _shapes(model) == expected
    assert (model.image_size, model.embedding_grid) == (1024, 64)
    buffers = dict(model.named_buffers())
    assert 'image_encoder.layers.1.blocks.0.attn.attention_bias_idxs' in buffers
    assert 'image_encoder.layers.1.blocks.0.attn.attention_bias_idxs' not in model.state_dict()


@pytest.mark.parametrize('name,encoder,total', [
    ('vit_b', 89_670_912, 93_735_472),
    ('vit_l', 308_278_272, 312_342_832),
    ('vit_h', 637_026_048, 641_090_608),
])
def test_vit_parameter_counts_equal_upstream(name, encoder, total):
    with torch.device('meta'):
        model = _vit_sam(*_VIT[name])
    assert sum(p.numel() for p in model.image_encoder.parameters()) == encoder
    assert sum(p.numel() for p in model.prompt_encoder.parameters()) == 6_220
    assert sum(p.numel() for p in model.mask_decoder.parameters()) == 4_058_340
    assert sum(p.numel() for p in model.parameters()) == total
