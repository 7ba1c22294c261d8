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

"""
SAM's mask decoder: image embedding + prompt tokens -> low-res mask logits and IoUs.

Output tokens are the IoU token followed by ``num_multimask_outputs + 1`` mask tokens.
Token 0 is the single-mask output for unambiguous prompts; tokens 1..3 are the multimask
outputs, in token order (not sorted by area). Masks come out at 4x the embedding grid
(256x256 for a 64x64 grid).
"""

from typing import Tuple, Type

from sam_ros.core.common import LayerNorm2d, MLP
from sam_ros.core.errors import PromptError
import torch
from torch import nn


__all__ = ['MaskDecoder']


class MaskDecoder(nn.Module):
    """Predict mask logits (B, T, 4G, 4G) and IoUs (B, T) for B prompts, T = 4 tokens."""

    def __init__(self, *, transformer_dim: int, transformer: nn.Module,
                 num_multimask_outputs: int = 3, activation: Type[nn.Module] = nn.GELU,
                 iou_head_depth: int = 3, iou_head_hidden_dim: int = 256) -> None:
        super().__init__()
        self.transformer_dim = transformer_dim
        self.transformer = transformer
        self.num_multimask_outputs = num_multimask_outputs
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(transformer_dim // 4),
            activation(),
            nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, kernel_size=2,
                               stride=2),
            activation(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3)
            for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(transformer_dim, iou_head_hidden_dim,
                                       self.num_mask_tokens, iou_head_depth)

    def predict_masks(self, image_embeddings: torch.Tensor, image_pe: torch.Tensor,
                      sparse_prompt_embeddings: torch.Tensor,
                      dense_prompt_embeddings: torch.Tensor
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Decode every output token for B prompts.

        ``image_embeddings`` is (1 or B, D, G, G) (one image is shared by all prompts),
        ``image_pe`` (1, D, G, G), ``sparse_prompt_embeddings`` (B, N, D) and
        ``dense_prompt_embeddings`` (B, D, G, G). Returns mask logits (B, T, 4G, 4G) and
        predicted IoUs (B, T) for all T tokens in token order (token 0 = single mask).
        """
        batch = sparse_prompt_embeddings.shape[0]
        if image_embeddings.shape[0] not in (1, batch):
            raise PromptError(f'{image_embeddings.shape[0]} image embeddings for {batch} '
                              'prompts; pass one embedding or one per prompt')
        output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        output_tokens = output_tokens.unsqueeze(0).expand(batch, -1, -1)
        tokens = torch.cat([output_tokens.to(sparse_prompt_embeddings.dtype),
                            sparse_prompt_embeddings], dim=1)
        src = image_embeddings.expand(batch, -1, -1, -1) + dense_prompt_embeddings
        pos_src = image_pe.expand(batch, -1, -1, -1)
        b, c, h, w = src.shape

        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1:1 + self.num_mask_tokens, :]

        upscaled = self.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
        hyper_in = torch.stack([mlp(mask_tokens_out[:, i, :])
                                for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1)
        b, c, h, w = upscaled.shape
        masks = (hyper_in @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)
        return masks, self.iou_prediction_head(iou_token_out)

    def forward(self, image_embeddings: torch.Tensor, image_pe: torch.Tensor,
                sparse_prompt_embeddings: torch.Tensor, dense_prompt_embeddings: torch.Tensor,
                multimask_output: bool) -> Tuple[torch.Tensor, torch.Tensor]:
        """
        Decode and keep tokens 1..3 (``multimask_output``) or token 0, as upstream.

        Returns mask logits (B, 3 or 1, 4G, 4G) and IoUs (B, 3 or 1).
        """
        masks, iou = self.predict_masks(image_embeddings, image_pe, sparse_prompt_embeddings,
                                        dense_prompt_embeddings)
        keep = slice(1, None) if multimask_output else slice(0, 1)
        return masks[:, keep], iou[:, keep]
