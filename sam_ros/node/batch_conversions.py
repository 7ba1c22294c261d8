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
Conversions of the batch and segment-everything messages, in one place.

``SegmentBatch`` prompts to the engine's ``BatchPrompt`` (each checked on its own, so one
bad prompt fails only itself), ``vision_msgs/Detection2DArray`` to a ``SegmentBatch``
(read by attribute, so this module does not import vision_msgs; the geometry is
:func:`center_size_to_xyxy` on plain arrays), label images to ``mono16`` and automatic
mask generator records to ``SegmentRegion``. Pixels: x right, y down; boxes XYXY.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sam_ros.core.batch import BatchPrompt
from sam_ros.core.errors import PromptError
from sam_ros.msg import BatchPrompt as BatchPromptMsg
from sam_ros.msg import SegmentBatch, SegmentPrompt, SegmentRegion
from sam_ros.node import conversions as conv
from sensor_msgs.msg import Image, RegionOfInterest
from std_msgs.msg import Header

__all__ = [
    'batch_prompts',
    'best_kept_mask',
    'boxes_to_batch',
    'center_size_to_xyxy',
    'detections_to_batch',
    'labels_to_image',
    'record_to_region',
]


def batch_prompts(msg: SegmentBatch) -> List[Tuple[Optional[BatchPrompt], str]]:
    """
    Convert each prompt of ``msg``; return (BatchPrompt, '') or (None, why) per prompt.

    The message-level checks are those of a ``SegmentPrompt`` (labels 0/1 matching the
    points, a point or a box, finite values, XYXY box, known mode); range checks against
    the image are the engine's.
    """
    converted = []
    for item in msg.prompts:
        single = SegmentPrompt(points=list(item.points), labels=list(item.labels),
                               has_box=bool(item.has_box), box=list(item.box),
                               mode=int(item.mode))
        try:
            arrays = conv.prompt_to_arrays(single)
        except PromptError as exc:
            converted.append((None, str(exc)))
            continue
        converted.append((BatchPrompt(arrays.point_coords, arrays.point_labels, arrays.box,
                                      arrays.mode), ''))
    return converted


def center_size_to_xyxy(centers: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """
    Return XYXY boxes (N, 4) float64 from centres (N, 2) pixel XY and sizes (N, 2) (w, h).

    vision_msgs' ``BoundingBox2D`` is a centre and a full width/height.
    """
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    sizes = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    if centers.shape != sizes.shape:
        raise PromptError(f'{len(centers)} centres but {len(sizes)} sizes')
    half = sizes / 2.0
    return np.concatenate([centers - half, centers + half], axis=1)


def _center(bbox: Any) -> Tuple[float, float]:
    center = bbox.center
    position = getattr(center, 'position', center)  # vision_msgs >= 4: Pose2D.position
    return float(position.x), float(position.y)


def _size(bbox: Any) -> Tuple[float, float]:
    """
    Return the (w, h) of the axis-aligned box enclosing ``bbox`` (rotated by theta).

    Both layouts have ``center.theta`` (radians). A non-finite theta gives a non-finite
    size, so that detection's prompt is refused like any non-finite box.
    """
    width, height = float(bbox.size_x), float(bbox.size_y)
    theta = float(getattr(bbox.center, 'theta', 0.0))
    if theta == 0.0:
        return width, height
    if not np.isfinite(theta):
        return float('nan'), float('nan')
    cos, sin = abs(np.cos(theta)), abs(np.sin(theta))
    return cos * width + sin * height, sin * width + cos * height


def _best_hypothesis(detection: Any) -> Tuple[str, float]:
    best_id, best_score = '', 0.0
    for result in getattr(detection, 'results', []):
        hypothesis = getattr(result, 'hypothesis', result)  # older vision_msgs: flat
        class_id = getattr(hypothesis, 'class_id', getattr(hypothesis, 'id', ''))
        score = float(getattr(hypothesis, 'score', 0.0))
        if not best_id or score > best_score:
            best_id, best_score = str(class_id), score
    return best_id, best_score


def boxes_to_batch(header: Header, boxes: np.ndarray, ids: Sequence[str],
                   class_ids: Sequence[str], class_scores: Sequence[float],
                   batch_id: str) -> SegmentBatch:
    """
    Return a ``SegmentBatch`` of one box prompt (MODE_AUTO) per row of ``boxes`` (N, 4).

    ``ids``, ``class_ids`` and ``class_scores`` give each prompt's id (empty:
    ``detection/<index>``), class id and score. Raises PromptError on a length mismatch.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes) == len(ids) == len(class_ids) == len(class_scores):
        raise PromptError(f'{len(boxes)} boxes, {len(ids)} ids, {len(class_ids)} class ids '
                          f'and {len(class_scores)} scores; give one of each per object')
    batch = SegmentBatch(header=header, batch_id=batch_id)
    for index, box in enumerate(boxes):
        batch.prompts.append(BatchPromptMsg(
            id=str(ids[index]) or f'detection/{index}', has_box=True,
            box=[float(v) for v in box], mode=SegmentPrompt.MODE_AUTO,
            class_id=str(class_ids[index]), class_score=float(class_scores[index])))
    return batch


def detections_to_batch(msg: Any, batch_id: str) -> SegmentBatch:
    """
    Return a ``SegmentBatch`` (one box prompt per detection) for a Detection2DArray.

    Reads vision_msgs 4 (``bbox.center.position.x``, ``results[i].hypothesis.class_id``)
    and older layouts (``bbox.center.x``, flat hypotheses). A box rotated by
    ``bbox.center.theta`` (radians) becomes the axis-aligned box that encloses it (SAM
    takes axis-aligned boxes). Each prompt's id is the
    detection's ``id`` (else ``detection/<index>``), its class id and score those of the
    best-scoring hypothesis; the stamp is the array's. See :func:`boxes_to_batch`.
    """
    detections = list(msg.detections)
    centers = [_center(d.bbox) for d in detections]
    sizes = [_size(d.bbox) for d in detections]
    hypotheses = [_best_hypothesis(d) for d in detections]
    return boxes_to_batch(msg.header, center_size_to_xyxy(centers, sizes),
                          [str(getattr(d, 'id', '')) for d in detections],
                          [h[0] for h in hypotheses], [h[1] for h in hypotheses], batch_id)


def labels_to_image(labels: np.ndarray, header: Header) -> Image:
    """Return an (H, W) uint16 label image as a ``mono16`` Image with ``header``."""
    return conv.numpy_to_image(np.ascontiguousarray(labels, dtype=np.uint16), 'mono16',
                               header)


def best_kept_mask(prediction: Any, min_iou: float) -> Tuple[Optional[np.ndarray], float]:
    """Return (mask, predicted IoU) of the best mask passing ``min_iou``, or (None, 0.0)."""
    kept = conv.kept_indices(prediction.iou, min_iou)
    if not kept:
        return None, 0.0
    best = max(kept, key=lambda i: float(prediction.iou[i]))
    return prediction.masks[best], float(prediction.iou[best])


def _roi_xywh(box: Sequence[int], empty: bool = False) -> RegionOfInterest:
    if empty:
        return RegionOfInterest()
    x, y, w, h = (int(v) for v in box)
    return RegionOfInterest(x_offset=x, y_offset=y, width=w + 1, height=h + 1)


def record_to_region(record: Dict[str, Any], label: int) -> SegmentRegion:
    """
    Return a ``SegmentRegion`` for an automatic mask generator ``record``.

    The record's XYWH bbox spans inclusive bounds (w = x1 - x0); the RegionOfInterest
    holds the pixel counts (w + 1). The crop box is passed as it is.
    """
    (x, y), = record['point_coords']
    x0, y0, w, h = record['crop_box']
    region = SegmentRegion(label=int(label), area=int(record['area']),
                           bbox=_roi_xywh(record['bbox'], empty=record['area'] == 0),
                           predicted_iou=float(record['predicted_iou']),
                           stability_score=float(record['stability_score']),
                           crop_box=RegionOfInterest(x_offset=int(x0), y_offset=int(y0),
                                                     width=int(w), height=int(h)))
    region.point.x, region.point.y = float(x), float(y)
    return region
