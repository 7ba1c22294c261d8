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
Shape outlines, their rasterisation, and placing a shape inside a parent mask.

Every shape is an outline polygon of float XY vertices (x right, y down, pixels). Ellipses
are polygons of 72 vertices (under 0.3 px from the true ellipse at the sizes we draw).
Outlines are star-shaped about their own origin, so shrinking one about its origin keeps
it inside itself. The size of a shape ("across") is its extent: the larger side of the
bounding box. Rasterisation fills the pixels whose centres (integer XY) fall inside.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

SHAPE_KINDS = ('ellipse', 'rectangle', 'convex', 'concave')
# The spec's three kinds are equally likely; a polygon is convex or concave half the time.
KIND_WEIGHTS = (1 / 3, 1 / 3, 1 / 6, 1 / 6)
_AXIS_ALIGNED_RECTANGLES = 0.3
_ELLIPSE_VERTICES = 72
_FIXED_BITS = 4
_CENTRE_TRIES = 24


@dataclass(frozen=True, eq=False)
class Shape:
    """
    One outline, centred on its star centre.

    ``kind`` is one of ``SHAPE_KINDS``, ``points`` the (N, 2) float64 XY vertices
    relative to the star centre (N >= 3), ``angle`` the rotation in radians applied to
    the canonical outline (whose long axis is along x, except for concave polygons).

    """

    kind: str
    points: np.ndarray
    angle: float

    @property
    def extent(self) -> float:
        """Return the larger side of the outline's bounding box, in pixels."""
        return float(np.max(self.points.max(axis=0) - self.points.min(axis=0)))

    def scaled(self, extent: float) -> 'Shape':
        """Return the same outline scaled about its centre to the given extent."""
        return Shape(self.kind, self.points * (extent / self.extent), self.angle)


def _angles(rng: np.random.Generator, n: int, min_gap: float, max_gap: float) -> np.ndarray:
    """Return n increasing angles (radians) whose circular gaps lie in [min_gap, max_gap]."""
    spare = 2.0 * np.pi - n * min_gap
    for _ in range(20):
        gaps = min_gap + spare * rng.dirichlet(np.full(n, 2.0))
        if gaps.max() <= max_gap:
            break
    else:
        gaps = np.full(n, 2.0 * np.pi / n)
    return rng.uniform(0.0, 2.0 * np.pi) + np.cumsum(gaps)


def _canonical(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Return an unrotated outline (N, 2) of roughly unit radius, star-shaped about 0."""
    if kind == 'ellipse':
        t = np.linspace(0.0, 2.0 * np.pi, _ELLIPSE_VERTICES, endpoint=False)
        return np.stack([np.cos(t), rng.uniform(0.35, 1.0) * np.sin(t)], axis=1)
    if kind == 'rectangle':
        h = rng.uniform(0.3, 1.0)
        return np.array([[-1.0, -h], [1.0, -h], [1.0, h], [-1.0, h]])
    if kind == 'convex':
        # Vertices on an ellipse in angular order form a convex polygon; gaps under pi
        # keep the centre inside and the polygon from collapsing into a sliver.
        t = _angles(rng, int(rng.integers(3, 10)), 0.25, 0.8 * np.pi)
        return np.stack([np.cos(t), rng.uniform(0.5, 1.0) * np.sin(t)], axis=1)
    if kind == 'concave':
        n = int(rng.integers(5, 13))
        t = _angles(rng, n, 0.12, 0.6 * np.pi)
        r = rng.uniform(0.35, 1.0, n)
        pts = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
        hull_area = cv2.contourArea(cv2.convexHull(pts.astype(np.float32)))
        if cv2.contourArea(pts.astype(np.float32)) > 0.9 * hull_area:
            pts[int(rng.integers(n))] *= 0.4   # one deep notch makes it clearly concave
        return pts
    raise ValueError(f'unknown shape kind {kind!r}; use one of {SHAPE_KINDS}')


def random_kind(rng: np.random.Generator) -> str:
    """Draw a shape kind with ``KIND_WEIGHTS``."""
    return SHAPE_KINDS[int(np.searchsorted(np.cumsum(KIND_WEIGHTS), rng.random() * 0.999999))]


def random_angle(rng: np.random.Generator, kind: str) -> float:
    """Draw a rotation in radians: uniform, except that 30% of rectangles are upright."""
    if kind == 'rectangle' and rng.random() < _AXIS_ALIGNED_RECTANGLES:
        return 0.5 * np.pi * float(rng.integers(2))
    return rng.uniform(0.0, np.pi)


def random_shape(rng: np.random.Generator, extent: float, kind: Optional[str] = None,
                 angle: Optional[float] = None) -> Shape:
    """
    Draw a random outline of the given extent (pixels), rotated by ``angle`` radians.

    ``kind`` and ``angle`` are drawn at random (``random_kind``, ``random_angle``) when
    None.
    """
    if kind is None:
        kind = random_kind(rng)
    base = _canonical(kind, rng)
    return rotate(Shape(kind, base, 0.0), random_angle(rng, kind) if angle is None else angle,
                  extent)


def rotate(shape: Shape, angle: float, extent: float) -> Shape:
    """Rotate an outline to the absolute ``angle`` (radians) and rescale it to ``extent``."""
    d = angle - shape.angle
    c, s = np.cos(d), np.sin(d)
    pts = shape.points @ np.array([[c, s], [-s, c]])
    return Shape(shape.kind, pts, angle).scaled(extent)


def rasterize(points: np.ndarray, size_hw: Tuple[int, int]) -> np.ndarray:
    """
    Fill a polygon given in absolute pixel XY into a new (H, W) bool mask.

    ``points`` are (N, 2) float vertices (1/16 px precision), ``size_hw`` is (H, W).

    """
    canvas = np.zeros(size_hw, np.uint8)
    fixed = np.round(points * (1 << _FIXED_BITS)).astype(np.int32)
    cv2.fillPoly(canvas, [fixed], 1, lineType=cv2.LINE_8, shift=_FIXED_BITS)
    return canvas.view(bool)


def mask_extent(mask: np.ndarray) -> int:
    """Return the larger side (pixels) of a (H, W) bool mask's bounding box; 0 if empty."""
    _, _, w, h = cv2.boundingRect(mask.view(np.uint8))
    return int(max(w, h))


def _principal_angle(points: np.ndarray) -> float:
    """Return the angle (radians) of the longest axis of a vertex cloud."""
    centred = points - points.mean(axis=0)
    _, vecs = np.linalg.eigh(centred.T @ centred)
    return float(np.arctan2(vecs[1, -1], vecs[0, -1]))


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    """Return points along the closed outline at most ``step`` pixels apart, (M, 2)."""
    edges = np.roll(points, -1, axis=0) - points
    counts = np.maximum(1, np.ceil(np.hypot(edges[:, 0], edges[:, 1]) / step)).astype(int)
    which = np.repeat(np.arange(len(points)), counts)
    starts = np.cumsum(counts) - counts
    t = (np.arange(which.size) - starts[which]) / counts[which]
    return points[which] + t[:, None] * edges[which]


def _fits(inner: np.ndarray, boundary: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return, per centre (M, 2), whether every boundary point lands in ``inner``."""
    h, w = inner.shape
    low, high = boundary.min(axis=0), boundary.max(axis=0)
    ok = ((centres + low >= 0).all(axis=1) & (centres[:, 0] + high[0] <= w - 1)
          & (centres[:, 1] + high[1] <= h - 1))
    # A coarse pass over every 8th boundary point prunes most centres cheaply.
    for points in (boundary[::8], boundary):
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            break
        pts = np.rint(points[None] + centres[idx, None]).astype(np.intp)
        ok[idx] = inner[pts[..., 1], pts[..., 0]].all(axis=1)
    return ok


def place_inside(parent_mask: np.ndarray, parent: Shape,
                 parent_centre: np.ndarray, ratio_range: Tuple[float, float],
                 rng: np.random.Generator) -> Tuple[Shape, np.ndarray, np.ndarray]:
    """
    Place a random shape strictly inside a parent mask at a relative size.

    The child's pixel extent divided by the parent's lies in ``ratio_range`` and its mask
    is a subset of ``parent_mask`` (it is intersected with it, so this holds exactly).
    Random kinds and rotations (``random_angle``, or along the parent's long axis) are tried
    at random centres; the last resort is the parent's own outline shrunk about its star
    centre, which always fits.

    ``parent_mask`` is the parent's (H, W) bool mask in a local canvas, ``parent`` its
    outline relative to its star centre, at ``parent_centre`` (2,) float XY in that
    canvas; ``ratio_range`` is the allowed (lo, hi) extent ratio child / parent. Returns
    the child's shape (relative to its centre), its centre (2,) float XY in the canvas,
    and its (H, W) bool mask.

    """
    lo, hi = ratio_range
    parent_extent = mask_extent(parent_mask)
    pad = 1.5 / parent_extent
    a, b = lo + pad, hi - pad
    if a > b:
        a = b = 0.5 * (lo + hi)
    inner = cv2.erode(parent_mask.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    along = parent.angle if parent.kind != 'concave' else _principal_angle(parent.points)
    ratio = rng.uniform(a, b)
    for attempt in range(3):
        kind = random_kind(rng)
        base = random_shape(rng, 1.0, kind, 0.0)
        for angle in (random_angle(rng, kind), along, along + 0.5 * np.pi,
                      along + rng.normal(0.0, 0.15)):
            shape = rotate(base, angle, ratio * parent_extent)
            boundary = _densify(shape.points, 2.0)
            near = parent_centre + rng.normal(0.0, 0.12 * parent_extent, (_CENTRE_TRIES, 2))
            anywhere = rng.uniform((0, 0), inner.shape[::-1], (2 * _CENTRE_TRIES, 2))
            centres = np.concatenate([near, anywhere])
            good = np.flatnonzero(_fits(inner, boundary, centres))
            if good.size == 0:
                continue
            centre = centres[good[int(rng.integers(good.size))]]
            mask = rasterize(shape.points + centre, parent_mask.shape) & parent_mask
            if lo <= mask_extent(mask) / parent_extent <= hi:
                return shape, centre, mask
        ratio = a + 0.5 * (ratio - a)   # smaller children fit more easily
    return _shrunk_parent(parent_mask, parent, parent_centre, parent_extent, (a, b), rng)


def _shrunk_parent(parent_mask: np.ndarray, parent: Shape, parent_centre: np.ndarray,
                   parent_extent: int, ratio_range: Tuple[float, float],
                   rng: np.random.Generator) -> Tuple[Shape, np.ndarray, np.ndarray]:
    """Shrink the parent's outline about its star centre so its pixel extent fits."""
    rel = parent.points
    target = rng.uniform(*ratio_range)
    scale = target * parent_extent / max(1e-6, float(np.ptp(rel, axis=0).max()))
    mask = np.zeros_like(parent_mask)
    for _ in range(4):
        mask = rasterize(rel * scale + parent_centre, parent_mask.shape) & parent_mask
        got = mask_extent(mask)
        if got and abs(got / parent_extent - target) * parent_extent <= 1.0:
            break
        scale *= target * parent_extent / max(got, 1)
    return Shape(parent.kind, rel * scale, parent.angle), parent_centre.copy(), mask
