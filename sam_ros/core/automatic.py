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
Segment everything: SAM's automatic mask generator on this engine.

:class:`SamAutomaticMaskGenerator` takes upstream's constructor parameters and returns
upstream's records, so migrating is one import::

    from sam_ros.core import SamAutomaticMaskGenerator  # was: from segment_anything import

Each record is a dict: ``segmentation`` (H, W) bool (or an uncompressed RLE dict with
``output_mode='uncompressed_rle'``), ``area`` int, ``bbox`` XYWH ints
(``[x0, y0, x1 - x0, y1 - y0]`` of the inclusive mask bounds), ``predicted_iou`` float,
``point_coords`` ``[[x, y]]`` (the grid point, pixels), ``stability_score`` float and
``crop_box`` XYWH ints. The steps are upstream's: a grid of single-point prompts per
crop, three masks each (tokens 1..3), kept when predicted IoU > ``pred_iou_thresh`` and
stability score (full-resolution logits, ``stability_score_offset``) >=
``stability_score_thresh``; masks touching an inner crop edge dropped; box NMS within a
crop (``box_nms_thresh``, by predicted IoU) and across crops (``crop_nms_thresh``,
smaller crops first); then, with ``min_mask_region_area`` > 0, holes and islands below
that area removed (``sam_ros.core.regions``) and one more NMS that prefers unchanged
masks. Records come highest predicted IoU first (before the clean-up NMS).

:meth:`generate_from_embedding` runs the same on an embedding already computed (the
node's cached one; no second encode), for ``crop_n_layers == 0``.
"""

import time
from typing import Any, Dict, List, Optional, Union

import numpy as np
from sam_ros.core import amg
from sam_ros.core.predictor import ImageEmbedding, Prompts, SamPredictor
from sam_ros.core.regions import clean_mask
from sam_ros.core.sam import Sam
from sam_ros.core.selection import MULTI_TOKENS, stability_score
import torch

__all__ = ['OUTPUT_MODES', 'SamAutomaticMaskGenerator']

OUTPUT_MODES = ('binary_mask', 'uncompressed_rle', 'coco_rle')
_UPSAMPLE_CHUNK = 32  # masks upsampled to full resolution at once (memory bound)


class _Found:
    """Masks kept so far (numpy/torch columns of equal length)."""

    def __init__(self) -> None:
        self.masks: List[np.ndarray] = []
        self.iou: List[float] = []
        self.stability: List[float] = []
        self.points: List[np.ndarray] = []
        self.boxes: List[np.ndarray] = []
        self.crops: List[List[int]] = []

    def take(self, keep: torch.Tensor) -> None:
        for name in ('masks', 'iou', 'stability', 'points', 'boxes', 'crops'):
            column = getattr(self, name)
            setattr(self, name, [column[i] for i in keep.tolist()])

    def __len__(self) -> int:
        return len(self.masks)


class SamAutomaticMaskGenerator:
    """
    Generate masks for a whole image from a grid of point prompts (upstream's API).

    ``model`` is a :class:`Sam` (a :class:`SamPredictor` is built on it, fp32 on the
    CPU unless it is already a predictor) or a :class:`SamPredictor`. Parameters and
    defaults are upstream's (chosen there for ViT-H). ``output_mode`` 'coco_rle' needs
    pycocotools. Raises ValueError on a bad parameter. After each run,
    ``last_timings`` holds seconds spent in 'decode' (prompt encoder + mask decoder),
    'filter' (upsampling, IoU, stability, crop-edge and region clean-up) and 'nms'.
    """

    def __init__(self, model: Union[Sam, SamPredictor], points_per_side: Optional[int] = 32,
                 points_per_batch: int = 64, pred_iou_thresh: float = 0.88,
                 stability_score_thresh: float = 0.95, stability_score_offset: float = 1.0,
                 box_nms_thresh: float = 0.7, crop_n_layers: int = 0,
                 crop_nms_thresh: float = 0.7, crop_overlap_ratio: float = 512 / 1500,
                 crop_n_points_downscale_factor: int = 1,
                 point_grids: Optional[List[np.ndarray]] = None,
                 min_mask_region_area: int = 0, output_mode: str = 'binary_mask') -> None:
        if (points_per_side is None) == (point_grids is None):
            raise ValueError('give exactly one of points_per_side and point_grids')
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f'output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}')
        if output_mode == 'coco_rle':
            try:
                from pycocotools import mask as coco_mask  # noqa: F401
            except ImportError:
                raise ValueError("output_mode 'coco_rle' needs pycocotools; install it or "
                                 "use 'binary_mask' / 'uncompressed_rle'") from None
        if int(points_per_batch) < 1 or int(crop_n_layers) < 0:
            raise ValueError('points_per_batch must be >= 1 and crop_n_layers >= 0')
        if points_per_side is not None:
            point_grids = amg.layer_point_grids(int(points_per_side), int(crop_n_layers),
                                                int(crop_n_points_downscale_factor))
        elif len(point_grids) != int(crop_n_layers) + 1:
            raise ValueError(f'point_grids needs one grid per crop layer '
                             f'({int(crop_n_layers) + 1}), got {len(point_grids)}')
        self.point_grids = [np.asarray(g, dtype=np.float64).reshape(-1, 2) for g in point_grids]
        if isinstance(model, SamPredictor):
            self.predictor = model
        elif isinstance(model, Sam):
            self.predictor = SamPredictor(model, device='auto', precision='fp32')
        else:
            raise ValueError(f'model must be a Sam or a SamPredictor, got {type(model).__name__}')
        self.points_per_batch = int(points_per_batch)
        self.pred_iou_thresh = float(pred_iou_thresh)
        self.stability_score_thresh = float(stability_score_thresh)
        self.stability_score_offset = float(stability_score_offset)
        self.box_nms_thresh = float(box_nms_thresh)
        self.crop_n_layers = int(crop_n_layers)
        self.crop_nms_thresh = float(crop_nms_thresh)
        self.crop_overlap_ratio = float(crop_overlap_ratio)
        self.min_mask_region_area = int(min_mask_region_area)
        self.output_mode = output_mode
        self.last_timings: Dict[str, float] = {}

    # ------------------------------------------------------------------ public
    def generate(self, image: np.ndarray, image_format: str = 'RGB') -> List[Dict[str, Any]]:
        """
        Return the records (see the module docstring) for ``image`` (H, W, 3) uint8.

        Every crop is encoded once (the whole image for ``crop_n_layers == 0``).
        """
        self.last_timings = {'decode': 0.0, 'filter': 0.0, 'nms': 0.0}
        height, width = image.shape[:2]
        boxes, layers = amg.crop_boxes((height, width), self.crop_n_layers,
                                       self.crop_overlap_ratio)
        found = _Found()
        for box, layer in zip(boxes, layers):
            x0, y0, x1, y1 = box
            embedding = self.predictor.encode(image[y0:y1, x0:x1], image_format)
            found_crop = self._crop(embedding, box, layer, (height, width))
            for name in ('masks', 'iou', 'stability', 'points', 'boxes', 'crops'):
                getattr(found, name).extend(getattr(found_crop, name))
        if len(boxes) > 1 and len(found):
            started = time.perf_counter()
            crops = torch.as_tensor(np.array(found.crops, dtype=np.float64))
            area = (crops[:, 2] - crops[:, 0]) * (crops[:, 3] - crops[:, 1])
            keep = amg.box_nms(torch.as_tensor(np.array(found.boxes)), 1.0 / area,
                               self.crop_nms_thresh)
            found.take(keep)
            self.last_timings['nms'] += time.perf_counter() - started
        return self._finish(found)

    def generate_from_embedding(self, embedding: ImageEmbedding) -> List[Dict[str, Any]]:
        """
        Return the records for the image of a stored ``embedding`` (no encoder run).

        Only for ``crop_n_layers == 0`` (crops need encodes of their own); raises
        ValueError otherwise.
        """
        if self.crop_n_layers != 0:
            raise ValueError('generate_from_embedding works with crop_n_layers=0 only; '
                             'call generate(image) for crops')
        embedding = self.predictor._check_embedding(embedding)
        self.last_timings = {'decode': 0.0, 'filter': 0.0, 'nms': 0.0}
        height, width = embedding.original_size
        return self._finish(self._crop(embedding, [0, 0, width, height], 0, (height, width)))

    # --------------------------------------------------------------- internals
    def _crop(self, embedding: ImageEmbedding, crop_box: List[int], layer: int,
              size: tuple) -> _Found:
        """Decode the grid of one crop and filter its masks; boxes in image pixels."""
        crop_h, crop_w = embedding.original_size
        points = self.point_grids[layer] * np.array([crop_w, crop_h], dtype=np.float64)
        found = _Found()
        for start in range(0, len(points), self.points_per_batch):
            self._batch(embedding, points[start:start + self.points_per_batch], crop_box,
                        size, found)
        if len(found):
            started = time.perf_counter()
            keep = amg.box_nms(torch.as_tensor(np.array(found.boxes)),
                               torch.as_tensor(found.iou), self.box_nms_thresh)
            found.take(keep)
            self.last_timings['nms'] += time.perf_counter() - started
        return found

    def _batch(self, embedding: ImageEmbedding, points: np.ndarray, crop_box: List[int],
               size: tuple, found: _Found) -> None:
        started = time.perf_counter()
        count = len(points)
        prompts = Prompts(points[:, None, :], np.ones((count, 1), np.int64), None, None,
                          np.ones(count, int), np.zeros(count, bool))
        low_res, iou = self.predictor._decode(embedding, prompts)
        tokens = list(MULTI_TOKENS)
        low_res = low_res[:, tokens].flatten(0, 1)
        iou = iou[:, tokens].flatten(0, 1).numpy()
        point_of = np.repeat(points, len(tokens), axis=0)
        filtering = time.perf_counter()
        self.last_timings['decode'] += filtering - started
        keep = np.arange(len(iou))
        if self.pred_iou_thresh > 0.0:
            keep = keep[iou[keep] > self.pred_iou_thresh]
        height, width = size
        x0, y0, x1, y1 = crop_box
        image_box = [0, 0, width, height]
        for chunk in range(0, len(keep), _UPSAMPLE_CHUNK):
            rows = keep[chunk:chunk + _UPSAMPLE_CHUNK]
            logits = self.predictor._upsample(low_res[rows][None], embedding)[0]
            stability = stability_score(logits, self.predictor.model.mask_threshold,
                                        self.stability_score_offset)
            good = np.ones(len(rows), bool)
            if self.stability_score_thresh > 0.0:
                good &= stability >= self.stability_score_thresh
            masks = logits > self.predictor.model.mask_threshold
            boxes = amg.mask_boxes_xyxy(masks)
            good &= ~amg.near_crop_edge(boxes, crop_box, image_box).numpy()
            for i in np.flatnonzero(good):
                mask = masks[i].numpy()
                if (x0, y0, x1, y1) != (0, 0, width, height):
                    full = np.zeros((height, width), bool)
                    full[y0:y1, x0:x1] = mask
                    mask = full
                found.masks.append(mask)
                found.iou.append(float(iou[rows[i]]))
                found.stability.append(float(stability[i]))
                found.points.append(point_of[rows[i]] + np.array([x0, y0], np.float64))
                found.boxes.append(boxes[i].numpy() + np.array([x0, y0, x0, y0]))
                found.crops.append(list(crop_box))
        self.last_timings['filter'] += time.perf_counter() - filtering

    def _finish(self, found: _Found) -> List[Dict[str, Any]]:
        if self.min_mask_region_area > 0 and len(found):
            started = time.perf_counter()
            unchanged = []
            for i, mask in enumerate(found.masks):
                cleaned, changed = clean_mask(mask, self.min_mask_region_area)
                found.masks[i] = cleaned
                unchanged.append(0.0 if changed else 1.0)
            boxes = amg.mask_boxes_xyxy(torch.from_numpy(np.stack(found.masks)))
            found.boxes = list(boxes.numpy())
            filtered = time.perf_counter()
            self.last_timings['filter'] += filtered - started
            # As upstream: the larger of the two NMS thresholds after the clean-up.
            keep = amg.box_nms(boxes, torch.as_tensor(unchanged),
                               max(self.box_nms_thresh, self.crop_nms_thresh))
            found.take(keep)
            self.last_timings['nms'] += time.perf_counter() - filtered
        records = []
        for i in range(len(found)):
            mask = found.masks[i]
            records.append({
                'segmentation': self._encode_mask(mask),
                'area': int(np.count_nonzero(mask)),
                'bbox': [int(v) for v in amg.xyxy_to_xywh(found.boxes[i])],
                'predicted_iou': float(found.iou[i]),
                'point_coords': [[float(v) for v in found.points[i]]],
                'stability_score': float(found.stability[i]),
                'crop_box': [int(v) for v in amg.xyxy_to_xywh(found.crops[i])],
            })
        return records

    def _encode_mask(self, mask: np.ndarray) -> Any:
        if self.output_mode == 'binary_mask':
            return mask
        rle = amg.mask_to_uncompressed_rle(mask)
        if self.output_mode == 'uncompressed_rle':
            return rle
        from pycocotools import mask as coco_mask
        encoded = coco_mask.frPyObjects(rle, *rle['size'])
        encoded['counts'] = encoded['counts'].decode('utf-8')
        return encoded
