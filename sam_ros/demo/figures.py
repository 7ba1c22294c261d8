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
The demo's figures, drawn with OpenCV (no ROS, no torch).

* ``prompt_panel``: the frame with the prompt drawn on it (points, box).
* ``mask_panel``: the frame dimmed outside one mask, the mask tinted in its level's
  colour, with a label bar: level, SAM's predicted IoU (``mask_label``) and, where the
  ground truth is known, the true IoU.
* ``result_figure``: a title bar over the prompt panel and one mask panel per mask,
  side by side. For a single click this is the classic "one click, three masks"
  figure (subpart, part, whole); for a box it is the box and its one mask.
* ``save_png``: write an RGB figure as PNG.

Images are (H, W, 3) uint8 RGB; masks (H, W) bool; points pixel XY (x right, y down);
boxes XYXY pixels. Level colours are the node's overlay colours
(``sam_ros.node.overlay.LEVEL_COLOURS``), so the figures match what RViz shows.
"""

from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from sam_ros.node.overlay import LEVEL_COLOURS

__all__ = ['crop_box', 'mask_label', 'mask_panel', 'prompt_legend', 'prompt_panel',
           'result_figure', 'save_png']

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BAR = (24, 24, 24)
_TEXT = (240, 240, 240)
_FOREGROUND = (0, 230, 0)
_BACKGROUND = (255, 40, 40)
_BOX = (255, 255, 255)
_ALPHA = 0.5
_DIM = 0.35
_GAP = 6

Box = Union[Sequence[float], np.ndarray]


def _check_image(image: np.ndarray) -> None:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3):
        raise ValueError(f'expected an (H, W, 3) uint8 RGB image, got '
                         f'{getattr(image, "dtype", type(image))} '
                         f'{getattr(image, "shape", "")}')


def crop_box(masks: Sequence[np.ndarray], size_hw: Tuple[int, int],
             margin: float = 0.25, min_side: int = 64) -> Tuple[int, int, int, int]:
    """
    Return an XYXY crop (exclusive end) around the union of ``masks``, with a margin.

    ``margin`` is a fraction of the union's larger side added on every side; the crop
    is at least ``min_side`` pixels and clipped to the frame ``size_hw`` = (H, W).
    With no mask pixels at all it is the whole frame.
    """
    height, width = size_hw
    union = np.zeros((height, width), bool)
    for mask in masks:
        union |= np.asarray(mask, bool)
    x, y, w, h = cv2.boundingRect(union.view(np.uint8))
    if w == 0:
        return 0, 0, width, height
    pad = int(round(margin * max(w, h)))
    half = max(min_side, max(w, h) + 2 * pad) // 2
    cx, cy = x + w // 2, y + h // 2
    x0, y0 = max(0, cx - half), max(0, cy - half)
    x1, y1 = min(width, cx + half), min(height, cy + half)
    return x0, y0, x1, y1


def _scale_to_height(image: np.ndarray, height: int) -> Tuple[np.ndarray, float]:
    scale = height / image.shape[0]
    if scale == 1.0:
        return image, 1.0
    width = max(1, int(round(image.shape[1] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation), scale


def _label_bar(width: int, lines: Sequence[str], colour: Tuple[int, int, int]) -> np.ndarray:
    """Return a dark (h, width, 3) bar with ``lines`` of text; the first line in ``colour``."""
    scale = 0.5 if width >= 200 else 0.4
    (_, text_h), _ = cv2.getTextSize('Ag', _FONT, scale, 1)
    line_h = text_h + 10
    bar = np.empty((line_h * len(lines) + 6, width, 3), np.uint8)
    bar[...] = _BAR
    for row, text in enumerate(lines):
        origin = (6, 4 + line_h * row + text_h + 2)
        cv2.putText(bar, text, origin, _FONT, scale, colour if row == 0 else _TEXT, 1,
                    cv2.LINE_AA)
    return bar


def _draw_prompt(canvas: np.ndarray, points: Optional[np.ndarray],
                 labels: Optional[np.ndarray], box: Optional[Box], scale: float,
                 offset: Tuple[int, int]) -> None:
    ox, oy = offset
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        cv2.rectangle(canvas, (int(round((x0 - ox) * scale)), int(round((y0 - oy) * scale))),
                      (int(round((x1 - ox) * scale)), int(round((y1 - oy) * scale))), _BOX, 2)
    if points is None:
        return
    points = np.asarray(points, np.float32).reshape(-1, 2)
    labels = np.ones(len(points), np.int64) if labels is None else np.asarray(labels)
    for (x, y), label in zip(points, labels):
        centre = (int(round((float(x) - ox) * scale)), int(round((float(y) - oy) * scale)))
        colour = _FOREGROUND if int(label) == 1 else _BACKGROUND
        cv2.circle(canvas, centre, 9, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(canvas, centre, 7, colour, -1, cv2.LINE_AA)
        marker = cv2.MARKER_CROSS if int(label) == 1 else cv2.MARKER_TILTED_CROSS
        cv2.drawMarker(canvas, centre, (0, 0, 0), marker, 9, 2)


def prompt_legend(points: Optional[np.ndarray] = None, labels: Optional[np.ndarray] = None,
                  box: Optional[Box] = None) -> List[str]:
    """Return the lines that explain the prompt panel's markers (only those drawn)."""
    lines = []
    if points is not None and len(np.asarray(points).reshape(-1, 2)):
        kinds = (np.ones(len(np.asarray(points).reshape(-1, 2)), np.int64) if labels is None
                 else np.asarray(labels).reshape(-1))
        if np.any(kinds == 1):
            lines.append('green +: foreground point')
        if np.any(kinds == 0):
            lines.append('red x: background point')
    if box is not None:
        lines.append('white: the box prompt')
    return lines


def mask_label(level: str, predicted_iou: float, best: bool = False,
               true_iou: Optional[float] = None) -> List[str]:
    """Return a mask panel's label lines: level (best), predicted IoU, true IoU."""
    lines = [level.upper() + ('  (best: highest predicted IoU)' if best else ''),
             f'predicted IoU {predicted_iou:.2f}']
    if true_iou is not None:
        lines.append(f'true IoU {true_iou:.2f} (vs ground truth)')
    return lines


def prompt_panel(image: np.ndarray, points: Optional[np.ndarray] = None,
                 labels: Optional[np.ndarray] = None, box: Optional[Box] = None,
                 crop: Optional[Tuple[int, int, int, int]] = None,
                 height: Optional[int] = None) -> np.ndarray:
    """
    Return the frame (or its ``crop``, XYXY exclusive end) with the prompt drawn on it.

    ``points``: (N, 2) pixel XY with ``labels`` (N,) 1 = foreground (green dot with a
    cross), 0 = background (red dot with an x); ``box``: XYXY pixels (white). With
    ``height`` the panel is scaled to that many pixels high.
    """
    _check_image(image)
    x0, y0, x1, y1 = crop if crop is not None else (0, 0, image.shape[1], image.shape[0])
    canvas, scale = _scale_to_height(image[y0:y1, x0:x1], height or (y1 - y0))
    canvas = canvas.copy()
    _draw_prompt(canvas, points, labels, box, scale, (x0, y0))
    return canvas


def mask_panel(image: np.ndarray, mask: np.ndarray, level: str, predicted_iou: float,
               best: bool = False, true_iou: Optional[float] = None,
               crop: Optional[Tuple[int, int, int, int]] = None,
               height: Optional[int] = None) -> np.ndarray:
    """
    Return one mask shown on the frame, with a label bar on top.

    The frame is dimmed outside ``mask`` ((H, W) bool) and tinted in the colour of
    ``level`` ('subpart' | 'part' | 'whole' | 'single') inside it, with the mask's
    outline. The bar reads e.g. ``PART  (best: highest predicted IoU)`` over
    ``predicted IoU 0.93`` and, when ``true_iou`` (the IoU with the ground truth) is
    given, ``true IoU 0.91 (vs ground truth)`` (see ``mask_label``).
    """
    _check_image(image)
    mask = np.asarray(mask, bool)
    if mask.shape != image.shape[:2]:
        raise ValueError(f'mask {mask.shape} does not match the image {image.shape[:2]}')
    colour = LEVEL_COLOURS.get(level, (255, 255, 255))
    shown = (image.astype(np.float32) * _DIM)
    tint = image[mask].astype(np.float32) * (1.0 - _ALPHA) + np.float32(colour) * _ALPHA
    shown[mask] = tint
    shown = shown.astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(shown, contours, -1, colour, 3 if best else 2, cv2.LINE_AA)
    x0, y0, x1, y1 = crop if crop is not None else (0, 0, image.shape[1], image.shape[0])
    panel, _ = _scale_to_height(shown[y0:y1, x0:x1], height or (y1 - y0))
    lines = mask_label(level, predicted_iou, best, true_iou)
    return np.vstack([_label_bar(panel.shape[1], lines, colour), panel])


def _pad_to_height(panel: np.ndarray, height: int) -> np.ndarray:
    if panel.shape[0] == height:
        return panel
    pad = np.empty((height - panel.shape[0], panel.shape[1], 3), np.uint8)
    pad[...] = _BAR
    return np.vstack([pad, panel])


def result_figure(image: np.ndarray, masks: Sequence[np.ndarray], levels: Sequence[str],
                  ious: Sequence[float], best_index: int,
                  points: Optional[np.ndarray] = None, labels: Optional[np.ndarray] = None,
                  box: Optional[Box] = None, true_ious: Optional[Sequence[float]] = None,
                  title: str = '', crop: Optional[Tuple[int, int, int, int]] = None,
                  height: int = 320) -> np.ndarray:
    """
    Return the prompt and each mask side by side, under a title bar.

    ``masks``: (H, W) bool each, in the result's order (by area for three masks), with
    their ``levels``, predicted ``ious`` and optional ``true_ious``; ``best_index``
    marks the mask with the highest predicted IoU (-1: none). The prompt panel shows
    ``points`` / ``labels`` / ``box`` like ``prompt_panel``. ``crop`` (XYXY, exclusive
    end) zooms every panel to the same region; ``height`` is the panels' image height.
    Returns (h, w, 3) uint8 RGB.
    """
    _check_image(image)
    if not (len(masks) == len(levels) == len(ious)):
        raise ValueError(f'{len(masks)} masks, {len(levels)} levels and {len(ious)} IoUs; '
                         'pass one level and one IoU per mask')
    if true_ious is not None and len(true_ious) != len(masks):
        raise ValueError('pass one true IoU per mask, or none')
    prompt = prompt_panel(image, points, labels, box, crop, height)
    legend = ['PROMPT'] + prompt_legend(points, labels, box)
    prompt = np.vstack([_label_bar(prompt.shape[1], legend, _TEXT), prompt])
    panels = [prompt]
    for i, (mask, level, iou) in enumerate(zip(masks, levels, ious)):
        true_iou = None if true_ious is None else true_ious[i]
        panels.append(mask_panel(image, mask, level, float(iou), i == best_index,
                                 true_iou, crop, height))
    tallest = max(p.shape[0] for p in panels)
    row = []
    for i, panel in enumerate(panels):
        if i:
            gap = np.empty((tallest, _GAP, 3), np.uint8)
            gap[...] = _BAR
            row.append(gap)
        row.append(_pad_to_height(panel, tallest))
    body = np.hstack(row)
    if not title:
        return body
    return np.vstack([_label_bar(body.shape[1], [title], _TEXT), body])


def save_png(path: Union[str, Path], image: np.ndarray) -> Path:
    """
    Write an (H, W, 3) uint8 RGB image as a PNG file and return its path.

    Creates the parent folder. Raises OSError when the file cannot be written.
    """
    _check_image(image)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok = cv2.imwrite(str(path), np.ascontiguousarray(image[..., ::-1]),
                     [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise OSError(f'could not write {path}; check that the folder is writable')
    return path
