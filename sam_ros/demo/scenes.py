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
A moving version of the synthetic nested-object world, for the demo camera (no ROS).

A *stage* is a backdrop scene of ``sam_ros.synthetic`` plus one *actor*: the top
(unoccluded) three-level object of another scene, cut out with its pixels and its
exact level masks. The actor holds still for ``hold_s`` seconds, then slides to its
next pose over ``move_s`` seconds, and so on; every ``poses_per_stage`` poses the camera
cuts to the next stage. Everything is a pure function of the seed and the time, so a
frame can be rendered again from its ``FrameKey`` to get its ground truth.

Ground truth of a frame (``View.objects``): one tuple of visible (H, W) bool level
masks per object, ordered subpart -> part -> whole (2 or 3 levels); the backdrop's
objects lose the pixels the actor covers, and the actor is the last object.
"""

import dataclasses
import threading
from typing import Callable, Dict, NamedTuple, Optional, Tuple, TypeVar

import cv2
import numpy as np

from sam_ros.synthetic.world import Scene, SceneGenerator

__all__ = ['Actor', 'FrameKey', 'MovingWorld', 'View', 'interior_point']

_ACTOR_SEED_OFFSET = 7919   # the actors come from their own stream of scenes
_MAX_ACTOR_SEARCH = 64
_NOISE_FIELDS = 4
_CACHED = 4
_LOCK = threading.Lock()
_T = TypeVar('_T')


def _cached(cache: Dict[int, _T], key: int, make: Callable[[], _T]) -> _T:
    """Return ``cache[key]``, made on a miss; keeps the newest ``_CACHED`` entries."""
    with _LOCK:
        if key in cache:
            return cache[key]
    value = make()
    with _LOCK:
        cache[key] = value
        while len(cache) > _CACHED:
            del cache[next(iter(cache))]
    return value


class FrameKey(NamedTuple):
    """What a frame shows: the stage index and the actor's top-left pixel (x, y)."""

    stage: int
    x: int
    y: int


@dataclasses.dataclass(frozen=True, eq=False)
class Actor:
    """A cut-out three-level object: RGB pixels and level masks of its bounding box."""

    pixels: np.ndarray              # (h, w, 3) uint8 RGB
    levels: Tuple[np.ndarray, ...]  # (h, w) bool each, subpart -> part -> whole

    @property
    def size(self) -> Tuple[int, int]:
        """Return the actor's (w, h) in pixels."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class View:
    """
    One rendered frame with its ground truth.

    ``image``: (H, W, 3) uint8 RGB. ``objects``: per object, its visible (H, W) bool
    level masks, subpart -> whole; the actor is ``objects[-1]``. ``moving``: whether
    the actor is between two poses.
    """

    key: FrameKey
    image: np.ndarray
    objects: Tuple[Tuple[np.ndarray, ...], ...]
    moving: bool

    @property
    def actor(self) -> Tuple[np.ndarray, ...]:
        """Return the actor's visible level masks (subpart, part, whole)."""
        return self.objects[-1]


def interior_point(mask: np.ndarray) -> Tuple[float, float]:
    """
    Return the pixel (x, y) of ``mask`` farthest from its border.

    ``mask``: (H, W) bool, not empty (ValueError otherwise). The point is where a
    person would click to mean the region: its middle, not its edge.
    """
    if not np.any(mask):
        raise ValueError('the mask is empty; pass a mask with at least one True pixel')
    padded = np.pad(mask.astype(np.uint8), 1)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    # Of the (near-)deepest pixels, the one closest to their centroid: the middle of a
    # ridge rather than its first pixel.
    ys, xs = np.nonzero(distance >= distance.max() - 0.5)
    k = int(np.argmin((xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2))
    return float(xs[k]), float(ys[k])


class MovingWorld:
    """Frames of nested objects where one object moves now and then and holds still."""

    def __init__(self, seed: int = 0, width: int = 640, height: int = 480,
                 hold_s: float = 2.5, move_s: float = 1.0, poses_per_stage: int = 4,
                 noise: float = 0.0) -> None:
        """
        Create the world; nothing is rendered yet.

        ``width`` x ``height``: frame size in pixels (>= 128 each). ``hold_s``: seconds
        the actor stands still at a pose; ``move_s``: seconds it takes to the next pose
        (0: it jumps). ``noise``: standard deviation (gray levels) of per-frame sensor
        noise added on top of the scene's own noise; 0 makes the frames of a hold
        bit-identical.
        """
        if min(width, height) < 128:
            raise ValueError(f'frame size {width}x{height} is too small; use >= 128 x 128')
        if hold_s <= 0 or move_s < 0 or poses_per_stage < 1 or noise < 0:
            raise ValueError('hold_s must be > 0, move_s >= 0, poses_per_stage >= 1 and '
                             'noise >= 0')
        self.seed, self.width, self.height = int(seed), int(width), int(height)
        self.hold_s, self.move_s = float(hold_s), float(move_s)
        self.poses_per_stage = int(poses_per_stage)
        self.noise = float(noise)
        self._scenes = SceneGenerator(self.seed)
        self._actors = SceneGenerator(self.seed + _ACTOR_SEED_OFFSET)
        self._noise_fields: Optional[np.ndarray] = None
        self._backdrops: Dict[int, Scene] = {}
        self._cast: Dict[int, Actor] = {}

    # ----------------------------------------------------------------- timeline

    @property
    def period_s(self) -> float:
        """Return the seconds from the start of one hold to the start of the next."""
        return self.hold_s + self.move_s

    def key_at(self, t: float) -> Tuple[FrameKey, bool]:
        """
        Return what the camera shows ``t`` seconds after it started, and whether it moves.

        The actor holds pose k during [k P, k P + hold_s) (P = hold_s + move_s) and
        slides linearly to pose k + 1 during the rest of the period; between the last
        pose of a stage and the next stage the camera cuts (no slide).
        """
        t = max(0.0, float(t))
        k = int(t // self.period_s)
        phase = t - k * self.period_s
        stage, pose = divmod(k, self.poses_per_stage)
        x0, y0 = self.pose(stage, pose)
        if phase < self.hold_s or pose == self.poses_per_stage - 1:
            return FrameKey(stage, x0, y0), False
        x1, y1 = self.pose(stage, pose + 1)
        f = (phase - self.hold_s) / self.move_s
        return FrameKey(stage, int(round(x0 + f * (x1 - x0))),
                        int(round(y0 + f * (y1 - y0)))), True

    def hold_left(self, t: float) -> float:
        """Return the seconds until the current hold ends (0 while the actor moves)."""
        phase = max(0.0, float(t)) % self.period_s
        return max(0.0, self.hold_s - phase)

    def pose(self, stage: int, pose: int) -> Tuple[int, int]:
        """Return the actor's top-left pixel (x, y) at ``pose`` of ``stage``."""
        w, h = self.actor(stage).size
        rng = np.random.default_rng([self.seed, int(stage), int(pose), 1])
        return (int(rng.integers(0, max(1, self.width - w + 1))),
                int(rng.integers(0, max(1, self.height - h + 1))))

    # ---------------------------------------------------------------- rendering

    def _backdrop(self, stage: int) -> Scene:
        return _cached(self._backdrops, int(stage), lambda: self._scenes.scene(
            int(stage), self.width, self.height))

    def actor(self, stage: int) -> Actor:
        """Return the actor of ``stage``: the first top object with three levels that fits."""
        return _cached(self._cast, int(stage), lambda: self._find_actor(int(stage)))

    def _find_actor(self, stage: int) -> Actor:
        fallback = None
        for index in range(stage * _MAX_ACTOR_SEARCH, (stage + 1) * _MAX_ACTOR_SEARCH):
            scene = self._actors.scene(index, self.width, self.height)
            top = scene.objects[-1]      # drawn last: never occluded
            x, y, w, h = cv2.boundingRect(top.whole.view(np.uint8))
            if w == 0 or w > 0.6 * self.width or h > 0.75 * self.height:
                continue
            actor = Actor(np.ascontiguousarray(scene.image[y:y + h, x:x + w]),
                          tuple(np.ascontiguousarray(m[y:y + h, x:x + w])
                                for m in top.levels))
            x0, y0, x1, y1 = top.box
            inside = x0 >= 0 and y0 >= 0 and x1 < self.width and y1 < self.height
            if top.num_levels == 3 and inside and all(m.any() for m in top.levels):
                return actor
            if fallback is None:
                fallback = actor
        if fallback is None:
            raise RuntimeError(f'no usable actor for stage {stage}; try another seed')
        return fallback

    def render(self, key: FrameKey, frame_index: int = 0, moving: bool = False) -> View:
        """
        Render the frame ``key`` names, with its ground truth.

        ``frame_index`` picks the sensor noise field (when ``noise`` > 0), so two frames
        of one hold differ only by noise.
        """
        scene = self._backdrop(key.stage)
        actor = self.actor(key.stage)
        image = scene.image.copy()
        w, h = actor.size
        region = (slice(key.y, key.y + h), slice(key.x, key.x + w))
        whole = actor.levels[-1]
        np.copyto(image[region], actor.pixels, where=whole[..., None])
        placed = []
        for mask in actor.levels:
            full = np.zeros((self.height, self.width), bool)
            full[region] = mask
            placed.append(full)
        covered = placed[-1]
        objects = []
        for obj in scene.objects:
            levels = tuple(m & ~covered for m in obj.levels)
            if levels[-1].any():
                objects.append(levels)
        objects.append(tuple(placed))
        if self.noise > 0:
            image = self._add_noise(image, frame_index)
        return View(key, image, tuple(objects), moving)

    def view_at(self, t: float, frame_index: int = 0) -> View:
        """Render the frame the camera shows ``t`` seconds after it started."""
        key, moving = self.key_at(t)
        return self.render(key, frame_index, moving)

    def _add_noise(self, image: np.ndarray, frame_index: int) -> np.ndarray:
        if self._noise_fields is None:
            rng = np.random.default_rng([self.seed, 2])
            fields = rng.normal(0.0, self.noise, (_NOISE_FIELDS, self.height, self.width, 3))
            self._noise_fields = np.clip(np.rint(fields), -127, 127).astype(np.int16)
        noisy = image.astype(np.int16) + self._noise_fields[frame_index % _NOISE_FIELDS]
        return np.clip(noisy, 0, 255).astype(np.uint8)
