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
The rest of upstream ``segment_anything``'s predictor API, for scripts written for it.

A script written for upstream's ``SamPredictor`` runs on ``sam_ros.core`` after changing
its imports (``from sam_ros.core import SamPredictor, sam_model_registry,
ResizeLongestSide``). :class:`~sam_ros.core.predictor.SamPredictor` has ``set_image``,
``predict``, ``reset_image``, ``is_image_set`` and ``get_image_embedding`` itself; this
module adds, with upstream's names, shapes and frames:

* :class:`ResizeLongestSide` (upstream's ``utils.transforms``): resize images, points
  and boxes to the model's input frame, in numpy and in torch;
* :class:`UpstreamPredictorApi`, mixed into ``SamPredictor``: ``transform``,
  ``original_size``, ``input_size``, ``features``, ``set_torch_image`` and
  ``predict_torch`` (prompts already in the input frame, batched torch tensors).

Low-res masks and ``mask_input`` are (4G, 4G) logits: 256 x 256 for the official
models, as upstream, and 128 x 128 for the embedded model (its embedding grid G is 32).
"""

from typing import Optional, Tuple

import numpy as np
from sam_ros.core import selection
from sam_ros.core.errors import ImageFormatError, PromptError
from sam_ros.core.transforms import postprocess_logits, preprocess_shape, resize_image
import torch
import torch.nn.functional as F

__all__ = ['ResizeLongestSide', 'UpstreamPredictorApi']

_CHANNELS_LAST = torch.channels_last


class ResizeLongestSide:
    """
    Resize images to a longest side of ``target_length``, and points and boxes with them.

    Images are (H, W, 3) uint8 numpy arrays (``apply_image``) or (B, C, H, W) float
    tensors (``apply_image_torch``). Points are (..., 2) pixel XY and boxes (..., 4)
    XYXY; ``original_size`` is the (H, W) of the frame they are in. The new size of each
    side is ``int(side * target_length / max(H, W) + 0.5)``, as upstream.
    """

    def __init__(self, target_length: int) -> None:
        self.target_length = int(target_length)

    @staticmethod
    def get_preprocess_shape(oldh: int, oldw: int, long_side_length: int) -> Tuple[int, int]:
        """Return the (new_h, new_w) that brings the longest side to ``long_side_length``."""
        return preprocess_shape(oldh, oldw, long_side_length)

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """Return the (h, w, 3) uint8 resized copy of an (H, W, 3) uint8 image."""
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
            raise ImageFormatError('apply_image expects an (H, W, 3) uint8 numpy image, got '
                                   f'{getattr(image, "shape", type(image).__name__)}')
        return resize_image(image, self.target_length)

    def apply_coords(self, coords: np.ndarray, original_size: Tuple[int, ...]) -> np.ndarray:
        """Map (..., 2) pixel XY from an ``original_size`` frame; return float64 (..., 2)."""
        scale_x, scale_y = self._scales(original_size)
        out = np.array(coords, dtype=np.float64, copy=True)
        out[..., 0] *= scale_x
        out[..., 1] *= scale_y
        return out

    def apply_boxes(self, boxes: np.ndarray, original_size: Tuple[int, ...]) -> np.ndarray:
        """Map XYXY boxes (..., 4) from an ``original_size`` frame; return float64 (N, 4)."""
        corners = self.apply_coords(np.asarray(boxes).reshape(-1, 2, 2), original_size)
        return corners.reshape(-1, 4)

    def apply_image_torch(self, image: torch.Tensor) -> torch.Tensor:
        """Resize a (B, C, H, W) float batch (bilinear, antialiased); return (B, C, h, w)."""
        if not isinstance(image, torch.Tensor) or image.ndim != 4:
            raise ImageFormatError('apply_image_torch expects a (B, C, H, W) tensor, got '
                                   f'{tuple(getattr(image, "shape", ()))}')
        size = preprocess_shape(image.shape[2], image.shape[3], self.target_length)
        return F.interpolate(image, size, mode='bilinear', align_corners=False,
                             antialias=True)

    def apply_coords_torch(self, coords: torch.Tensor,
                           original_size: Tuple[int, ...]) -> torch.Tensor:
        """Map (..., 2) pixel XY tensors like :meth:`apply_coords`; return float32."""
        scale_x, scale_y = self._scales(original_size)
        out = coords.detach().clone().to(torch.float32)
        out[..., 0] = out[..., 0] * scale_x
        out[..., 1] = out[..., 1] * scale_y
        return out

    def apply_boxes_torch(self, boxes: torch.Tensor,
                          original_size: Tuple[int, ...]) -> torch.Tensor:
        """Map XYXY box tensors (..., 4) like :meth:`apply_boxes`; return float32 (N, 4)."""
        return self.apply_coords_torch(boxes.reshape(-1, 2, 2), original_size).reshape(-1, 4)

    def _scales(self, original_size: Tuple[int, ...]) -> Tuple[float, float]:
        old_h, old_w = int(original_size[0]), int(original_size[1])
        new_h, new_w = preprocess_shape(old_h, old_w, self.target_length)
        return new_w / old_w, new_h / old_h


class UpstreamPredictorApi:
    """
    Upstream's predictor attributes and torch entry points (mixed into ``SamPredictor``).

    Uses the predictor's ``model``, ``device``, ``dtype``, ``image_size``,
    ``low_res_size`` and its current embedding; adds no state of its own.
    """

    @property
    def transform(self) -> ResizeLongestSide:
        """Return the :class:`ResizeLongestSide` to the model's input size S."""
        return ResizeLongestSide(self.image_size)

    @property
    def original_size(self) -> Optional[Tuple[int, int]]:
        """Return the (H, W) of the current image, or None when no image is set."""
        embedding = self.embedding
        return None if embedding is None else embedding.original_size

    @property
    def input_size(self) -> Optional[Tuple[int, int]]:
        """Return the (h, w) of the current image resized to S, or None."""
        embedding = self.embedding
        return None if embedding is None else embedding.input_size

    @property
    def features(self) -> Optional[torch.Tensor]:
        """Return the current image embedding: a (1, D, G, G) tensor, or None."""
        embedding = self.embedding
        return None if embedding is None else embedding.features

    def set_torch_image(self, transformed_image: torch.Tensor,
                        original_image_size: Tuple[int, ...]) -> None:
        """
        Encode an image already resized with :attr:`transform` (upstream's entry point).

        ``transformed_image`` is (1, 3, h, w) RGB on the 0-255 scale (any dtype) with
        max(h, w) == S; ``original_image_size`` is the (H, W) of the frame it came from.
        """
        from sam_ros.core.predictor import ImageEmbedding  # the predictor imports this module
        if (not isinstance(transformed_image, torch.Tensor) or transformed_image.ndim != 4
                or transformed_image.shape[:2] != (1, 3)
                or max(transformed_image.shape[2:]) != self.image_size):
            raise ImageFormatError(
                f'set_torch_image expects a (1, 3, h, w) tensor with max(h, w) == '
                f'{self.image_size} (apply transform.apply_image first), got '
                f'{tuple(getattr(transformed_image, "shape", ()))}')
        height, width = (int(v) for v in original_image_size[:2])
        with torch.inference_mode():
            x = self.model.preprocess(transformed_image.to(self.device, torch.float32))
            x = x.to(self.dtype, memory_format=_CHANNELS_LAST)
            features = self.model.image_encoder(x).contiguous(memory_format=_CHANNELS_LAST)
        size = (int(transformed_image.shape[2]), int(transformed_image.shape[3]))
        self.set_embedding(ImageEmbedding(features, (height, width), size, 'RGB'))

    def predict_torch(self, point_coords: Optional[torch.Tensor],
                      point_labels: Optional[torch.Tensor],
                      boxes: Optional[torch.Tensor] = None,
                      mask_input: Optional[torch.Tensor] = None,
                      multimask_output: bool = True, return_logits: bool = False
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """
        Segment the current image from B prompts already in the input frame (upstream's).

        ``point_coords`` (B, N, 2) pixel XY and ``boxes`` (B, 4) XYXY in the *input*
        frame (map them with ``transform.apply_coords_torch`` / ``apply_boxes_torch``),
        ``point_labels`` (B, N) (1, 0, -1), ``mask_input`` (B, 1, 4G, 4G) logits. Returns
        masks (B, C, H, W) bool in the original frame (float32 logits with
        ``return_logits``), IoUs (B, C) and low-res logits (B, C, 4G, 4G) float32, on the
        predictor's device; C = 3 (tokens 1-3) with ``multimask_output``, else 1.
        """
        embedding = self._current()
        points = self._torch_points(point_coords, point_labels)
        count = {len(t) for t in (points[0] if points else None, boxes, mask_input)
                 if t is not None}
        if not count:
            raise PromptError('no prompt: give point_coords with point_labels, or boxes')
        if len(count) > 1:
            raise PromptError('point_coords, boxes and mask_input must have the same batch '
                              'size B')
        if boxes is not None:
            if boxes.ndim != 2 or boxes.shape[1] != 4:
                raise PromptError(f'boxes must be (B, 4) XYXY, got {tuple(boxes.shape)}')
            boxes = boxes.to(self.device, torch.float32)
        if mask_input is not None:
            if tuple(mask_input.shape[1:]) != (1, *self.low_res_size):
                raise PromptError(
                    f'mask_input must be (B, 1, {self.low_res_size[0]}, '
                    f'{self.low_res_size[1]}) low-res logits for this model, got '
                    f'{tuple(mask_input.shape)}')
            mask_input = mask_input.to(self.device, torch.float32)
        with torch.inference_mode():
            sparse, dense = self.model.prompt_encoder(points, boxes, mask_input)
            low_res, iou = self.model.mask_decoder.predict_masks(
                embedding.features, self._dense_pe, sparse.to(self.dtype), dense.to(self.dtype))
            tokens = list(selection.tokens_for_mode('multi' if multimask_output else 'single'))
            low_res, iou = low_res[:, tokens].float(), iou[:, tokens].float()
            logits = postprocess_logits(low_res, embedding.input_size,
                                        embedding.original_size, self.image_size)
            masks = logits if return_logits else logits > self.model.mask_threshold
        return masks, iou, low_res

    def _torch_points(self, coords: Optional[torch.Tensor], labels: Optional[torch.Tensor]
                      ) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
        if coords is None and labels is None:
            return None
        if coords is None or labels is None:
            raise PromptError('point_coords and point_labels must be given together')
        if coords.ndim != 3 or coords.shape[2] != 2 or tuple(labels.shape) != tuple(
                coords.shape[:2]):
            raise PromptError(f'point_coords must be (B, N, 2) and point_labels (B, N), got '
                              f'{tuple(coords.shape)} and {tuple(labels.shape)}')
        return coords.to(self.device, torch.float32), labels.to(self.device, torch.int64)
