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
Appearance of the synthetic world: background, colours, textures, light, camera.

Images are (H, W, 3) RGB; intensities are in 0..255 units. Colour distances are CIE76
Delta E in CIELAB (OpenCV's conversion of sRGB, D65). All functions draw their randomness
from the generator they are given.
"""

from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Tuple

import cv2
import numpy as np

# Colour distinctness (Delta E 76): a level against its parent level, a whole against the
# background under it, and a whole against earlier objects it may overlap.
MIN_DELTA_PARENT = 30.0
MIN_DELTA_BACKGROUND = 25.0
MIN_DELTA_NEIGHBOUR = 18.0

_LOW_RES = 8          # the background field is built at 1/8 resolution, then upsampled


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert (..., 3) RGB in 0..255 to (..., 3) float32 CIELAB."""
    flat = (np.asarray(rgb, np.float32) / 255.0).reshape(1, -1, 3)
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(np.shape(rgb))


@dataclass(frozen=True)
class Illumination:
    """
    A linear illumination gradient: a gain of 1 - g .. 1 + g across the frame.

    ``strength`` is g (0 means uniform light), ``direction`` the unit XY vector along
    which the light increases, ``centre`` the pixel XY where the gain is 1, and
    ``half_span`` the distance in pixels from the centre to where the gain is 1 +- g.

    """

    strength: float
    direction: Tuple[float, float]
    centre: Tuple[float, float]
    half_span: float

    def gain(self, x0: float, y0: float, width: int, height: int, step: float = 1.0
             ) -> np.ndarray:
        """Return the (height, width) float32 gain of a grid from pixel (x0, y0), pitch step."""
        xs = (x0 + step * np.arange(width, dtype=np.float32) - self.centre[0])
        ys = (y0 + step * np.arange(height, dtype=np.float32) - self.centre[1])
        k = self.strength / self.half_span
        return (1.0 + k * (ys[:, None] * self.direction[1] + xs[None, :] * self.direction[0])
                ).astype(np.float32)


def random_illumination(rng: np.random.Generator, width: int, height: int,
                        probability: float = 0.5) -> Illumination:
    """Draw a gradient of strength 0.08..0.25 with the given probability, else none."""
    theta = rng.uniform(0.0, 2.0 * np.pi)
    strength = rng.uniform(0.08, 0.25) if rng.random() < probability else 0.0
    return Illumination(strength, (float(np.cos(theta)), float(np.sin(theta))),
                        (width / 2.0, height / 2.0), 0.5 * float(np.hypot(width, height)))


def background(rng: np.random.Generator, width: int, height: int
               ) -> Tuple[np.ndarray, np.ndarray]:
    """
    Draw a smooth random colour field with mottled noise (unlit).

    Returns the (height, width, 3) uint8 RGB image and the field's CIELAB at 1/8
    resolution, (ceil(height / 8), ceil(width / 8), 3) float32, where cell (i, j) covers
    rows [8i, 8i + 8) and columns [8j, 8j + 8).

    """
    lh, lw = -(-height // _LOW_RES), -(-width // _LOW_RES)
    gh, gw = rng.integers(2, 6, size=2)
    base = rng.uniform(25.0, 230.0, 3)
    grid = np.clip(base + rng.normal(0.0, rng.uniform(8.0, 40.0), (gh, gw, 3)), 0, 255)
    field = cv2.resize(grid.astype(np.float32), (lw, lh), interpolation=cv2.INTER_CUBIC)
    mottle = rng.normal(0.0, 1.0, (max(2, lh // 3), max(2, lw // 3))).astype(np.float32)
    mottle = cv2.resize(mottle, (lw, lh), interpolation=cv2.INTER_CUBIC)
    field = np.clip(field + rng.uniform(2.0, 8.0) * mottle[..., None], 0.0, 255.0)
    small = np.rint(field).astype(np.uint8)
    full = cv2.resize(small, (lw * _LOW_RES, lh * _LOW_RES), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(full[:height, :width]), to_lab(field)


def apply_light(image: np.ndarray, light: Illumination) -> np.ndarray:
    """Return the (H, W, 3) uint8 image times the light's gain (to 1/128 precision)."""
    if not light.strength:
        return image
    height, width = image.shape[:2]
    lh, lw = -(-height // _LOW_RES), -(-width // _LOW_RES)
    gain = light.gain(_LOW_RES / 2 - 0.5, _LOW_RES / 2 - 0.5, lw, lh, _LOW_RES)
    small = np.repeat(np.rint(128.0 * gain).astype(np.uint8)[..., None], 3, axis=2)
    full = cv2.resize(small, (lw * _LOW_RES, lh * _LOW_RES), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(image, full[:height, :width], scale=1.0 / 128.0)


def pick_colour(rng: np.random.Generator, avoid_lab: np.ndarray, min_delta: np.ndarray
                ) -> np.ndarray:
    """
    Draw an RGB colour at least ``min_delta`` (Delta E) from every colour to avoid.

    ``avoid_lab`` is (K, 3) CIELAB, ``min_delta`` (K,) the distance each colour needs.
    Returns (3,) float32 RGB in 10..245: the first of up to 128 uniform draws that keeps
    every distance, else the draw that comes closest.

    """
    best, best_score = None, -np.inf
    for _ in range(4):
        cand = rng.uniform(10.0, 245.0, (32, 3)).astype(np.float32)
        if len(avoid_lab) == 0:
            return cand[0]
        dist = np.linalg.norm(to_lab(cand)[:, None] - avoid_lab[None], axis=2)
        score = (dist - min_delta[None]).min(axis=1)
        ok = np.flatnonzero(score >= 0)
        if ok.size:
            return cand[ok[0]]
        i = int(np.argmax(score))
        if score[i] > best_score:
            best, best_score = cand[i], score[i]
    return best


def textured_layer(rng: np.random.Generator, colour: np.ndarray, height: int, width: int,
                   scale: float) -> np.ndarray:
    """
    Draw a colour with a light texture (std 3..10 intensity units, slightly tinted).

    The pattern is one of: mottled (smooth blotches), stripes (a sinusoid at a random
    angle and period), grain (fine blurred noise), or soft checks. Periods scale with
    ``scale`` (frame size relative to 640x480). ``colour`` is (3,) RGB in 0..255;
    returns (height, width, 3) uint8 RGB.

    """
    tex = _pattern(rng, height, width, scale)
    # The pattern as codes 128 + 16 * pattern in uint8 (patterns stay well within +-8),
    # then a per-channel table: colour + amplitude * tint * pattern.
    codes = cv2.convertScaleAbs(tex, alpha=16.0, beta=128.0)
    gain = rng.uniform(3.0, 10.0) * np.clip(1.0 + rng.normal(0.0, 0.15, 3), 0.6, 1.4) / 16.0
    table = colour + gain * (np.arange(256.0) - 128.0)[:, None]
    table = np.clip(np.rint(table), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    return cv2.LUT(cv2.merge([codes, codes, codes]), table)


def _pattern(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """Return a (height, width) float32 texture pattern of roughly unit std."""
    kind = int(rng.integers(4))
    if kind in (0, 2):
        # Mottled: blotches of 6..24 px (times scale); grain: noise at half resolution.
        cell = rng.uniform(6.0, 24.0) * scale if kind == 0 else 2.0
        gh, gw = max(2, int(height / cell) + 2), max(2, int(width / cell) + 2)
        small = rng.normal(0.0, 1.0, (gh, gw)).astype(np.float32)
        interp = cv2.INTER_CUBIC if kind == 0 else cv2.INTER_LINEAR
        out = cv2.resize(small, (width, height), interpolation=interp)
        return out / max(float(out.std()), 0.3)
    ys = np.arange(height, dtype=np.float32)
    xs = np.arange(width, dtype=np.float32)
    if kind == 1:
        # Stripes sin(f (x cos t + y sin t) + p), expanded into a rank-2 outer product.
        theta = rng.uniform(0.0, np.pi)
        freq = 2.0 * np.pi / (rng.uniform(5.0, 16.0) * scale)
        u = freq * np.cos(theta) * xs + rng.uniform(0.0, 2.0 * np.pi)
        v = freq * np.sin(theta) * ys
        left = np.stack([np.cos(v), np.sin(v)], axis=1).astype(np.float32)
        right = np.stack([np.sin(u), np.cos(u)]).astype(np.float32)
        return 1.41 * (left @ right)
    # Soft checks: sin(f x + a) sin(f y + b), a rank-1 outer product.
    freq = np.pi / (rng.uniform(6.0, 14.0) * scale)
    col = np.sin(freq * ys + rng.uniform(0, 6.3)).astype(np.float32)
    row = np.sin(freq * xs + rng.uniform(0, 6.3)).astype(np.float32)
    return np.float32(2.0) * np.outer(col, row)


@lru_cache(maxsize=1)
def _normal_quantiles() -> np.ndarray:
    """Return the 256 equiprobable standard-normal quantiles, (256,) float64."""
    dist = NormalDist()
    return np.array([dist.inv_cdf((k + 0.5) / 256.0) for k in range(256)])


def degrade(image: np.ndarray, rng: np.random.Generator, scale: float) -> np.ndarray:
    """
    Apply a camera's degradations: slight Gaussian blur, then additive Gaussian noise.

    Blur sigma is 0.4..1.1 px times the frame scale (clipped to 0.5..2); the noise is
    i.i.d. per pixel and channel with sigma 2..8 intensity units, drawn through 256
    equiprobable normal quantiles indexed by raw random bytes (so tails stop at 2.7 sigma),
    which is some thirty times faster than drawing floats. Takes and returns (a new)
    (H, W, 3) uint8 RGB.

    """
    sigma_blur = rng.uniform(0.4, 1.1) * float(np.clip(scale, 0.5, 2.0))
    ksize = 2 * int(np.ceil(2.5 * sigma_blur)) + 1     # +-2.5 sigma holds 98.8% of it
    blurred = cv2.GaussianBlur(image, (ksize, ksize), sigma_blur)
    sigma_noise = rng.uniform(2.0, 8.0)
    lut = np.clip(np.rint(128.0 + sigma_noise * _normal_quantiles()), 0, 255).astype(np.uint8)
    words = rng.bit_generator.random_raw(-(-image.size // 8))
    codes = words.view(np.uint8)[:image.size].reshape(image.shape)
    noise = cv2.LUT(codes, lut)
    return cv2.addWeighted(blurred, 1.0, noise, 1.0, -128.0, dtype=cv2.CV_8U)
