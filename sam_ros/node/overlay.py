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
The overlay image: the frame with its masks in three colours, their levels and IoUs.

Subpart masks are blue, part masks orange, whole masks green and single masks
magenta. Masks are blended largest first so that smaller ones stay visible; the
best mask (highest predicted IoU) gets a thicker outline and a star in the legend.
Foreground points are green dots, background points red, the box is white.
"""

from typing import Optional, Sequence

import cv2
import numpy as np

__all__ = ['LEVEL_COLOURS', 'draw_overlay']

# RGB colours per level name.
LEVEL_COLOURS = {
    'subpart': (30, 144, 255),
    'part': (255, 165, 0),
    'whole': (50, 205, 50),
    'single': (255, 0, 255),
}
_ALPHA = 0.45


def draw_overlay(image: np.ndarray, masks: Sequence[np.ndarray], levels: Sequence[str],
                 ious: Sequence[float], best_index: int,
                 point_coords: Optional[np.ndarray] = None,
                 point_labels: Optional[np.ndarray] = None,
                 box: Optional[np.ndarray] = None) -> np.ndarray:
    """
    Return a new (H, W, 3) uint8 RGB image: ``image`` with ``masks`` drawn on it.

    ``masks``: (H, W) bool each, with their ``levels`` ('subpart' | 'part' | 'whole' |
    'single') and predicted ``ious``; ``best_index`` indexes them (-1: none).
    ``point_coords``: (N, 2) pixel XY with ``point_labels`` (N,) 1/0; ``box``: (4,)
    XYXY pixels.
    """
    canvas = image.copy()
    order = sorted(range(len(masks)), key=lambda i: -int(np.count_nonzero(masks[i])))
    for i in order:
        colour = np.array(LEVEL_COLOURS.get(levels[i], (255, 255, 255)), np.float32)
        inside = masks[i]
        canvas[inside] = (canvas[inside].astype(np.float32) * (1.0 - _ALPHA)
                          + colour * _ALPHA).astype(np.uint8)
    for i in order:
        contours, _ = cv2.findContours(masks[i].astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        colour = LEVEL_COLOURS.get(levels[i], (255, 255, 255))
        cv2.drawContours(canvas, contours, -1, colour, 3 if i == best_index else 1)
    if box is not None:
        x0, y0, x1, y1 = (int(round(float(v))) for v in box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (255, 255, 255), 2)
    if point_coords is not None:
        labels = point_labels if point_labels is not None else np.ones(len(point_coords))
        for (x, y), label in zip(point_coords, labels):
            colour = (0, 255, 0) if int(label) == 1 else (255, 0, 0)
            centre = (int(round(float(x))), int(round(float(y))))
            cv2.circle(canvas, centre, 5, (0, 0, 0), -1)
            cv2.circle(canvas, centre, 4, colour, -1)
    _legend(canvas, levels, ious, best_index)
    return canvas


def _legend(canvas: np.ndarray, levels: Sequence[str], ious: Sequence[float],
            best_index: int) -> None:
    scale = max(0.4, min(1.0, canvas.shape[1] / 1280.0))
    (_, text_height), _ = cv2.getTextSize('Ag', cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    # Each row's box spans text_height + 10 px; rows 12 px apart from baseline to baseline
    # more than that never overlap.
    line = text_height + 12
    for row, (level, iou) in enumerate(zip(levels, ious)):
        text = f'{level} IoU {float(iou):.2f}' + (' *' if row == best_index else '')
        origin = (8, 8 + line * (row + 1) - 6)
        (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(canvas, (origin[0] - 4, origin[1] - height - 4),
                      (origin[0] + width + 4, origin[1] + 6), (0, 0, 0), -1)
        cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale,
                    LEVEL_COLOURS.get(level, (255, 255, 255)), 1, cv2.LINE_AA)
