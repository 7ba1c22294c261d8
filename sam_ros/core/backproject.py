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
A mask plus a registered depth frame to 3D points and robust per-mask statistics.

Conventions: pixel (u, v) = (column, row), integer values are pixel centres (the
convention of ``K`` in ``sensor_msgs/CameraInfo``). Points are metres in the depth
optical frame: x right, y down, z forward, x = (u - cx) z / fx, y = (v - cy) z / fy.

``measure_mask`` erodes the mask edge, samples it with a stride, drops pixels without
depth (0, NaN, inf, negative) or outside the range limits, back-projects the rest and
returns a ``MaskMeasurement``: the centroid (mean of the inliers), an axis-aligned
extent (min..max of the inliers), the median depth and the valid pixel count/fraction.
Inliers are the points whose z lies within the [trim, 100 - trim] percentiles of z, so
flying pixels (depth mixed from object and background at borders) and small leaks of
the mask onto the background inflate neither the centroid nor the extent. Every
failure is a ``MaskMeasurement`` with ``ok`` False and a reason, never an exception.
``measure_masks`` measures several masks of one image in one pass on the union of
their boxes (SAM's nested levels share most of the work), each result the same bit for
bit as ``measure_mask`` of that mask alone. Everything is vectorised numpy. The
intrinsics and the colour / depth scale live in ``sam_ros.core.intrinsics`` (also
importable from here).
"""

import dataclasses
import functools
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

from sam_ros.core.depth import DepthError, DepthFrame
from sam_ros.core.intrinsics import depth_scale, Intrinsics

__all__ = ['DepthOptions', 'Grid', 'Intrinsics', 'MaskMeasurement', 'depth_scale', 'measure_mask',
           'measure_masks']


@dataclasses.dataclass(frozen=True)
class DepthOptions:
    """
    How a mask is measured.

    ``erode_px``: pixels eroded from the mask edge (depth pixels; 0 = none).
    ``stride``: keep every stride-th depth pixel in u and v (1 = all).
    ``min_range`` / ``max_range``: metres; depth outside is invalid.
    ``trim_percent``: the z percentiles cut on each side for the inliers (0..25).
    """

    erode_px: int = 0
    stride: int = 1
    min_range: float = 0.0
    max_range: float = 20.0
    trim_percent: float = 2.0

    def __post_init__(self) -> None:
        """Check the values; raise DepthError on a bad one."""
        if self.erode_px < 0 or self.stride < 1:
            raise DepthError(f'erode_px must be >= 0 and stride >= 1, got {self.erode_px} '
                             f'and {self.stride}')
        if not 0.0 <= self.min_range < self.max_range:
            raise DepthError(f'need 0 <= min_range < max_range, got {self.min_range} and '
                             f'{self.max_range}')
        if not 0.0 <= self.trim_percent <= 25.0:
            raise DepthError(f'trim_percent must be in [0, 25], got {self.trim_percent}')


class Grid(NamedTuple):
    """
    The sampled depth pixels: (height, width) of them, from (u0, v0), every stride-th.

    Flat index i is depth pixel (u0 + stride * (i % width), v0 + stride * (i // width)).
    """

    u0: int
    v0: int
    width: int
    height: int
    stride: int


@dataclasses.dataclass(frozen=True, eq=False)
class MaskMeasurement:
    """
    A mask measured in 3D (metres, depth optical frame).

    ``ok``: False when the mask got no 3D; ``reason`` says why ('' when ok).
    ``centroid``, ``extent_min``, ``extent_max``: (3,) float64 xyz (zeros when not ok).
    ``median_depth``: metres. ``valid_pixels``: sampled mask pixels with valid depth;
    ``sampled_pixels``: mask pixels after erosion and stride; ``valid_fraction``: their
    ratio. ``xyz``: (3, N) float32 x, y, z rows of every valid pixel (inliers and
    outliers), in row-major pixel order; ``uv`` (computed when read): (2, N) int32 u, v
    rows, their depth pixels. ``grid_index``: (N,) int64 flat indices of the points on
    ``grid``, the sampled depth pixels of the masks measured together (row-major).
    """

    ok: bool
    reason: str = ''
    centroid: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    extent_min: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    extent_max: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    median_depth: float = 0.0
    valid_pixels: int = 0
    sampled_pixels: int = 0
    xyz: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((3, 0), np.float32))
    grid_index: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64),
                                               repr=False)
    grid: 'Grid' = dataclasses.field(default_factory=lambda: Grid(0, 0, 1, 1, 1))

    @property
    def uv(self) -> np.ndarray:
        """Return the depth pixels as (2, N) int32 u, v rows."""
        u0, v0, width, _, stride = self.grid
        vv, uu = np.divmod(self.grid_index.astype(np.int32), np.int32(width))
        if stride > 1:
            uu *= stride
            vv *= stride
        uu += u0
        vv += v0
        return np.stack([uu, vv])

    @property
    def points(self) -> np.ndarray:
        """Return the points as an (N, 3) float32 view (x, y, z columns)."""
        return self.xyz.T

    @property
    def pixels(self) -> np.ndarray:
        """Return the depth pixels as an (N, 2) int32 view (u, v columns)."""
        return self.uv.T

    @property
    def valid_fraction(self) -> float:
        """Return valid_pixels / sampled_pixels (0 when nothing was sampled)."""
        return self.valid_pixels / self.sampled_pixels if self.sampled_pixels else 0.0

    @property
    def size(self) -> np.ndarray:
        """Return the extent's (3,) side lengths in metres."""
        return self.extent_max - self.extent_min


def _mask_box(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _depth_crop(mask: np.ndarray, depth_hw: Tuple[int, int],
                box: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, int, int]:
    """Return the mask on the depth grid, cropped to its box, and its (u, v) offset."""
    if box is None:
        box = _mask_box(mask)
    else:
        x0, y0, x1, y1 = (int(v) for v in box)
        box = (x0, y0, x1 + 1, y1 + 1) if x1 >= x0 and y1 >= y0 else None
    if box is None:
        return np.zeros((0, 0), bool), 0, 0
    x0, y0, x1, y1 = box
    h, w = mask.shape
    dh, dw = depth_hw
    if (dh, dw) != (h, w):
        # Nearest: depth pixel (u, v) takes the mask at colour pixel ((u + .5) w / dw - .5).
        u0, u1 = int(np.floor(x0 * dw / w)), int(np.ceil(x1 * dw / w))
        v0, v1 = int(np.floor(y0 * dh / h)), int(np.ceil(y1 * dh / h))
        us = np.clip(((np.arange(u0, u1) + 0.5) * w / dw).astype(np.int64), 0, w - 1)
        vs = np.clip(((np.arange(v0, v1) + 0.5) * h / dh).astype(np.int64), 0, h - 1)
        return mask[vs[:, None], us[None, :]], u0, v0
    return mask[y0:y1, x0:x1], x0, y0


def _union_planes(crops: Sequence[Tuple[np.ndarray, int, int]], erode_px: int
                  ) -> Tuple[np.ndarray, int, int]:
    """
    Return the crops eroded and placed on their union box: (C, h, w) bool, its offset.

    Each crop lies on its own plane, zero outside its own box; it erodes with a zero
    border, as the box holds all of the mask.
    """
    u0 = min(u for _, u, _ in crops)
    v0 = min(v for _, _, v in crops)
    u1 = max(u + c.shape[1] for c, u, _ in crops)
    v1 = max(v + c.shape[0] for c, _, v in crops)
    planes = np.zeros((len(crops), v1 - v0, u1 - u0), np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode_px + 1,) * 2)
    for plane, (crop, u, v) in zip(planes, crops):
        target = plane[v - v0:v - v0 + crop.shape[0], u - u0:u - u0 + crop.shape[1]]
        if erode_px > 0:
            out = cv2.erode(crop.view(np.uint8), kernel, dst=target,
                            borderType=cv2.BORDER_CONSTANT, borderValue=0)
            if out is not target:
                target[...] = out
        else:
            target[...] = crop
    return planes.view(bool), u0, v0


def _order_statistics(z: np.ndarray, values: Optional[np.ndarray], ranks: Sequence[int],
                      scale: float) -> Tuple[np.ndarray, float, float]:
    """
    Return the values of ``z`` (N,) float32 at 0-based ``ranks`` of its sorted order.

    Also its minimum and maximum. For integer depth (16UC1) a histogram of the raw
    ``values`` (N,) uint16 gives all of them exactly and faster than a partition and two
    reductions (metres are raw * scale in float32, a monotonic map); float depth
    (``values`` None) partitions.
    """
    if values is None:
        return np.partition(z, ranks)[list(ranks)], z.min(), z.max()
    histogram = np.bincount(values)
    cumulative = np.cumsum(histogram)
    found = np.searchsorted(cumulative, np.asarray(ranks), side='right')
    scale32 = np.float32(scale)
    low = np.float32(np.flatnonzero(histogram[:found[0] + 1])[0]) * scale32
    return found.astype(np.float32) * scale32, low, np.float32(histogram.size - 1) * scale32


@functools.lru_cache(maxsize=8)
def _ray_factors(intrinsics: Intrinsics) -> Tuple[np.ndarray, np.ndarray]:
    """Return (u - cx) / fx per column and (v - cy) / fy per row, float32 (read-only)."""
    x = ((np.arange(intrinsics.width) - intrinsics.cx) / intrinsics.fx).astype(np.float32)
    y = ((np.arange(intrinsics.height) - intrinsics.cy) / intrinsics.fy).astype(np.float32)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def _why_invalid(raw: np.ndarray, metres: np.ndarray, options: DepthOptions) -> str:
    finite = np.isfinite(metres)
    counts = {'zero': int(np.count_nonzero(metres == 0)),
              'NaN': int(np.count_nonzero(np.isnan(metres))),
              'inf': int(np.count_nonzero(np.isinf(metres))),
              'negative': int(np.count_nonzero(finite & (metres < 0)))}
    counts['out of range'] = int(np.count_nonzero(
        finite & (metres > 0) & ((metres < options.min_range) | (metres > options.max_range))))
    detail = ', '.join(f'{n} {kind}' for kind, n in counts.items() if n)
    return (f'no valid depth under the mask ({raw.size} sampled pixels: {detail}; range '
            f'{options.min_range:g}..{options.max_range:g} m)')


def measure_mask(mask: np.ndarray, frame: DepthFrame, intrinsics: Intrinsics,
                 options: DepthOptions = DepthOptions(),
                 box: Optional[Sequence[int]] = None) -> MaskMeasurement:
    """
    Measure an (H, W) bool mask of the colour image on a registered depth frame.

    The depth frame may have another resolution than the mask if it is a uniform
    scale of it (the mask is resampled, nearest); ``intrinsics`` are for the depth
    image. Raises DepthError only for input that no mask could fix (a depth size that
    is no scale of the mask, intrinsics of another size); a mask without depth is a
    measurement with ``ok`` False and a reason. ``box``: the mask's tight XYXY inclusive
    pixel box when known (``Prediction.boxes``), which saves two passes over the mask.
    """
    return measure_masks([mask], frame, intrinsics, options, [box])[0]


def measure_masks(masks: Sequence[np.ndarray], frame: DepthFrame, intrinsics: Intrinsics,
                  options: DepthOptions = DepthOptions(),
                  boxes: Optional[Sequence[Optional[Sequence[int]]]] = None
                  ) -> List[MaskMeasurement]:
    """
    Measure several (H, W) bool masks of one colour image at once, as ``measure_mask``.

    Each result equals ``measure_mask`` of that mask alone, bit for bit; the work the
    masks share (crop, depth to metres, range test, back-projection) is done once on
    the union of their boxes, which for SAM's nested whole / part / subpart masks is
    hardly more than the whole's box. ``boxes``: per mask as ``box`` of
    ``measure_mask`` (or None).
    """
    if frame.depth is None:
        raise DepthError(f'the depth frame is bad: {frame.error}')
    depth_hw = frame.shape
    if boxes is None:
        boxes = [None] * len(masks)
    results: List[Optional[MaskMeasurement]] = [None] * len(masks)
    crops = []
    for i, (mask, box) in enumerate(zip(masks, boxes)):
        if not isinstance(mask, np.ndarray) or mask.ndim != 2:
            raise DepthError(f'a mask is an (H, W) array, got {getattr(mask, "shape", mask)}')
        depth_scale(mask.shape, depth_hw)
        if (intrinsics.height, intrinsics.width) != depth_hw:
            raise DepthError(f'intrinsics are for {intrinsics.width}x{intrinsics.height}, '
                             f'the depth image is {depth_hw[1]}x{depth_hw[0]}')
        mask = mask.astype(bool, copy=False)
        crop, u0, v0 = _depth_crop(mask, depth_hw, box)
        # A large box is taken as holding pixels (checked after erosion, same reason).
        if crop.size > 64 or crop.any():
            crops.append((i, crop, u0, v0))
        else:
            results[i] = _no_pixel(crop, mask, options)
    if not crops:
        return results
    eroded, u0, v0 = _union_planes([c[1:] for c in crops], options.erode_px)
    s = options.stride
    ou, ov = (-u0) % s, (-v0) % s
    planes = eroded[:, ov::s, ou::s]
    u0, v0 = u0 + ou, v0 + ov
    gh, gw = planes.shape[1:]
    raw = frame.depth[v0:v0 + gh * s:s, u0:u0 + gw * s:s]
    z_grid = frame.metres(raw)
    # NaN compares False, so it is invalid here; +inf fails the max_range test.
    in_range = (z_grid > options.min_range) & (z_grid <= options.max_range)
    x_of_u, y_of_v = _ray_factors(intrinsics)
    x_grid = (x_of_u[u0:u0 + gw * s:s][None, :] * z_grid).ravel()
    y_grid = (y_of_v[v0:v0 + gh * s:s][:, None] * z_grid).ravel()
    values = raw.ravel() if raw.dtype == np.uint16 else None
    grid = Grid(u0, v0, gw, gh, s)
    for k, (i, crop, _, crop_v0) in enumerate(crops):
        # The grid rows of the mask's own box: erosion only shrinks a mask.
        rows = (max(0, -(-(crop_v0 - v0) // s)),
                min(gh, -(-(crop_v0 + crop.shape[0] - v0) // s)))
        measured = _measure_plane(planes[k], rows, raw, z_grid, in_range, x_grid, y_grid,
                                  values, grid, options, frame.scale)
        if measured is None:    # no pixel sampled: none left after erosion or stride
            measured = (_no_pixel(crop, masks[i], options) if not eroded[k].any() else
                        MaskMeasurement(False, f'the mask has no pixel on the stride-{s} grid'))
        results[i] = measured
    return results


def _no_pixel(crop: np.ndarray, mask: np.ndarray, options: DepthOptions) -> MaskMeasurement:
    why = ('the mask is empty' if crop.size == 0 or not mask.any() else
           f'the mask has no pixel left after eroding {options.erode_px} px')
    return MaskMeasurement(False, why)


def _measure_plane(plane: np.ndarray, rows: Tuple[int, int], raw: np.ndarray,
                   z_grid: np.ndarray, in_range: np.ndarray, x_grid: np.ndarray,
                   y_grid: np.ndarray, values: Optional[np.ndarray], grid: Grid,
                   options: DepthOptions, scale: float) -> Optional[MaskMeasurement]:
    """Measure one eroded, strided mask ``plane`` (None: no pixel) on the shared grid."""
    r0, r1 = rows
    plane = plane[r0:r1]
    sampled = int(np.count_nonzero(plane))
    if sampled == 0:
        return None
    flat = np.flatnonzero(plane & in_range[r0:r1])
    count = int(flat.size)
    if count == 0:
        return MaskMeasurement(False, _why_invalid(raw[r0:r1][plane], z_grid[r0:r1][plane],
                                                   options), sampled_pixels=sampled)
    flat += r0 * grid.width
    xyz = np.empty((3, count), np.float32)
    np.take(x_grid, flat, out=xyz[0])
    np.take(y_grid, flat, out=xyz[1])
    np.take(z_grid.ravel(), flat, out=xyz[2])
    z = xyz[2]
    if options.trim_percent > 0.0 and count > 2:
        k = (int(round((count - 1) * options.trim_percent / 100.0)), (count - 1) // 2,
             int(round((count - 1) * (1.0 - options.trim_percent / 100.0))))
        (z_lo, z_med, z_hi), z_min, z_max = _order_statistics(
            z, None if values is None else values[flat], k, scale)
        if z_lo == z_min and z_hi == z_max:
            inliers = xyz
        else:
            keep = (z >= z_lo) & (z <= z_hi)
            inliers = [row[keep] for row in xyz]     # contiguous rows
    else:
        z_med = np.partition(z, (count - 1) // 2)[(count - 1) // 2]
        inliers = xyz
    # Pairwise float32 sums over each contiguous row, as (3, N).mean(axis=1) does.
    return MaskMeasurement(
        True, centroid=np.array([row.mean() for row in inliers], np.float64),
        extent_min=np.array([row.min() for row in inliers], np.float64),
        extent_max=np.array([row.max() for row in inliers], np.float64),
        median_depth=float(z_med), valid_pixels=count, sampled_pixels=sampled, xyz=xyz,
        grid_index=flat, grid=grid)
