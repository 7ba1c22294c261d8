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
The instance label image of many objects in one frame.

One (H, W) uint16 image: 0 is background, k is object k (the k-th object of the batch,
counting from 1). Where masks overlap, the pixel goes to the object with the higher
score (its predicted IoU); on equal scores the earlier object (lower k) wins. An object
without a mask (a refused prompt) owns no pixel. This is the input that grasp planners
(Contact-GraspNet wrappers) and semantic costmap layers take.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = ['LabelImage', 'MAX_LABELS', 'label_image']

#: The most objects a uint16 label image can hold (0 is background).
MAX_LABELS = 65535


@dataclass(frozen=True)
class LabelImage:
    """
    ``labels`` (H, W) uint16 (0 background, k = object k); ``confidence`` (N,) float32.

    ``confidence[k - 1]`` is object k's score (the predicted IoU of its mask; 0.0 for an
    object without a mask); ``visible_area[k - 1]`` (int64) the pixels labelled k, which
    is less than its mask's area where a higher-scored object overlaps it.
    """

    labels: np.ndarray
    confidence: np.ndarray
    visible_area: np.ndarray


def label_image(masks: Sequence[Optional[np.ndarray]], scores: Sequence[float],
                size: Tuple[int, int]) -> LabelImage:
    """
    Paint N object masks into one label image by the overlap rule of this module.

    ``masks``: N bool (H, W) arrays (None for an object without a mask); ``scores``: N
    floats (higher wins an overlap; ties go to the lower index); ``size``: (H, W).
    Raises ValueError for more than :data:`MAX_LABELS` objects, a length mismatch, a
    mask of another size or a non-finite score.
    """
    height, width = int(size[0]), int(size[1])
    if len(masks) != len(scores):
        raise ValueError(f'{len(masks)} masks but {len(scores)} scores; give one score per '
                         'mask')
    if len(masks) > MAX_LABELS:
        raise ValueError(f'{len(masks)} objects do not fit a uint16 label image (at most '
                         f'{MAX_LABELS})')
    score_array = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(score_array)):
        raise ValueError(f'scores must be finite, got {score_array.tolist()}')
    labels = np.zeros((height, width), dtype=np.uint16)
    confidence = np.zeros(len(masks), dtype=np.float32)
    # Highest score first; a stable sort of -score keeps the lower index first on ties.
    for index in np.argsort(-score_array, kind='stable'):
        mask = masks[index]
        if mask is None:
            continue
        mask = np.asarray(mask)
        if mask.shape != (height, width):
            raise ValueError(f'mask {index} has shape {mask.shape}, expected '
                             f'({height}, {width})')
        confidence[index] = score_array[index]
        free = (labels == 0) & mask.astype(bool)
        labels[free] = index + 1
    visible = np.bincount(labels.ravel(), minlength=len(masks) + 1)[1:].astype(np.int64)
    return LabelImage(labels, confidence, visible)
