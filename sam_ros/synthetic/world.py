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
The synthetic world of nested objects: scenes with exact level masks.

A frame is an RGB image (640x480 by default, any size >= 64x64) of 1 to 4 objects on a
smooth, mottled random colour field. Each object is a nest of levels: a whole, a part
fully inside it and, for about 75% of objects, a subpart fully inside the part. Every
level is an ellipse, a rectangle or a polygon (a third each; polygons are convex or
concave half the time; 30% of rectangles are upright, the rest and all other shapes
take a uniform rotation), with its own colour and a light texture. The frame is then
lit, blurred and made noisy like a camera.

How the issue's spec is read here:

* Scale. Sizes scale with the frame by s = min(H, W) / 480: a whole is 120 s .. 320 s
  px across (120..320 at 640x480, 180..480 at 1280x720, 60..160 at 320x240). Blur and
  texture periods scale too; noise does not.
* "Across" is the extent: the larger side of the pixel bounding box of the level's own
  mask before occlusion and before clipping by the frame (``NestedObject.extents``,
  measured on ``NestedObject.local_masks``).
  A part's extent is 35..65% of its whole's, a subpart's 30..60% of its part's, checked
  on the rasterised masks. Wholes are drawn uniformly in that range.
* "Fully inside" holds exactly at the pixel level: a child's mask is rasterised, then
  intersected with its parent's, so subpart <= part <= whole for the unoccluded masks
  and hence for the visible ones.
* Colours. Each level's base colour is at least 30 Delta E (CIELAB) from its parent's;
  a whole's is at least 25 from every background cell under its bounding box and 18 from
  the colours of earlier objects whose boxes it meets. A subpart may resemble its whole.
  Texture (std 3..10 intensity units) is light enough not to blur those differences.
* Occlusion. Objects are drawn in order; a later object's whole hides every level of
  earlier objects under it, and the ground-truth masks are the visible pixels. A new
  object takes the first of up to 8 random placements that hides at most 60% of every
  earlier object's visible whole (else the placement that hides least), so objects
  stay visible (a small subpart can still be hidden: samplers skip empty levels).
* Frame edges. A whole's box may stick out of the frame by up to 10% of its size on
  any side, so some objects are clipped (masks are clipped with them).
* Light and camera. Half the frames get a linear illumination gradient (gain 1 -+ g,
  g = 0.08..0.25) over background and objects alike (the light falls on both); then a
  Gaussian blur of 0.4..1.1 px (times s, s clipped to 0.5..2) and Gaussian noise of
  2..8 intensity units (sigma), independent per pixel and channel.
* Ground truth for a point is the set of the clicked object's visible levels that
  contain the pixel (see ``prompts.point_ground_truth``).
"""

from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
import numpy as np

from sam_ros.synthetic.render import (apply_light, background, degrade, MIN_DELTA_BACKGROUND,
                                      MIN_DELTA_NEIGHBOUR, MIN_DELTA_PARENT, pick_colour,
                                      random_illumination, textured_layer, to_lab)
from sam_ros.synthetic.shapes import mask_extent, place_inside, random_shape, rasterize

LEVEL_NAMES = ('subpart', 'part', 'whole')
WHOLE_RANGE = (120.0, 320.0)      # px across at 640x480 (min side 480)
PART_RATIO = (0.35, 0.65)
SUBPART_RATIO = (0.30, 0.60)
THREE_LEVEL_PROBABILITY = 0.75
MAX_OBJECTS = 4
MIN_FRAME_SIDE = 64
_MAX_HIDDEN = 0.6
_MAX_OUTSIDE = 0.10


@dataclass(frozen=True, eq=False)
class NestedObject:
    """
    One nested object of a scene. Level tuples are ordered subpart -> part -> whole.

    * ``levels``: 2 or 3 (H, W) bool visible masks (after occlusion and frame clipping).
    * ``local_masks``: the same levels as drawn, before occlusion and frame clipping, as
      (h, w) bool masks of the object's own canvas.
    * ``origin``: pixel XY of the canvas's top-left corner in the frame (may be < 0).
    * ``kinds``: shape kind per level ('ellipse', 'rectangle', 'convex', 'concave').
    * ``colors``: base RGB per level (before texture, light and noise).

    """

    levels: Tuple[np.ndarray, ...]
    local_masks: Tuple[np.ndarray, ...]
    origin: Tuple[int, int]
    kinds: Tuple[str, ...]
    colors: Tuple[Tuple[int, int, int], ...]

    @property
    def extents(self) -> Tuple[int, ...]:
        """Return each level's size: the larger side of its unclipped, unoccluded bbox."""
        return tuple(mask_extent(m) for m in self.local_masks)

    @property
    def box(self) -> Tuple[int, int, int, int]:
        """Return the unclipped whole's XYXY inclusive pixel bounds (may leave the frame)."""
        whole = self.local_masks[-1]
        rows, cols = np.flatnonzero(whole.any(axis=1)), np.flatnonzero(whole.any(axis=0))
        ox, oy = self.origin
        return (ox + int(cols[0]), oy + int(rows[0]), ox + int(cols[-1]), oy + int(rows[-1]))

    def unoccluded(self) -> Tuple[np.ndarray, ...]:
        """Return the levels before occlusion, clipped to the frame, as (H, W) bool."""
        height, width = self.levels[0].shape
        h, w = self.local_masks[0].shape
        (fy, ly), (fx, lx) = _clip(self.origin[1], h, height), _clip(self.origin[0], w, width)
        out = []
        for mask in self.local_masks:
            full = np.zeros((height, width), bool)
            full[fy, fx] = mask[ly, lx]
            out.append(full)
        return tuple(out)

    @property
    def num_levels(self) -> int:
        """Return 2 or 3."""
        return len(self.levels)

    @property
    def names(self) -> Tuple[str, ...]:
        """Return the level names, e.g. ('subpart', 'part', 'whole') or ('part', 'whole')."""
        return LEVEL_NAMES[-self.num_levels:]

    @property
    def whole(self) -> np.ndarray:
        """Return the visible whole, (H, W) bool."""
        return self.levels[-1]

    @property
    def part(self) -> np.ndarray:
        """Return the visible part, (H, W) bool."""
        return self.levels[-2]

    @property
    def subpart(self) -> Optional[np.ndarray]:
        """Return the visible subpart, (H, W) bool, or None for a 2-level object."""
        return self.levels[0] if self.num_levels == 3 else None


@dataclass(frozen=True, eq=False)
class Scene:
    """
    One frame with its ground truth.

    * ``image``: (H, W, 3) uint8 RGB.
    * ``objects``: the objects in drawing order (later ones occlude earlier ones).
    * ``label_map``: (H, W) int16, 0 for background, k + 1 where object k is visible.

    """

    image: np.ndarray
    objects: Tuple[NestedObject, ...]
    label_map: np.ndarray

    @property
    def height(self) -> int:
        """Return H."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Return W."""
        return int(self.image.shape[1])

    def level_masks(self, obj_index: int) -> Tuple[np.ndarray, ...]:
        """Return object ``obj_index``'s visible (H, W) bool masks, subpart -> whole."""
        return self.objects[obj_index].levels

    def depth_map(self) -> np.ndarray:
        """Return (H, W) uint8: how many levels contain each pixel (0 on background)."""
        depth = np.zeros(self.label_map.shape, np.uint8)
        for obj in self.objects:
            for mask in obj.levels:
                depth += mask
        return depth


@dataclass
class _Local:
    """An object built in its own canvas, before it goes into the frame."""

    masks: List[np.ndarray]       # outermost first: whole, part, (subpart)
    kinds: List[str]


def _build_local(rng: np.random.Generator, num_levels: int, scale: float) -> _Local:
    """Draw an object's nested shapes in a canvas that holds its whole, unclipped."""
    lo, hi = WHOLE_RANGE[0] * scale, WHOLE_RANGE[1] * scale
    target = rng.uniform(lo + 1.0, hi - 1.0)
    shape = random_shape(rng, target)
    for _ in range(4):
        origin = 2.0 + rng.uniform(0.0, 1.0, 2) - shape.points.min(axis=0)
        size = np.ceil(shape.points.max(axis=0) + origin + 2.0).astype(int)
        mask = rasterize(shape.points + origin, (int(size[1]), int(size[0])))
        got = mask_extent(mask)
        if lo <= got <= hi:
            break
        shape = shape.scaled(shape.extent * target / max(got, 1))
    local = _Local([mask], [shape.kind])
    parent, centre = shape, origin
    for ratio in (PART_RATIO, SUBPART_RATIO)[:num_levels - 1]:
        parent, centre, mask = place_inside(local.masks[-1], parent, centre, ratio, rng)
        local.masks.append(mask)
        local.kinds.append(parent.kind)
    return local


def _clip(offset: int, size: int, frame: int) -> Tuple[slice, slice]:
    """Return the (frame, local) slices of a 1-D span at ``offset`` inside [0, frame)."""
    a, b = max(0, offset), min(frame, offset + size)
    return slice(a, b), slice(a - offset, b - offset)


def _place(rng: np.random.Generator, whole: np.ndarray, labels: np.ndarray,
           visible: np.ndarray) -> Tuple[int, int]:
    """Choose the whole's canvas offset (x, y) that hides the least of earlier objects."""
    h, w = whole.shape
    frame_h, frame_w = labels.shape
    best, best_hidden = (0, 0), np.inf
    for _ in range(8):
        ox = int(np.floor(rng.uniform(-_MAX_OUTSIDE * w, frame_w - (1 - _MAX_OUTSIDE) * w)))
        oy = int(np.floor(rng.uniform(-_MAX_OUTSIDE * h, frame_h - (1 - _MAX_OUTSIDE) * h)))
        hidden = 0.0
        if visible.size:
            (fy, ly), (fx, lx) = _clip(oy, h, frame_h), _clip(ox, w, frame_w)
            under = labels[fy, fx][whole[ly, lx]]
            counts = np.bincount(under, minlength=visible.size + 1)[1:]
            hidden = float((counts / np.maximum(visible, 1)).max())
        if hidden < best_hidden:
            best, best_hidden = (ox, oy), hidden
        if hidden <= _MAX_HIDDEN:
            break
    return best


def _colours(rng: np.random.Generator, local: _Local, offset: Tuple[int, int],
             bg_lab: np.ndarray, neighbours: List[np.ndarray]) -> List[np.ndarray]:
    """Pick base RGB colours, outermost first, distinct from parent, background, others."""
    h, w = local.masks[0].shape
    cell = 8
    y0, x0 = max(0, offset[1]) // cell, max(0, offset[0]) // cell
    y1, x1 = (offset[1] + h - 1) // cell + 1, (offset[0] + w - 1) // cell + 1
    under = bg_lab[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)].reshape(-1, 3)
    if len(under) > 400:
        under = under[:: len(under) // 400 + 1]
    avoid = [under] + neighbours
    delta = np.concatenate([np.full(len(under), MIN_DELTA_BACKGROUND),
                            np.full(sum(len(n) for n in neighbours), MIN_DELTA_NEIGHBOUR)])
    colours = [pick_colour(rng, np.concatenate(avoid), delta)]
    for _ in local.masks[1:]:
        parent_lab = to_lab(colours[-1][None])
        colours.append(pick_colour(rng, parent_lab, np.array([MIN_DELTA_PARENT])))
    return colours


def _paint(rng: np.random.Generator, image: np.ndarray, local: _Local,
           offset: Tuple[int, int], colours: List[np.ndarray], scale: float) -> None:
    """Paint the object's levels, outermost first, into the (H, W, 3) uint8 frame."""
    height, width = image.shape[:2]
    for mask, colour in zip(local.masks, colours):
        bx, by, bw, bh = cv2.boundingRect(mask.view(np.uint8))
        y0, y1 = max(0, offset[1] + by), min(height, offset[1] + by + bh)
        x0, x1 = max(0, offset[0] + bx), min(width, offset[0] + bx + bw)
        if y0 >= y1 or x0 >= x1:
            continue
        layer = textured_layer(rng, colour, y1 - y0, x1 - x0, scale)
        inside = mask[y0 - offset[1]:y1 - offset[1], x0 - offset[0]:x1 - offset[0]]
        target = image[y0:y1, x0:x1]
        done = cv2.copyTo(layer, inside.view(np.uint8), target)   # in place, normally
        if done is not target:
            target[...] = done


def generate_scene(rng: np.random.Generator, width: int = 640, height: int = 480) -> Scene:
    """
    Draw one scene of the nested-object world (see the module docstring for the rules).

    The scene is a pure function of the generator's state and the frame size (integers,
    at least 64 each): an (H, W, 3) uint8 RGB image and 1..4 objects with exact masks.

    """
    if int(width) != width or int(height) != height or min(width, height) < MIN_FRAME_SIDE:
        raise ValueError(f'frame size {width}x{height} is not supported; pass integer '
                         f'width and height of at least {MIN_FRAME_SIDE} pixels')
    width, height = int(width), int(height)
    scale = min(width, height) / 480.0
    light = random_illumination(rng, width, height)
    image, bg_lab = background(rng, width, height)
    labels = np.zeros((height, width), np.int16)
    visible = np.zeros(0, np.int64)
    built = []
    for k in range(int(rng.integers(1, MAX_OBJECTS + 1))):
        num_levels = 3 if rng.random() < THREE_LEVEL_PROBABILITY else 2
        local = _build_local(rng, num_levels, scale)
        ox, oy = _place(rng, local.masks[0], labels, visible)
        h, w = local.masks[0].shape
        box = (ox, oy, ox + w - 1, oy + h - 1)
        neighbours = [to_lab(np.array(c, np.float32)) for b, _, _, c in built
                      if b[0] <= box[2] and box[0] <= b[2] and b[1] <= box[3] and box[1] <= b[3]]
        colours = _colours(rng, local, (ox, oy), bg_lab, neighbours)
        _paint(rng, image, local, (ox, oy), colours, scale)
        (fy, ly), (fx, lx) = _clip(oy, h, height), _clip(ox, w, width)
        inside = local.masks[0][ly, lx]
        region = labels[fy, fx]
        hidden = np.bincount(region[inside], minlength=k + 1)[1:]
        visible = np.append(visible - hidden, np.count_nonzero(inside))
        np.copyto(region, k + 1, where=inside)
        built.append((box, local, (fy, fx, ly, lx), colours))
    objects = tuple(_finish(k, b, labels) for k, b in enumerate(built))
    image = degrade(apply_light(image, light), rng, scale)
    return Scene(image, objects, labels)


def _finish(k: int, built: tuple, labels: np.ndarray) -> NestedObject:
    """Turn a built object into an object with frame-size visible masks."""
    box, local, (fy, fx, ly, lx), colours = built
    mine = labels[fy, fx] == k + 1
    visible = []
    for mask in local.masks[::-1]:
        shown = np.zeros(labels.shape, bool)
        np.logical_and(mask[ly, lx], mine, out=shown[fy, fx])
        visible.append(shown)
    return NestedObject(
        levels=tuple(visible), local_masks=tuple(local.masks[::-1]), origin=box[:2],
        kinds=tuple(local.kinds[::-1]),
        colors=tuple(tuple(int(v) for v in np.rint(c)) for c in colours[::-1]))


class SceneGenerator:
    """
    Deterministic scenes: ``scene(index)`` depends only on (seed, index, width, height).

    ``seed`` is a non-negative integer; scene ``index`` draws from
    ``np.random.default_rng([seed, index])``, so scenes can be made in any order or in
    parallel workers.

    """

    def __init__(self, seed: int = 0) -> None:
        if int(seed) != seed or seed < 0:
            raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
        self.seed = int(seed)

    def scene(self, index: int, width: int = 640, height: int = 480) -> Scene:
        """Return scene number ``index`` (a non-negative integer) at the given frame size."""
        if int(index) != index or index < 0:
            raise ValueError(f'scene index must be a non-negative integer, got {index!r}')
        return generate_scene(np.random.default_rng([self.seed, int(index)]), width, height)
