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
Model builders and the registry ``sam_model_registry``: name -> builder(checkpoint=None).

Every builder returns a :class:`~sam_ros.core.sam.Sam` in eval mode on the CPU. With
``checkpoint=None`` the official types (``vit_h``/``default``, ``vit_l``, ``vit_b``,
``vit_t``) are randomly initialised; ``embedded`` loads the weights committed with the
package (``sam_ros/core/weights/embedded_sam.pt``).

Official checkpoints (flat state_dicts, loaded strictly and safely):

* vit_h: https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth
* vit_l: https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth
* vit_b: https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth
* vit_t: ``weights/mobile_sam.pt`` of the MobileSAM repository
"""

from dataclasses import dataclass
import os
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

from sam_ros.core.checkpoint import load_checkpoint
from sam_ros.core.errors import CheckpointError, SamError
from sam_ros.core.image_encoder import ImageEncoderViT
from sam_ros.core.mask_decoder import MaskDecoder
from sam_ros.core.prompt_encoder import PromptEncoder
from sam_ros.core.sam import Sam
from sam_ros.core.tiny_vit import TinyViT
from sam_ros.core.transformer import TwoWayTransformer
from torch import nn


__all__ = [
    'EMBEDDED_CONFIG',
    'EMBEDDED_WEIGHTS',
    'TinySamConfig',
    'build_embedded_untrained',
    'build_sam',
    'build_sam_vit_b',
    'build_sam_vit_h',
    'build_sam_vit_l',
    'build_sam_vit_t',
    'build_tiny_sam',
    'sam_model_registry',
]

PathLike = Union[str, 'os.PathLike[str]']

#: Weights of the embedded model, shipped inside the package.
EMBEDDED_WEIGHTS = Path(__file__).resolve().parent / 'weights' / 'embedded_sam.pt'


@dataclass(frozen=True)
class TinySamConfig:
    """
    Architecture of a TinyViT-based SAM (the embedded model; vit_t is one instance).

    The embedding grid is ceil(img_size / 4) reduced by each of ``downsample_strides``
    (ceil at each step); the prompt encoder and decoder work at ``prompt_embed_dim``.
    """

    img_size: int = 512
    embed_dims: Tuple[int, ...] = (32, 64, 96, 128)
    depths: Tuple[int, ...] = (1, 2, 2, 1)
    num_heads: Tuple[int, ...] = (1, 2, 3, 4)
    window_sizes: Tuple[int, ...] = (8, 8, 8, 8)
    downsample_strides: Tuple[int, ...] = (2, 2, 1)
    mlp_ratio: float = 4.0
    mbconv_expand_ratio: float = 4.0
    prompt_embed_dim: int = 128
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_num_heads: int = 4
    decoder_mlp_dim: int = 512
    iou_head_hidden_dim: int = 128
    num_classes: int = 0


#: Architecture of the embedded default model: 512 input, stride 16 -> a 32x32 embedding
#: grid, so low-res masks (and mask inputs) are 128x128. The grid is half the official
#: models' because the decoder's cost grows with the grid's area and the whole model has
#: to train on a 2-core CPU within an hour (docs/embedded_model.md).
EMBEDDED_CONFIG = TinySamConfig()

#: MobileSAM's vit_t as a TinySamConfig (its unused classifier is left out).
VIT_T_CONFIG = TinySamConfig(
    img_size=1024, embed_dims=(64, 128, 160, 320), depths=(2, 2, 6, 2),
    num_heads=(2, 4, 5, 10), window_sizes=(7, 7, 14, 7), downsample_strides=(2, 2, 1),
    prompt_embed_dim=256, decoder_num_heads=8, decoder_mlp_dim=2048, iou_head_hidden_dim=256)


def _assemble(image_encoder: nn.Module, image_size: int, grid: int, prompt_embed_dim: int = 256,
              mask_in_chans: int = 16, decoder_depth: int = 2, decoder_num_heads: int = 8,
              decoder_mlp_dim: int = 2048, iou_head_hidden_dim: int = 256) -> Sam:
    """Put an image encoder together with a prompt encoder and mask decoder."""
    prompt_encoder = PromptEncoder(embed_dim=prompt_embed_dim,
                                   image_embedding_size=(grid, grid),
                                   input_image_size=(image_size, image_size),
                                   mask_in_chans=mask_in_chans)
    transformer = TwoWayTransformer(depth=decoder_depth, embedding_dim=prompt_embed_dim,
                                    num_heads=decoder_num_heads, mlp_dim=decoder_mlp_dim)
    mask_decoder = MaskDecoder(transformer_dim=prompt_embed_dim, transformer=transformer,
                               num_multimask_outputs=3, iou_head_depth=3,
                               iou_head_hidden_dim=iou_head_hidden_dim)
    return Sam(image_encoder, prompt_encoder, mask_decoder)


def _finish(model: Sam, checkpoint: Optional[PathLike], name: str) -> Sam:
    """Load ``checkpoint`` (if any) strictly and switch to eval mode."""
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, model_name=name)
    return model.eval()


def _vit_sam(embed_dim: int, depth: int, num_heads: int,
             global_attn_indexes: Sequence[int]) -> Sam:
    """Construct an untrained ViT SAM at 1024 input (64x64 grid)."""
    encoder = ImageEncoderViT(img_size=1024, patch_size=16, embed_dim=embed_dim, depth=depth,
                              num_heads=num_heads, mlp_ratio=4.0, out_chans=256,
                              window_size=14, global_attn_indexes=global_attn_indexes)
    return _assemble(encoder, 1024, encoder.grid_size)


def build_tiny_sam(config: TinySamConfig) -> Sam:
    """Construct an untrained TinyViT SAM from ``config`` (train mode, CPU)."""
    encoder = TinyViT(img_size=config.img_size, embed_dims=config.embed_dims,
                      depths=config.depths, num_heads=config.num_heads,
                      window_sizes=config.window_sizes,
                      downsample_strides=config.downsample_strides,
                      mlp_ratio=config.mlp_ratio,
                      mbconv_expand_ratio=config.mbconv_expand_ratio,
                      out_chans=config.prompt_embed_dim, num_classes=config.num_classes)
    return _assemble(encoder, config.img_size, encoder.grid_size, config.prompt_embed_dim,
                     config.mask_in_chans, config.decoder_depth, config.decoder_num_heads,
                     config.decoder_mlp_dim, config.iou_head_hidden_dim)


def build_sam_vit_h(checkpoint: Optional[PathLike] = None) -> Sam:
    """Build SAM ViT-H (636 M encoder parameters), optionally loading ``checkpoint``."""
    return _finish(_vit_sam(1280, 32, 16, (7, 15, 23, 31)), checkpoint, 'vit_h')


def build_sam_vit_l(checkpoint: Optional[PathLike] = None) -> Sam:
    """Build SAM ViT-L (308 M encoder parameters), optionally loading ``checkpoint``."""
    return _finish(_vit_sam(1024, 24, 16, (5, 11, 17, 23)), checkpoint, 'vit_l')


def build_sam_vit_b(checkpoint: Optional[PathLike] = None) -> Sam:
    """Build SAM ViT-B (90 M encoder parameters), optionally loading ``checkpoint``."""
    return _finish(_vit_sam(768, 12, 12, (2, 5, 8, 11)), checkpoint, 'vit_b')


def build_sam_vit_t(checkpoint: Optional[PathLike] = None) -> Sam:
    """Build MobileSAM (TinyViT, 5.7 M encoder parameters), optionally loading ``checkpoint``."""
    return _finish(build_tiny_sam(VIT_T_CONFIG), checkpoint, 'vit_t')


def build_embedded_untrained(config: TinySamConfig = EMBEDDED_CONFIG) -> Sam:
    """Build the embedded model with fresh weights (for training); eval mode, CPU."""
    return build_tiny_sam(config).eval()


def build_embedded(checkpoint: Optional[PathLike] = None) -> Sam:
    """Build the embedded model and load its weights (the packaged file by default)."""
    path = Path(checkpoint) if checkpoint is not None else EMBEDDED_WEIGHTS
    if not path.is_file():
        raise CheckpointError(
            f'the embedded model weights {str(path)!r} are missing. They ship with the '
            'package; reinstall sam_ros, or train them with '
            '`python -m sam_ros.tools.train_embedded`, or pick an official model '
            "(e.g. model_type='vit_t' with its checkpoint)")
    return _finish(build_tiny_sam(EMBEDDED_CONFIG), path, 'embedded')


#: Model name -> builder(checkpoint=None) returning an eval-mode Sam on the CPU.
sam_model_registry: Dict[str, Callable[..., Sam]] = {
    'default': build_sam_vit_h,
    'vit_h': build_sam_vit_h,
    'vit_l': build_sam_vit_l,
    'vit_b': build_sam_vit_b,
    'vit_t': build_sam_vit_t,
    'embedded': build_embedded,
}


def build_sam(model_type: str, checkpoint: Optional[PathLike] = None) -> Sam:
    """Build ``model_type`` (a key of ``sam_model_registry``), optionally from ``checkpoint``."""
    try:
        builder = sam_model_registry[model_type]
    except KeyError:
        raise SamError(f'unknown model type {model_type!r}; choose one of '
                       f'{", ".join(sorted(sam_model_registry))}') from None
    return builder(checkpoint)
