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
Clean a :class:`~sam_ros.core.predictor.Prediction`'s masks: small islands and holes.

``clean_prediction(prediction, min_region_area)`` runs the region clean-up of
:func:`sam_ros.core.regions.clean_mask` (upstream's mask-generator post-processing:
fill holes, then remove islands, below ``min_region_area`` pixels) on every mask and
recomputes ``areas`` and ``boxes`` from the cleaned masks, so both describe what is
returned. Multi-mask results are sorted by area again (levels follow the new order).
Predicted IoUs, stability scores and low-res logits are the model's and stay as they
were (upstream keeps its scores too). ``min_region_area <= 0`` returns the prediction
unchanged.
"""

import dataclasses

import numpy as np
from sam_ros.core import selection
from sam_ros.core.predictor import Prediction
from sam_ros.core.regions import clean_mask

__all__ = ['DEFAULT_MIN_REGION_AREA', 'clean_prediction']

#: The node's default: islands and holes under 16 x 16 pixels go (stray blobs of a few
#: hundred pixels at the frame edges are common with the embedded model's box masks).
DEFAULT_MIN_REGION_AREA = 256


def clean_prediction(prediction: Prediction, min_region_area: int) -> Prediction:
    """
    Return ``prediction`` with islands and holes below ``min_region_area`` pixels removed.

    ``masks`` (C, H, W) bool are cleaned one by one; ``areas`` (C,) int64 and ``boxes``
    (C, 4) int32 XYXY inclusive are recomputed from them. A mask is never emptied (its
    largest island stays). Raises ValueError for a negative or non-integer area.
    """
    if isinstance(min_region_area, bool) or not isinstance(min_region_area,
                                                           (int, np.integer)):
        raise ValueError(f'min_region_area must be an integer number of pixels, got '
                         f'{min_region_area!r}')
    if min_region_area < 0:
        raise ValueError(f'min_region_area must be >= 0 pixels, got {min_region_area}')
    if min_region_area == 0 or prediction.masks.shape[0] == 0:
        return prediction
    cleaned = [clean_mask(mask, int(min_region_area)) for mask in prediction.masks]
    if not any(changed for _, changed in cleaned):
        return prediction
    masks = np.stack([mask for mask, _ in cleaned])
    areas = selection.mask_areas(masks)
    order, levels = selection.sort_by_area(areas, prediction.mode)
    iou = prediction.iou[order]
    return dataclasses.replace(
        prediction, masks=masks[order], iou=iou, stability=prediction.stability[order],
        low_res_logits=prediction.low_res_logits[order], levels=tuple(levels),
        best_index=int(np.argmax(iou)), areas=areas[order],
        boxes=selection.mask_boxes(masks)[order], tokens=prediction.tokens[order])
