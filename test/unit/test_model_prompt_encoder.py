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

"""Prompt encoder: point, box and mask embeddings exactly as upstream specifies them."""

import math

import pytest
from sam_ros.core.errors import PromptError
from sam_ros.core.prompt_encoder import PromptEncoder
import torch

S, G, D = 128, 8, 32


def _encoder() -> PromptEncoder:
    torch.manual_seed(0)
    return PromptEncoder(embed_dim=D, image_embedding_size=(G, G), input_image_size=(S, S))


def _fourier(enc: PromptEncoder, xy: torch.Tensor) -> torch.Tensor:
    """Encode pixel XY by the spec: shift 0.5, /S, 2c-1, @ matrix, *2pi, [sin, cos]."""
    c = 2 * ((xy + 0.5) / S) - 1
    phase = 2 * math.pi * (c @ enc.pe_layer.positional_encoding_gaussian_matrix)
    return torch.cat([phase.sin(), phase.cos()], dim=-1)


def test_points_without_box_get_label_embeddings_and_one_padding_point():
    enc = _encoder()
    xy = torch.tensor([[[10.0, 20.0], [100.0, 5.0], [64.0, 64.0]]])
    labels = torch.tensor([[1, 0, -1]])
    with torch.no_grad():
        sparse, dense = enc(points=(xy, labels))
        pe = _fourier(enc, xy)
        not_a_point = enc.not_a_point_embed.weight[0]
        assert sparse.shape == (1, 4, D)
        assert torch.allclose(sparse[0, 0], pe[0, 0] + enc.point_embeddings[1].weight[0])
        assert torch.allclose(sparse[0, 1], pe[0, 1] + enc.point_embeddings[0].weight[0])
        assert torch.equal(sparse[0, 2], not_a_point)
        assert torch.equal(sparse[0, 3], not_a_point)  # the appended padding point
        assert torch.equal(dense, enc.no_mask_embed.weight.view(1, D, 1, 1).expand(1, D, G, G))


def test_box_corners_follow_the_points_and_suppress_the_padding_point():
    enc = _encoder()
    xy = torch.tensor([[[30.0, 40.0]]])
    box = torch.tensor([[10.0, 12.0, 90.0, 100.0]])
    with torch.no_grad():
        sparse, _ = enc(points=(xy, torch.tensor([[1]])), boxes=box)
        corners = _fourier(enc, box.view(1, 2, 2))
        assert sparse.shape == (1, 3, D)
        assert torch.allclose(sparse[0, 1], corners[0, 0] + enc.point_embeddings[2].weight[0])
        assert torch.allclose(sparse[0, 2], corners[0, 1] + enc.point_embeddings[3].weight[0])
        box_only, _ = enc(boxes=box)
        assert torch.equal(box_only, sparse[:, 1:])


def test_dense_positional_encoding_is_the_encoding_of_cell_centres():
    enc = _encoder()
    with torch.no_grad():
        pe = enc.get_dense_pe()
        assert pe.shape == (1, D, G, G)
        centre = torch.tensor([[(2 + 0.5) / G, (5 + 0.5) / G]])  # x = 2, y = 5
        phase = 2 * math.pi * ((2 * centre - 1) @ enc.pe_layer.positional_encoding_gaussian_matrix)
        assert torch.allclose(pe[0, :, 5, 2], torch.cat([phase.sin(), phase.cos()], -1)[0])


def test_gaussian_matrix_is_in_the_state_dict_and_loaded_not_regenerated():
    enc = _encoder()
    other = PromptEncoder(embed_dim=D, image_embedding_size=(G, G), input_image_size=(S, S))
    other.load_state_dict(enc.state_dict())
    key = 'pe_layer.positional_encoding_gaussian_matrix'
    assert key in enc.state_dict()
    assert torch.equal(other.state_dict()[key], enc.state_dict()[key])
    assert torch.equal(other.get_dense_pe(), enc.get_dense_pe())


def test_mask_input_is_downscaled_to_the_embedding_grid():
    enc = _encoder()
    with torch.no_grad():
        _, dense = enc(masks=torch.randn(3, 1, 4 * G, 4 * G))
    assert dense.shape == (3, D, G, G)
    keys = [k for k in enc.state_dict() if k.startswith('mask_downscaling.')]
    assert {k.split('.')[1] for k in keys} == {'0', '1', '3', '4', '6'}


def test_bad_prompt_shapes_raise_prompt_error():
    enc = _encoder()
    with pytest.raises(PromptError, match='mask input'):
        enc(masks=torch.zeros(1, 1, 16, 16))
    with pytest.raises(PromptError, match='batch size'):
        enc(points=(torch.zeros(2, 1, 2), torch.ones(2, 1)), boxes=torch.zeros(3, 4))
    with pytest.raises(PromptError, match='labels'):
        enc(points=(torch.zeros(1, 2, 2), torch.ones(1, 3)))


def test_bfloat16_encoder_returns_bfloat16():
    enc = _encoder().to(torch.bfloat16)
    sparse, dense = enc(points=(torch.tensor([[[3.0, 4.0]]]), torch.tensor([[1]])))
    assert sparse.dtype == dense.dtype == enc.get_dense_pe().dtype == torch.bfloat16
