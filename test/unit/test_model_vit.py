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

"""ViT image encoder: relative positions, windows, global blocks, determinism."""

import pytest
from sam_ros.core.errors import ImageFormatError
from sam_ros.core.image_encoder import ImageEncoderViT
import torch


def _small(**kw) -> ImageEncoderViT:
    args = {'img_size': 96, 'patch_size': 8, 'embed_dim': 32, 'depth': 3, 'num_heads': 2,
            'out_chans': 16, 'window_size': 5, 'global_attn_indexes': (1,)}
    args.update(kw)
    model = ImageEncoderViT(**args).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.add_(torch.randn(tensor.shape, generator=gen) * 0.2)
    return model


def _naive_attention(attn, x: torch.Tensor) -> torch.Tensor:
    """Explicit attention with decomposed relative positions, one query pixel at a time."""
    b, h, w, c = x.shape
    heads, hd = attn.num_heads, c // attn.num_heads
    qkv = attn.qkv(x).reshape(b, h, w, 3, heads, hd)
    q, k, v = qkv[..., 0, :, :], qkv[..., 1, :, :], qkv[..., 2, :, :]
    out = torch.zeros(b, h, w, heads, hd)
    for qy in range(h):
        for qx in range(w):
            query = q[:, qy, qx]  # (b, heads, hd)
            logits = torch.einsum('bnd,bhwnd->bnhw', query * attn.scale, k)
            for ky in range(h):
                logits[:, :, ky, :] += (query @ attn.rel_pos_h[qy - ky + h - 1])[..., None]
            for kx in range(w):
                logits[:, :, :, kx] += (query @ attn.rel_pos_w[qx - kx + w - 1])[..., None]
            weights = logits.reshape(b, heads, h * w).softmax(-1)
            out[:, qy, qx] = torch.einsum('bns,bsnd->bnd', weights, v.reshape(b, h * w, heads, hd))
    return attn.proj(out.reshape(b, h, w, c))


def test_global_attention_adds_decomposed_relative_positions_as_specified():
    model = _small()
    attn = model.blocks[1].attn
    assert attn.rel_pos_h.shape == (2 * 12 - 1, 16)
    x = torch.randn(1, 12, 12, 32)
    with torch.no_grad():
        assert torch.allclose(attn(x), _naive_attention(attn, x), atol=1e-5)


def test_windowed_blocks_pad_the_grid_and_use_window_sized_tables():
    model = _small()
    block = model.blocks[0]
    assert block.window_size == 5 and block.attn.rel_pos_w.shape == (9, 16)
    assert model.blocks[1].window_size == 0
    with torch.no_grad():
        out = model(torch.randn(2, 3, 96, 96))
    assert out.shape == (2, 16, 12, 12)
    assert torch.isfinite(out).all()


def test_same_input_twice_gives_identical_fp32_output():
    model = _small()
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_img_size_must_be_a_multiple_of_the_patch_and_input_must_match():
    with pytest.raises(ValueError, match='multiple'):
        ImageEncoderViT(img_size=100, patch_size=16)
    with pytest.raises(ImageFormatError, match='96'):
        _small()(torch.zeros(1, 3, 64, 64))
