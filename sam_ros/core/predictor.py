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
SamPredictor: encode an image once, then segment it from point and box prompts.

Coordinates are pixels of the original image, x right, y down; boxes are XYXY. A
point may lie anywhere in [0, W] x [0, H] (bounds inclusive, W and H the image
width and height). Points are passed to the model as upstream does (scaled by the
resize factor; the prompt encoder adds 0.5). Labels: 1 foreground, 0 background,
-1 padding (ignored; lets a batch mix prompts with different point counts).
"""

from dataclasses import dataclass
import threading
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from sam_ros.core import selection
from sam_ros.core.errors import ImageFormatError, PromptError, SamError
from sam_ros.core.runtime import (precision_dtype, resolve_device, resolve_precision,
                                  tune_cpu_allocator)
from sam_ros.core.sam import Sam
from sam_ros.core.transforms import (as_rgb, clip_boxes, postprocess_logits, resize_image,
                                     scale_boxes, scale_coords, to_input_tensor)
from sam_ros.core.upstream import UpstreamPredictorApi
import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ['ImageEmbedding', 'Prediction', 'SamPredictor']

_CHANNELS_LAST = torch.channels_last


@dataclass(frozen=True)
class ImageEmbedding:
    """
    The encoder output for one image; immutable, storable and reusable.

    ``features`` is (1, D, G, G) on the predictor's device in its compute dtype (D = 256
    and G = 64 for the official models), stored channels_last (a layout, not a shape).
    ``original_size`` is the camera image's (H, W), ``input_size`` the (h, w) after
    resizing its longest side to the model's S.
    ``image_format`` records the format the frame arrived in ('RGB' or 'BGR').
    """

    features: torch.Tensor
    original_size: Tuple[int, int]
    input_size: Tuple[int, int]
    image_format: str = 'RGB'


@dataclass(frozen=True)
class Prediction:
    """
    The masks for one prompt (numpy arrays, C = 3 in 'multi' mode, 1 in 'single').

    ``masks`` (C, H, W) bool in the original frame; ``iou`` (C,) float32 predicted IoU;
    ``stability`` (C,) float32 stability score; ``low_res_logits`` (C, 4G, 4G) float32
    (feed one back as ``mask_input`` to refine); ``levels`` 'subpart' | 'part' | 'whole'
    or 'single'; ``best_index`` argmax of ``iou``; ``areas`` (C,) int64 pixel counts;
    ``boxes`` (C, 4) int32 tight XYXY inclusive pixel bounds (zeros when empty);
    ``tokens`` (C,) int64 upstream decoder token of each mask; ``mode`` 'multi' or
    'single'. Multi-mask results are sorted by area ascending; ``np.argsort(tokens)``
    recovers upstream's order. ``box_clipped`` is the fraction of the prompt box's area
    that lay outside the image and was clipped off (0.0 without a box or clip).
    """

    masks: np.ndarray
    iou: np.ndarray
    stability: np.ndarray
    low_res_logits: np.ndarray
    levels: Tuple[str, ...]
    best_index: int
    areas: np.ndarray
    boxes: np.ndarray
    tokens: np.ndarray
    mode: str
    box_clipped: float = 0.0


class Prompts(NamedTuple):
    """Checked prompts for N images rows, in the original frame (internal)."""

    coords: Optional[np.ndarray]  # (N, K, 2) float64 pixel XY, or None
    labels: Optional[np.ndarray]  # (N, K) int64 in {1, 0, -1}, or None
    boxes: Optional[np.ndarray]  # (N, 4) float64 XYXY, or None
    masks: Optional[np.ndarray]  # (N, 1, 4G, 4G) float32 logits, or None
    num_points: np.ndarray  # (N,) real (non-padding) points per prompt
    has_box: np.ndarray  # (N,) bool
    clipped: Optional[np.ndarray] = None  # (N,) fraction of each box clipped off; None: 0


def _numeric(name: str, value: object, dtype: type = np.float64) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise PromptError(f'{name} must be numeric, got {value!r:.80}') from None
    if not np.all(np.isfinite(array)):
        raise PromptError(f'{name} contains NaN or infinite values; drop or fix them')
    return array


def _shape_error(name: str, expected: str, array: np.ndarray) -> PromptError:
    return PromptError(f'{name} must have shape {expected}, got {array.shape}')


def check_prompts(point_coords: Optional[np.ndarray], point_labels: Optional[np.ndarray],
                  boxes: Optional[np.ndarray], masks: Optional[np.ndarray],
                  original_size: Tuple[int, int], mask_size: Tuple[int, int],
                  batched: bool) -> Prompts:
    """
    Validate prompts against an image of ``original_size`` (H, W); raise PromptError.

    Single prompts (``batched`` False): coords (K, 2), labels (K,), box (4,) or (1, 4),
    mask (1, h, w) or (h, w). Batched: coords (N, K, 2), labels (N, K), boxes (N, 4),
    masks (N, 1, h, w) or (N, h, w), with (h, w) = ``mask_size`` = (4G, 4G).
    Points other than padding must lie in [0, W] x [0, H]; boxes must have positive
    width and height and are clipped to the same range (see ``transforms.clip_boxes``; a box
    with no overlap with the image is refused).
    """
    height, width = original_size
    clipped = None
    lead = 'N, ' if batched else ''
    coords = labels = None
    if (point_coords is None) != (point_labels is None):
        raise PromptError('point_coords and point_labels must be given together (one label '
                          'per point: 1 foreground, 0 background, -1 padding)')
    if point_coords is not None:
        coords = _numeric('point_coords', point_coords)
        raw_labels = _numeric('point_labels', point_labels)
        if not batched and coords.ndim == 2:
            coords, raw_labels = coords[None], raw_labels[None]
        if coords.ndim != 3 or coords.shape[-1] != 2 or (not batched and len(coords) != 1):
            raise _shape_error('point_coords', f'({lead}K, 2) pixel XY', coords)
        if raw_labels.shape != coords.shape[:2]:
            raise PromptError(f'point_labels {raw_labels.shape} must match point_coords '
                              f'{coords.shape}: one label per point')
        if not np.all(np.isin(raw_labels, (-1, 0, 1))):
            bad = raw_labels[~np.isin(raw_labels, (-1, 0, 1))][0]
            raise PromptError(f'point label {bad:g} is not allowed; use 1 (foreground), '
                              '0 (background) or -1 (padding)')
        labels = raw_labels.astype(np.int64)
        real = labels >= 0
        xs, ys = coords[..., 0], coords[..., 1]
        outside = real & ((xs < 0) | (xs > width) | (ys < 0) | (ys > height))
        if np.any(outside):
            x, y = coords[outside][0]
            raise PromptError(f'point ({x:g}, {y:g}) is outside the {width}x{height} image; '
                              f'points must lie in [0, {width}] x [0, {height}]')
        coords = np.where(real[..., None], coords, 0.0)
        if coords.shape[1] == 0:
            coords = labels = None
    if boxes is not None:
        boxes = _numeric('box', boxes)
        if not batched and boxes.shape == (4,):
            boxes = boxes[None]
        if boxes.ndim != 2 or boxes.shape[1] != 4 or (not batched and len(boxes) != 1):
            raise _shape_error('box', f'({"N, " if batched else ""}4) XYXY', boxes)
        inverted = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
        if np.any(inverted):
            raise PromptError(f'box {boxes[inverted][0].tolist()} is empty or inverted; '
                              'boxes are XYXY with x_max > x_min and y_max > y_min')
        boxes, clipped = clip_boxes(boxes, original_size)
    if masks is not None:
        given = _numeric('mask_input', masks, np.float32)
        masks = given
        if masks.ndim == 2 + batched:  # (h, w) or (N, h, w): add the channel axis
            masks = masks[:, None] if batched else masks[None]
        if not batched and masks.ndim == 3:  # (1, h, w) -> (1, 1, h, w)
            masks = masks[None]
        if masks.ndim != 4 or masks.shape[1:] != (1, *mask_size) or (
                not batched and len(masks) != 1):
            raise _shape_error('mask_input', f'({lead}1, {mask_size[0]}, {mask_size[1]}) '
                               'low-res logits', given)
    sizes = {name: len(a) for name, a in (('points', coords), ('boxes', boxes),
                                          ('mask_inputs', masks)) if a is not None}
    if len(set(sizes.values())) > 1:
        raise PromptError(f'prompt counts differ: {sizes}; give one entry per prompt')
    count = next(iter(sizes.values()), 0)
    num_points = (labels >= 0).sum(axis=1) if labels is not None else np.zeros(count, int)
    has_box = np.full(count, boxes is not None)
    if count == 0 or np.any((num_points == 0) & ~has_box):
        raise PromptError('no prompt: give at least one point (label 1 or 0) or a box '
                          'for every prompt; a mask_input only refines a point or box')
    return Prompts(coords, labels, boxes, masks, num_points, has_box, clipped)


def _fold_batchnorm(module: torch.nn.Module) -> None:
    """
    Fold every eval-mode BatchNorm2d into the Conv2d before it (inside nn.Sequential).

    TinyViT's conv + BatchNorm pairs become single convolutions (about 9% of a vit_t
    forward on the CPU); the outputs change only by float rounding. The BatchNorm is
    replaced by an Identity, so the folded module no longer loads official checkpoints.
    """
    for parent in module.modules():
        if not isinstance(parent, torch.nn.Sequential):
            continue
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            conv, norm = parent._modules[first], parent._modules[second]
            if (type(conv) is torch.nn.Conv2d and type(norm) is torch.nn.BatchNorm2d
                    and norm.track_running_stats and not norm.training):
                parent._modules[first] = fuse_conv_bn_eval(conv, norm)
                parent._modules[second] = torch.nn.Identity()


class SamPredictor(UpstreamPredictorApi):
    """
    Run a :class:`~sam_ros.core.sam.Sam` on images and prompts.

    Upstream's whole predictor API is there too (``transform``, ``original_size``,
    ``input_size``, ``features``, ``set_torch_image``, ``predict_torch``: see
    :mod:`sam_ros.core.upstream`).

    The predictor owns ``model`` and changes it in place: moves it to ``device``, folds
    the encoder's BatchNorms into its convolutions, stores conv weights channels_last
    and casts the image encoder and mask decoder to the compute precision (the prompt
    encoder, whose Fourier features need fp32 coordinates, and the postprocessing stay
    fp32). Do not load checkpoints into it afterwards; build a new one. ``device``:
    'auto' | 'cpu' | 'cuda' | 'cuda:N'; ``precision``: 'auto' | 'fp32' | 'bf16' |
    'fp16' (see :func:`~sam_ros.core.runtime.resolve_precision`). On the CPU the glibc
    allocator is tuned unless ``tune_allocator`` is False.

    Thread safety: :meth:`encode`, :meth:`segment` and :meth:`segment_batch` with an
    explicit ``embedding`` touch no predictor state and may run concurrently;
    :meth:`set_image` / :meth:`predict` share the current embedding under a lock.
    """

    def __init__(self, model: Sam, device: str = 'auto', precision: str = 'auto',
                 tune_allocator: bool = True) -> None:
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.dtype = precision_dtype(self.precision)
        if self.device.type == 'cpu' and tune_allocator:
            tune_cpu_allocator()
        model.eval().to(self.device)
        _fold_batchnorm(model.image_encoder)
        # channels_last: the encoder convolutions run without layout reorders, and the
        # decoder's image tokens (B, G*G, D) become contiguous views of the features.
        model.image_encoder.to(self.dtype, memory_format=_CHANNELS_LAST)
        model.mask_decoder.to(self.dtype, memory_format=_CHANNELS_LAST)
        self.model = model
        self.image_size = int(model.image_size)
        self.grid = int(model.embedding_grid)
        self.embed_dim = int(model.prompt_encoder.embed_dim)
        self.low_res_size = (4 * self.grid, 4 * self.grid)
        with torch.inference_mode():
            self._dense_pe = model.prompt_encoder.get_dense_pe().to(
                self.dtype, memory_format=_CHANNELS_LAST)
        self._lock = threading.Lock()
        self._embedding: Optional[ImageEmbedding] = None

    # ---------------------------------------------------------------- images
    def encode(self, image: np.ndarray, image_format: str = 'RGB') -> ImageEmbedding:
        """
        Encode an image without touching predictor state (the heavy step).

        ``image`` is (H, W, 3) uint8 in ``image_format`` ('RGB' or 'BGR'), or grayscale
        (H, W) / (H, W, 1) uint8. Raises ImageFormatError for anything else.
        """
        rgb = as_rgb(image, image_format)
        resized = resize_image(rgb, self.image_size)
        with torch.inference_mode():
            x = self.model.preprocess(to_input_tensor(resized, self.device))
            x = x.to(self.dtype, memory_format=_CHANNELS_LAST)
            features = self.model.image_encoder(x).contiguous(memory_format=_CHANNELS_LAST)
        return ImageEmbedding(features, (int(rgb.shape[0]), int(rgb.shape[1])),
                              (int(resized.shape[0]), int(resized.shape[1])), image_format)

    def set_image(self, image: np.ndarray, image_format: str = 'RGB') -> None:
        """Encode ``image`` (see :meth:`encode`) and make it the current embedding."""
        embedding = self.encode(image, image_format)
        with self._lock:
            self._embedding = embedding

    def set_embedding(self, embedding: ImageEmbedding) -> None:
        """Make a stored ``embedding`` the current one (no encoder run)."""
        embedding = self._check_embedding(embedding)
        with self._lock:
            self._embedding = embedding

    def reset_image(self) -> None:
        """Forget the current embedding."""
        with self._lock:
            self._embedding = None

    @property
    def is_image_set(self) -> bool:
        """Whether an image (or embedding) is set."""
        return self._embedding is not None

    @property
    def embedding(self) -> Optional[ImageEmbedding]:
        """Return the current embedding, or None."""
        return self._embedding

    def get_image_embedding(self) -> torch.Tensor:
        """Return the current features (1, D, G, G), as upstream."""
        return self._current().features

    # --------------------------------------------------------------- prompts
    def predict(self, point_coords: Optional[np.ndarray] = None,
                point_labels: Optional[np.ndarray] = None, box: Optional[np.ndarray] = None,
                mask_input: Optional[np.ndarray] = None, multimask_output: bool = True,
                return_logits: bool = False) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """
        Segment the current image with upstream's interface and output order.

        ``point_coords`` (K, 2) pixel XY, ``point_labels`` (K,), ``box`` (4,) XYXY,
        ``mask_input`` (1, 4G, 4G) logits. Returns masks (C, H, W) bool (float32 logits
        with ``return_logits``), IoUs (C,) float32 and low-res logits (C, 4G, 4G)
        float32, with C = 3 (tokens 1, 2, 3 in token order) when ``multimask_output``,
        else C = 1 (token 0).
        """
        embedding = self._current()
        prompts = check_prompts(point_coords, point_labels, box, mask_input,
                                embedding.original_size, self.low_res_size, batched=False)
        low_res, iou = self._decode(embedding, prompts)
        tokens = list(selection.tokens_for_mode('multi' if multimask_output else 'single'))
        low_res, iou = low_res[0, tokens], iou[0, tokens]
        logits = self._upsample(low_res[None], embedding)[0]
        masks = logits if return_logits else logits > self.model.mask_threshold
        return masks.numpy(), iou.numpy(), low_res.numpy()

    def segment(self, point_coords: Optional[np.ndarray] = None,
                point_labels: Optional[np.ndarray] = None, box: Optional[np.ndarray] = None,
                mask_input: Optional[np.ndarray] = None, mode: str = 'auto',
                embedding: Optional[ImageEmbedding] = None) -> Prediction:
        """
        Segment one prompt into sorted, annotated masks.

        Arguments as :meth:`predict`; ``mode`` is 'auto' (one point and no box -> three
        masks, a box or two or more points -> one), 'multi' or 'single'. With
        ``embedding`` the predictor state is not used. Returns a :class:`Prediction`.
        """
        embedding = self._current() if embedding is None else self._check_embedding(embedding)
        prompts = check_prompts(point_coords, point_labels, box, mask_input,
                                embedding.original_size, self.low_res_size, batched=False)
        return self._predictions(embedding, prompts, mode)[0]

    def segment_batch(self, boxes: Optional[np.ndarray] = None,
                      point_coords: Optional[np.ndarray] = None,
                      point_labels: Optional[np.ndarray] = None,
                      mask_inputs: Optional[np.ndarray] = None, mode: str = 'auto',
                      embedding: Optional[ImageEmbedding] = None) -> List[Prediction]:
        """
        Segment N prompts on one image with a single decoder forward.

        ``boxes`` (N, 4) XYXY and/or ``point_coords`` (N, K, 2) with ``point_labels``
        (N, K) (pad shorter prompts with label -1), ``mask_inputs`` (N, 1, 4G, 4G).
        ``mode`` applies per prompt. Memory grows by roughly 20 MB per prompt (fp32,
        official sizes). Returns N :class:`Prediction` in prompt order. One bad prompt
        raises PromptError for all; ``sam_ros.core.batch.segment_prompts`` answers the
        others.
        """
        embedding = self._current() if embedding is None else self._check_embedding(embedding)
        prompts = check_prompts(point_coords, point_labels, boxes, mask_inputs,
                                embedding.original_size, self.low_res_size, batched=True)
        return self._predictions(embedding, prompts, mode)

    # -------------------------------------------------------------- internals
    def _current(self) -> ImageEmbedding:
        with self._lock:
            embedding = self._embedding
        if embedding is None:
            raise SamError('no image is set; call set_image() or set_embedding() first, or '
                           'pass embedding= from encode()')
        return embedding

    def _check_embedding(self, embedding: ImageEmbedding) -> ImageEmbedding:
        if not isinstance(embedding, ImageEmbedding):
            raise ImageFormatError(f'expected an ImageEmbedding from encode(), got '
                                   f'{type(embedding).__name__}')
        expected = (1, self.embed_dim, self.grid, self.grid)
        if tuple(embedding.features.shape) != expected:
            raise ImageFormatError(
                f'embedding features {tuple(embedding.features.shape)} do not fit this '
                f'model {expected}; encode the image with the model of this predictor')
        features = embedding.features
        if (features.device != self.device or features.dtype != self.dtype
                or not features.is_contiguous(memory_format=_CHANNELS_LAST)):
            features = features.to(self.device, self.dtype, memory_format=_CHANNELS_LAST)
            embedding = ImageEmbedding(features, embedding.original_size,
                                       embedding.input_size, embedding.image_format)
        return embedding

    def _decode(self, embedding: ImageEmbedding,
                prompts: Prompts) -> Tuple[torch.Tensor, torch.Tensor]:
        """Run prompt encoder + mask decoder; return float32 CPU (N, 4, 4G, 4G), (N, 4)."""
        original, size = embedding.original_size, embedding.input_size
        points = boxes = masks = None
        with torch.inference_mode():
            if prompts.coords is not None:
                coords = scale_coords(prompts.coords, original, size)
                points = (torch.from_numpy(coords).to(self.device),
                          torch.from_numpy(prompts.labels).to(self.device))
            if prompts.boxes is not None:
                boxes = torch.from_numpy(scale_boxes(prompts.boxes, original, size))
                boxes = boxes.to(self.device)
            if prompts.masks is not None:
                masks = torch.from_numpy(prompts.masks).to(self.device)
            sparse, dense = self.model.prompt_encoder(points, boxes, masks)
            low_res, iou = self.model.mask_decoder.predict_masks(
                embedding.features, self._dense_pe, sparse.to(self.dtype),
                dense.to(self.dtype))
            return low_res.float().cpu(), iou.float().cpu()

    def _upsample(self, low_res: torch.Tensor, embedding: ImageEmbedding) -> torch.Tensor:
        with torch.inference_mode():
            return postprocess_logits(low_res, embedding.input_size, embedding.original_size,
                                      self.image_size)

    def _predictions(self, embedding: ImageEmbedding, prompts: Prompts,
                     mode: Union[str, Sequence[str]]) -> List[Prediction]:
        """Decode ``prompts``; ``mode`` is one mode for all prompts or one per prompt."""
        low_res, iou = self._decode(embedding, prompts)
        per_prompt = [mode] * len(prompts.has_box) if isinstance(mode, str) else list(mode)
        modes = [selection.resolve_mode(m, int(n), bool(b))
                 for m, n, b in zip(per_prompt, prompts.num_points, prompts.has_box)]
        tokens = [selection.tokens_for_mode(m) for m in modes]
        rows = [i for i, t in enumerate(tokens) for _ in t]
        cols = [c for t in tokens for c in t]
        chosen = low_res[rows, cols]
        # Upsample only the chosen masks, all prompts in one call.
        logits = self._upsample(chosen[None], embedding)[0]
        masks_all = (logits > self.model.mask_threshold).numpy()
        stability_all = selection.stability_score(logits, self.model.mask_threshold)
        results, start = [], 0
        for i, (m, toks) in enumerate(zip(modes, tokens)):
            stop = start + len(toks)
            masks = masks_all[start:stop]
            areas = selection.mask_areas(masks)
            order, levels = selection.sort_by_area(areas, m)
            ious = iou[i, list(toks)].numpy()[order]
            results.append(Prediction(
                masks=masks[order], iou=ious, stability=stability_all[start:stop][order],
                low_res_logits=chosen[start:stop].numpy()[order], levels=tuple(levels),
                best_index=int(np.argmax(ious)), areas=areas[order],
                boxes=selection.mask_boxes(masks)[order],
                tokens=np.asarray(toks, dtype=np.int64)[order], mode=m,
                box_clipped=0.0 if prompts.clipped is None else float(prompts.clipped[i])))
            start = stop
        return results
