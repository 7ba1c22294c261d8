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
Many prompts on one image: each checked on its own, decoded in as few passes as possible.

``segment_prompts`` takes N independent prompts (boxes from a detector, point sets, or
both) for one embedding. Each prompt is checked alone, so one bad prompt gets an error
of its own and the others are answered. The valid prompts are grouped by the kind of
sparse tokens they make (a box or not, points or not) and each group is decoded in one
prompt encoder + mask decoder pass of at most ``max_per_pass`` prompts. Within a group,
point sets of different lengths are padded with label -1 at (0, 0), as upstream does
for batched point prompts.

Equality with single prompts: every box-only prompt, and every point prompt whose
group needs no padding, gives the same masks and IoUs as :meth:`SamPredictor.segment`
on the same embedding (to float tolerance). A padded point prompt equals the single
prompt with the same padding (a -1 point is one more not-a-point token the decoder
attends to, so it is close to, not equal to, the unpadded prompt).
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from sam_ros.core import selection
from sam_ros.core.errors import PromptError
from sam_ros.core.labels import label_image, LabelImage
from sam_ros.core.predictor import (check_prompts, ImageEmbedding, Prediction, Prompts,
                                    SamPredictor)

__all__ = ['BatchOutcome', 'BatchPrompt', 'BatchResult', 'outcome_labels', 'segment_prompts']


@dataclass(frozen=True)
class BatchPrompt:
    """
    One object's prompt: points and/or a box in pixels of the original frame.

    ``point_coords`` (K, 2) pixel XY with ``point_labels`` (K,) in {1, 0, -1};
    ``box`` (4,) XYXY (clipped to the image when it reaches past the border);
    ``mode`` 'auto' | 'multi' | 'single' as in :meth:`SamPredictor.segment`.
    """

    point_coords: Optional[np.ndarray] = None
    point_labels: Optional[np.ndarray] = None
    box: Optional[np.ndarray] = None
    mode: str = 'auto'


@dataclass(frozen=True)
class BatchOutcome:
    """The answer for one prompt: a ``prediction``, or ``error`` saying why it was refused."""

    prediction: Optional[Prediction]
    error: str = ''

    @property
    def ok(self) -> bool:
        """Return True when the prompt was decoded."""
        return self.prediction is not None


@dataclass(frozen=True)
class BatchResult:
    """``outcomes`` in prompt order and the number of decoder ``passes`` that ran."""

    outcomes: Tuple[BatchOutcome, ...]
    passes: int


def _check_one(prompt: BatchPrompt, original_size: Tuple[int, int],
               mask_size: Tuple[int, int]) -> Prompts:
    if not isinstance(prompt, BatchPrompt):
        raise PromptError(f'expected a BatchPrompt, got {type(prompt).__name__}')
    checked = check_prompts(prompt.point_coords, prompt.point_labels, prompt.box, None,
                            original_size, mask_size, batched=False)
    selection.resolve_mode(prompt.mode, int(checked.num_points[0]), bool(checked.has_box[0]))
    return checked


def _stack(rows: Sequence[Prompts]) -> Prompts:
    """Stack single checked prompts of one group into one batch, padding points with -1."""
    coords = labels = boxes = None
    if rows[0].coords is not None:
        longest = max(r.coords.shape[1] for r in rows)
        coords = np.zeros((len(rows), longest, 2))
        labels = np.full((len(rows), longest), -1, dtype=np.int64)
        for i, r in enumerate(rows):
            coords[i, :r.coords.shape[1]] = r.coords[0]
            labels[i, :r.labels.shape[1]] = r.labels[0]
    if rows[0].boxes is not None:
        boxes = np.concatenate([r.boxes for r in rows])
    return Prompts(coords, labels, boxes, None,
                   np.concatenate([r.num_points for r in rows]),
                   np.concatenate([r.has_box for r in rows]),
                   np.array([0.0 if r.clipped is None else r.clipped[0] for r in rows]))


def segment_prompts(predictor: SamPredictor, prompts: Sequence[BatchPrompt],
                    embedding: Optional[ImageEmbedding] = None,
                    max_per_pass: int = 64) -> BatchResult:
    """
    Segment N prompts on one embedding; a bad prompt fails only itself.

    ``embedding`` from :meth:`SamPredictor.encode` (None: the predictor's current one).
    ``max_per_pass`` (>= 1) caps the prompts of one decoder pass (memory grows by about
    20 MB per prompt at the official sizes, fp32). Returns a :class:`BatchResult` whose
    ``outcomes`` are in prompt order: a :class:`Prediction` each, or the PromptError
    message of a refused prompt. Raises SamError for a missing or unfit embedding and
    ValueError for ``max_per_pass`` < 1.
    """
    if int(max_per_pass) < 1:
        raise ValueError(f'max_per_pass must be >= 1, got {max_per_pass}')
    embedding = (predictor._current() if embedding is None
                 else predictor._check_embedding(embedding))
    outcomes: List[Optional[BatchOutcome]] = [None] * len(prompts)
    groups: Dict[Tuple[bool, bool], List[Tuple[int, Prompts]]] = {}
    for index, prompt in enumerate(prompts):
        try:
            checked = _check_one(prompt, embedding.original_size, predictor.low_res_size)
        except PromptError as exc:
            outcomes[index] = BatchOutcome(None, str(exc))
            continue
        key = (checked.coords is not None, checked.boxes is not None)
        groups.setdefault(key, []).append((index, checked))
    passes = 0
    for members in groups.values():
        for start in range(0, len(members), int(max_per_pass)):
            chunk = members[start:start + int(max_per_pass)]
            batch = _stack([checked for _, checked in chunk])
            modes = [prompts[index].mode for index, _ in chunk]
            predictions = predictor._predictions(embedding, batch, modes)
            passes += 1
            for (index, _), prediction in zip(chunk, predictions):
                outcomes[index] = BatchOutcome(prediction)
    return BatchResult(tuple(outcomes), passes)


def outcome_labels(outcomes: Sequence[BatchOutcome], size: Tuple[int, int]) -> LabelImage:
    """
    Return the label image of batch ``outcomes`` (object k = ``outcomes[k - 1]``).

    Each decoded object contributes its best mask (``best_index``) scored by that
    mask's predicted IoU; refused prompts own no pixel. See :mod:`sam_ros.core.labels`.
    """
    masks, scores = [], []
    for outcome in outcomes:
        prediction = outcome.prediction
        if prediction is None:
            masks.append(None)
            scores.append(0.0)
            continue
        masks.append(prediction.masks[prediction.best_index])
        scores.append(float(prediction.iou[prediction.best_index]))
    return label_image(masks, scores, size)
