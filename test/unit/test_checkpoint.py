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

"""Checkpoint loading: strict, safe, with clear errors and only the documented tolerances."""

import json
from pathlib import Path
import pickle
import warnings

import pytest
from sam_ros.core import build_sam, CheckpointError
from sam_ros.core.build import _vit_sam, build_tiny_sam, TinySamConfig
from sam_ros.core.checkpoint import load_checkpoint, load_state_dict_into, read_state_dict
import torch

_MANIFEST = Path(__file__).resolve().parents[1] / 'data' / 'sam_checkpoint_keys.json'
_TINY = TinySamConfig(img_size=64, embed_dims=(8, 16, 16, 24), depths=(1, 1, 1, 1),
                      num_heads=(1, 2, 2, 3), window_sizes=(4, 4, 4, 4),
                      downsample_strides=(2, 1, 1), prompt_embed_dim=32, decoder_num_heads=2,
                      decoder_mlp_dim=64, iou_head_hidden_dim=32)
_MARKER = 'sam_ros_pickle_ran_code'


class _RunsCodeWhenUnpickled:
    """Pickles to a call of ``open(marker, 'w')``: loading it unsafely creates the file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def _random_state(model: torch.nn.Module, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        if value.is_floating_point():
            value = torch.rand(value.shape, generator=gen) + 0.5
        state[key] = value.clone()
    return state


def _tiny():
    return build_tiny_sam(_TINY).eval()


def _manifest_state(name: str) -> dict:
    """Tensors shaped exactly like the official file (meta tensors for the big models)."""
    shapes = json.loads(_MANIFEST.read_text())[name]
    device = 'cpu' if name == 'vit_t' else 'meta'
    return {k: (torch.zeros(s, dtype=torch.long, device=device)
                if k.endswith('num_batches_tracked') else torch.rand(s, device=device)
                if device == 'cpu' else torch.empty(s, device=device))
            for k, s in shapes.items()}


def test_vit_t_official_layout_with_classifier_loads_strictly(tmp_path: Path):
    state = _manifest_state('vit_t')
    path = tmp_path / 'mobile_sam.pt'
    torch.save(state, path)
    model = build_sam('vit_t', path)
    loaded = model.state_dict()
    assert not any(k.startswith('image_encoder.head') for k in loaded)
    for key, value in loaded.items():
        assert torch.equal(value, state[key]), key


def test_vit_b_random_file_round_trips_through_the_builder(tmp_path: Path):
    source = build_sam('vit_b')
    state = _random_state(source)
    path = tmp_path / 'sam_vit_b.pth'
    torch.save(state, path)
    model = build_sam('vit_b', path)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert not model.training


@pytest.mark.parametrize('name', ['vit_l', 'vit_h'])
def test_big_vit_manifests_match_strictly_on_the_meta_device(name):
    with torch.device('meta'):
        model = _vit_sam(*{'vit_l': (1024, 24, 16, (5, 11, 17, 23)),
                           'vit_h': (1280, 32, 16, (7, 15, 23, 31))}[name])
    state = _manifest_state(name)
    load_state_dict_into(model, state, model_name=name)
    state['image_encoder.pos_embed'] = torch.empty(1, 64, 64, 8, device='meta')
    with pytest.raises(CheckpointError, match='pos_embed expected'):
        load_state_dict_into(model, state, model_name=name)


def test_mismatched_keys_are_all_listed_with_shapes(tmp_path: Path):
    model = _tiny()
    state = _random_state(model)
    del state['mask_decoder.iou_token.weight']
    state['mask_decoder.extra.weight'] = torch.zeros(3)
    state['prompt_encoder.no_mask_embed.weight'] = torch.zeros(1, 31)
    path = tmp_path / 'bad.pt'
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(model, path)
    message = str(info.value)
    assert '1 missing keys: mask_decoder.iou_token.weight' in message
    assert '1 unexpected keys: mask_decoder.extra.weight' in message
    assert 'prompt_encoder.no_mask_embed.weight expected (1, 32) got (1, 31)' in message
    assert str(path) in message


def test_a_checkpoint_of_another_model_type_is_named_in_the_error():
    with torch.device('meta'):
        vit_b = _vit_sam(768, 12, 12, (2, 5, 8, 11))
    with pytest.raises(CheckpointError, match="looks like a 'vit_t'"):
        load_state_dict_into(vit_b, _manifest_state('vit_t'), model_name='vit_b')


def test_missing_file_and_directory_are_reported(tmp_path: Path):
    with pytest.raises(CheckpointError, match='does not exist'):
        read_state_dict(tmp_path / 'nope.pth')
    with pytest.raises(CheckpointError, match='not a file'):
        read_state_dict(tmp_path)


@pytest.mark.parametrize('cut', [0, 100, 0.5])
def test_truncated_file_is_reported_as_corrupt(tmp_path: Path, cut):
    path = tmp_path / 'full.pt'
    torch.save(_random_state(_tiny()), path)
    data = path.read_bytes()
    size = int(len(data) * cut) if isinstance(cut, float) else cut
    path.write_bytes(data[:size])
    with pytest.raises(CheckpointError, match='truncated or corrupt|corrupt'):
        read_state_dict(path)


def test_a_truncated_file_names_whole_sentences_only(tmp_path: Path):
    path = tmp_path / 'half.pt'
    torch.save(_random_state(_tiny()), path)
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    with pytest.raises(CheckpointError) as info:
        read_state_dict(path)
    detail = str(info.value).split('(', 1)[1].rsplit(')', 1)[0]
    assert detail.endswith(('.', '...')), detail     # torch's sentence ends, or says so
    assert 'your checkpoint file is)' not in str(info.value)


def test_a_raw_pickle_is_refused_in_one_line_without_torch_warnings(tmp_path: Path):
    path = tmp_path / 'raw.pkl'
    with open(path, 'wb') as handle:
        pickle.dump({'weight': [1.0, 2.0]}, handle, protocol=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with pytest.raises(CheckpointError) as info:
            read_state_dict(path)
    assert [str(w.message) for w in caught] == []
    assert '\n' not in str(info.value)


def test_non_dict_and_non_tensor_contents_are_rejected(tmp_path: Path):
    path = tmp_path / 'list.pt'
    torch.save([torch.zeros(2)], path)
    with pytest.raises(CheckpointError, match='holds a list, not a state_dict'):
        read_state_dict(path)
    torch.save({'a': torch.zeros(1), 'b': 3}, path)
    with pytest.raises(CheckpointError, match='not tensors: b'):
        read_state_dict(path)


def test_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path: Path):
    marker = tmp_path / _MARKER
    path = tmp_path / 'evil.pt'
    torch.save({'image_encoder.x': torch.zeros(1), 'payload': _RunsCodeWhenUnpickled(
        str(marker))}, path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match='refused for safety'):
        read_state_dict(path)
    with pytest.raises(CheckpointError, match='refused for safety'):
        load_checkpoint(_tiny(), path)
    assert not marker.exists()


def test_classifier_keys_and_missing_batch_counters_are_tolerated(tmp_path: Path):
    model = _tiny()
    state = _random_state(model)
    state['image_encoder.head.weight'] = torch.zeros(1000, 24)
    state['image_encoder.head.bias'] = torch.zeros(1000)
    state['image_encoder.norm_head.weight'] = torch.ones(24)
    counters = [k for k in state if k.endswith('num_batches_tracked')]
    assert counters
    for key in counters:
        del state[key]
    path = tmp_path / 'tolerated.pt'
    torch.save(state, path)
    load_checkpoint(model, path)
    loaded = model.state_dict()
    assert torch.equal(loaded['mask_decoder.iou_token.weight'],
                       state['mask_decoder.iou_token.weight'])


def test_model_with_classifier_loads_a_file_without_one():
    from dataclasses import replace
    with_head = build_tiny_sam(replace(_TINY, num_classes=5))
    load_state_dict_into(with_head, _random_state(_tiny()))


def test_wrapped_and_data_parallel_state_dicts_are_accepted(tmp_path: Path):
    model = _tiny()
    state = _random_state(model)
    for i, wrapped in enumerate([{'model': state}, {'state_dict': state, 'epoch': 3},
                                 {'module.' + k: v for k, v in state.items()}]):
        path = tmp_path / f'wrapped{i}.pt'
        torch.save(wrapped, path)
        assert read_state_dict(path).keys() == state.keys()


def test_non_finite_values_are_rejected(tmp_path: Path):
    model = _tiny()
    state = _random_state(model)
    state['mask_decoder.iou_token.weight'][0, 0] = float('nan')
    with pytest.raises(CheckpointError, match='NaN or Inf'):
        load_state_dict_into(model, state)


def test_floating_tensors_are_cast_to_the_model_dtype():
    model = _tiny().to(torch.bfloat16)
    state = _random_state(_tiny())
    load_state_dict_into(model, state)
    loaded = model.state_dict()['mask_decoder.iou_token.weight']
    assert loaded.dtype == torch.bfloat16
    assert torch.equal(loaded, state['mask_decoder.iou_token.weight'].to(torch.bfloat16))
