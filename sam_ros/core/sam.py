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
The Sam module: image encoder, prompt encoder and mask decoder with the pixel statistics.

Holds no predictor state; see ``predictor.py`` for the image/prompt workflow.
"""

from typing import Sequence

from sam_ros.core.errors import ImageFormatError
from sam_ros.core.mask_decoder import MaskDecoder
from sam_ros.core.prompt_encoder import PromptEncoder
import torch
from torch import nn
import torch.nn.functional as F


__all__ = ['PIXEL_MEAN', 'PIXEL_STD', 'Sam']

#: RGB pixel mean and std on the 0-255 scale, shared by every SAM model.
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


class Sam(nn.Module):
    """
    Segment Anything: ``image_encoder``, ``prompt_encoder`` and ``mask_decoder``.

    ``image_size`` (S) is the side of the square, padded encoder input and
    ``embedding_grid`` (G) the side of the image embedding (1024 and 64 for the official
    models); mask inputs and low-res outputs are 4G x 4G. ``pixel_mean``/``pixel_std``
    (3, 1, 1) are non-persistent buffers (not in checkpoints).
    """

    mask_threshold: float = 0.0
    image_format: str = 'RGB'

    def __init__(self, image_encoder: nn.Module, prompt_encoder: PromptEncoder,
                 mask_decoder: MaskDecoder, pixel_mean: Sequence[float] = PIXEL_MEAN,
                 pixel_std: Sequence[float] = PIXEL_STD) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.register_buffer('pixel_mean', torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer('pixel_std', torch.tensor(pixel_std).view(-1, 1, 1), False)
        self._mean = tuple(float(v) for v in pixel_mean)
        self._std = tuple(float(v) for v in pixel_std)
        self.image_size: int = int(image_encoder.img_size)
        self.embedding_grid: int = int(prompt_encoder.image_embedding_size[0])

    @property
    def device(self) -> torch.device:
        """Return the device the model lives on."""
        return self.pixel_mean.device

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """
        Normalise and pad a resized RGB batch for the image encoder.

        ``x`` is (B, 3, h, w) floating point on the 0-255 scale with max(h, w) <= S.
        Returns (B, 3, S, S) in ``x``'s dtype: ``(x - mean) / std``, then zero padding on
        the bottom and right. The statistics are exact whatever the module's dtype.
        """
        if x.ndim != 4 or x.shape[1] != 3 or not x.is_floating_point():
            raise ImageFormatError(f'preprocess expects a float (B, 3, h, w) RGB batch, got '
                                   f'{tuple(x.shape)} {x.dtype}')
        h, w = x.shape[-2:]
        if h > self.image_size or w > self.image_size:
            raise ImageFormatError(f'image of {h}x{w} is larger than the model input '
                                   f'{self.image_size}; resize its longest side first')
        mean = torch.tensor(self._mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        std = torch.tensor(self._std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        x = (x - mean) / std
        return F.pad(x, (0, self.image_size - w, 0, self.image_size - h))
