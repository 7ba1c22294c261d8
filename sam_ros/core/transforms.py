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
Image and coordinate transforms around the SAM model, faithful to upstream.

Conventions used throughout:

* Images are numpy ``(H, W, 3)`` uint8, HWC, RGB unless stated otherwise.
* Sizes are ``(height, width)`` tuples.
* Points are pixel XY (x right, y down) in the frame named by the function;
  boxes are XYXY ``(x_min, y_min, x_max, y_max)`` in the same frame.
* The *original* frame is the camera image; the *input* frame is the image
  after resizing its longest side to the model's ``image_size`` (S); the
  *padded* frame is the S x S tensor the encoder sees (input frame padded at the
  bottom and right).
"""

from typing import Tuple

import numpy as np
from sam_ros.core.errors import ImageFormatError, PromptError
import torch
import torch.nn.functional as F

__all__ = [
    'IMAGE_FORMATS',
    'as_rgb',
    'clip_boxes',
    'postprocess_logits',
    'preprocess_shape',
    'resize_image',
    'scale_boxes',
    'scale_coords',
    'to_input_tensor',
]

#: Image formats the engine accepts directly; the node converts anything else first.
IMAGE_FORMATS = ('RGB', 'BGR')


def preprocess_shape(height: int, width: int, long_side: int) -> Tuple[int, int]:
    """
    Return the ``(new_h, new_w)`` that brings the longest side to ``long_side``.

    Each side becomes ``int(side * scale + 0.5)`` with ``scale = long_side / max(h, w)``,
    exactly as upstream (e.g. 480x640 -> 768x1024 for S = 1024).
    """
    scale = long_side * 1.0 / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def as_rgb(image: np.ndarray, image_format: str = 'RGB') -> np.ndarray:
    """
    Validate a camera frame and return it as a contiguous ``(H, W, 3)`` uint8 RGB array.

    Accepts ``(H, W, 3)`` uint8 in ``image_format`` 'RGB' or 'BGR' (channels flipped),
    and grayscale ``(H, W)`` or ``(H, W, 1)`` uint8 (replicated to three channels; the
    format is then irrelevant). Raises ImageFormatError for anything else.
    """
    if image_format not in IMAGE_FORMATS:
        raise ImageFormatError(
            f'image_format must be one of {IMAGE_FORMATS}, got {image_format!r}; '
            'convert other encodings to rgb8/bgr8 before calling the engine')
    if not isinstance(image, np.ndarray):
        raise ImageFormatError(
            f'image must be a numpy array, got {type(image).__name__}')
    if image.dtype != np.uint8:
        raise ImageFormatError(
            f'image must be uint8 (0..255), got dtype {image.dtype}; '
            'scale and convert it with e.g. np.clip(x, 0, 255).astype(np.uint8)')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
        image_format = 'RGB'
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageFormatError(
            f'image must be HxWx3 (colour) or HxW / HxWx1 (grayscale), got shape '
            f'{image.shape}; {_shape_hint(image.shape)}')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageFormatError(f'image is empty (shape {image.shape})')
    if image_format == 'BGR':
        image = image[:, :, ::-1]
    return np.ascontiguousarray(image)


def _shape_hint(shape: Tuple[int, ...]) -> str:
    """Say how to fix an image of the wrong shape (channels-first, alpha, batch)."""
    if len(shape) == 3 and shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4):
        return ('it looks channels-first (C, H, W): pass image.transpose(1, 2, 0), '
                'channels last')
    if len(shape) == 3 and shape[2] == 4:
        return 'drop the alpha channel of RGBA/BGRA images first (image[:, :, :3])'
    if len(shape) == 4:
        return 'pass one image, not a batch (image[0])'
    return 'pass an (H, W, 3) array'


def resize_image(image: np.ndarray, long_side: int) -> np.ndarray:
    """
    Resize an ``(H, W, 3)`` uint8 image so its longest side is ``long_side``.

    Upstream resizes with PIL's bilinear filter on uint8, which widens its support
    when downscaling (antialiasing) and rounds to uint8 after each pass. torch's
    uint8 ``interpolate(mode='bilinear', antialias=True)`` kernel reproduces that
    algorithm (fixed-point weights, horizontal then vertical pass); the unit tests
    check it against a pure-numpy re-implementation of the PIL algorithm.

    Returns a new ``(new_h, new_w, 3)`` uint8 array with ``preprocess_shape`` sizes.
    """
    new_h, new_w = preprocess_shape(image.shape[0], image.shape[1], long_side)
    if (new_h, new_w) == tuple(image.shape[:2]):
        return np.ascontiguousarray(image)
    # HWC numpy viewed as NCHW is channels_last, which the fast uint8 kernel wants.
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    resized = F.interpolate(tensor, size=(new_h, new_w), mode='bilinear',
                            align_corners=False, antialias=True)
    return np.ascontiguousarray(resized[0].permute(1, 2, 0).numpy())


def to_input_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """
    Convert a resized ``(h, w, 3)`` uint8 RGB image to a ``(1, 3, h, w)`` float32 tensor.

    Values stay on the 0..255 scale; ``Sam.preprocess`` then normalises with the
    pixel mean/std and zero-pads at the bottom and right to S x S.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return tensor.permute(2, 0, 1).contiguous()[None].float()


def scale_coords(coords: np.ndarray, original_size: Tuple[int, int],
                 new_size: Tuple[int, int]) -> np.ndarray:
    """
    Map pixel XY coordinates ``(..., 2)`` from the original frame to the input frame.

    x is multiplied by ``new_w / old_w`` and y by ``new_h / old_h`` using the rounded
    input size, as upstream. Returns a new float32 array of the same shape.
    """
    old_h, old_w = original_size
    new_h, new_w = new_size
    out = np.array(coords, dtype=np.float64, copy=True)
    out[..., 0] = out[..., 0] * (new_w / old_w)
    out[..., 1] = out[..., 1] * (new_h / old_h)
    return out.astype(np.float32)


def scale_boxes(boxes: np.ndarray, original_size: Tuple[int, int],
                new_size: Tuple[int, int]) -> np.ndarray:
    """
    Map XYXY boxes ``(..., 4)`` from the original frame to the input frame.

    A box is treated as its two corner points. Returns float32 ``(..., 4)``.
    """
    boxes = np.asarray(boxes)
    corners = scale_coords(boxes.reshape(-1, 2, 2), original_size, new_size)
    return corners.reshape(boxes.shape)


def postprocess_logits(low_res: torch.Tensor, input_size: Tuple[int, int],
                       original_size: Tuple[int, int], image_size: int) -> torch.Tensor:
    """
    Upsample low-res mask logits ``(B, C, 4G, 4G)`` to the original frame.

    Upstream's exact path: bilinear (align_corners=False) to ``image_size`` x
    ``image_size`` (the padded frame), crop to ``input_size`` (drops the padding),
    bilinear to ``original_size``. The input is computed in float32 whatever its
    dtype. Returns float32 logits ``(B, C, H, W)``; a mask is ``logits > 0.0``.
    """
    logits = low_res.float()
    logits = F.interpolate(logits, (image_size, image_size), mode='bilinear',
                           align_corners=False)
    logits = logits[..., :input_size[0], :input_size[1]]
    return F.interpolate(logits, tuple(original_size), mode='bilinear', align_corners=False)


def clip_boxes(boxes: np.ndarray, original_size: Tuple[int, int]
               ) -> Tuple[np.ndarray, np.ndarray]:
    """
    Clip XYXY boxes (N, 4) to an image of ``original_size`` (H, W), i.e. [0, W] x [0, H].

    A detector box at the frame edge often reaches a little past it; upstream accepts
    such a box, and so do we, clipped. Returns the clipped boxes (N, 4) float64 and the
    fraction (N,) of each box's area that was cut off (0 = inside the image). Raises
    PromptError for a box with no overlap with the image (nothing left to segment).
    """
    height, width = original_size
    clipped = boxes.copy()
    clipped[:, 0::2] = np.clip(boxes[:, 0::2], 0.0, float(width))
    clipped[:, 1::2] = np.clip(boxes[:, 1::2], 0.0, float(height))
    empty = (clipped[:, 2] <= clipped[:, 0]) | (clipped[:, 3] <= clipped[:, 1])
    if np.any(empty):
        raise PromptError(f'box {boxes[empty][0].tolist()} does not overlap the '
                          f'{width}x{height} image [0, {width}] x [0, {height}]')
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    return clipped, 1.0 - kept / area
