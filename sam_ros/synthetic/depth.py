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
A metric depth map for a synthetic scene, registered to its colour image, with 3D truth.

The camera is a pinhole with fx = fy = 0.9 W and the principal point at the image
centre. The background is a plane sloping away towards the top of the image (2.0 m at
the bottom row to 2.4 m at the top). Object k (in drawing order) stands fronto-parallel
at z = 1.3 - 0.15 k m, so a later object, which occludes earlier ones, is also nearer.
A part is raised ``RAISE_M`` above its whole (towards the camera), a subpart
``RAISE_M`` above its part, so each level is a real 3D target.

The ground truth of a level is its *visible surface*: the level's visible mask
back-projected with the exact depth (including the raised child levels inside it).
"""

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

from sam_ros.synthetic.world import Scene

__all__ = ['camera_matrix', 'depth_from_levels', 'RAISE_M', 'SceneDepth', 'scene_depth',
           'surface_truth', 'to_millimetres']

RAISE_M = 0.03
_FIRST_Z = 1.3
_STEP_Z = 0.15


@dataclass(frozen=True, eq=False)
class SceneDepth:
    """
    A scene's depth: ``depth`` (H, W) float32 metres (every pixel valid), and ``k``.

    ``k``: the row-major 3x3 camera matrix (9 floats), as in ``CameraInfo.k``.
    ``level_z``: per object, the z (m) of each level, ordered subpart -> whole.
    """

    depth: np.ndarray
    k: Tuple[float, ...]
    level_z: Tuple[Tuple[float, ...], ...]


def camera_matrix(width: int, height: int) -> Tuple[float, ...]:
    """Return the synthetic camera's K (9 floats) for a (height, width) image."""
    f = 0.9 * width
    return (f, 0.0, (width - 1) / 2.0, 0.0, f, (height - 1) / 2.0, 0.0, 0.0, 1.0)


def depth_from_levels(objects: Sequence[Sequence[np.ndarray]], height: int, width: int
                      ) -> Tuple[np.ndarray, Tuple[Tuple[float, ...], ...]]:
    """
    Return the (H, W) float32 depth (m) of objects drawn in order, and each level's z.

    ``objects``: per object its visible (H, W) bool level masks, subpart -> whole (2 or
    3), in drawing order (later objects are nearer). Deterministic.
    """
    rows = np.arange(height, dtype=np.float32)[:, None]
    depth = np.repeat(2.4 - 0.4 * rows / max(height - 1, 1), width, axis=1)
    depth = depth.astype(np.float32)
    level_z = []
    for k, levels in enumerate(objects):
        base = _FIRST_Z - _STEP_Z * k
        n = len(levels)
        zs = tuple(base - RAISE_M * (n - 1 - i) for i in range(n))
        for mask, z in zip(reversed(levels), reversed(zs)):   # whole first
            depth[mask] = z
        level_z.append(zs)
    return depth, tuple(level_z)


def scene_depth(scene: Scene) -> SceneDepth:
    """Return the depth map of ``scene`` (deterministic: no randomness)."""
    depth, level_z = depth_from_levels([o.levels for o in scene.objects], scene.height,
                                       scene.width)
    return SceneDepth(depth, camera_matrix(scene.width, scene.height), level_z)


def surface_truth(depth: np.ndarray, mask: np.ndarray, k: Tuple[float, ...]
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Return the (centroid, min, max) of ``mask``'s visible surface, (3,) metres each.

    ``depth``: (H, W) float32 metres; ``mask``: (H, W) bool; ``k``: 9 floats.
    """
    vv, uu = np.nonzero(mask)
    z = depth[vv, uu].astype(np.float64)
    x = (uu - k[2]) * z / k[0]
    y = (vv - k[5]) * z / k[4]
    points = np.stack([x, y, z], axis=1)
    return points.mean(axis=0), points.min(axis=0), points.max(axis=0)


def to_millimetres(depth: np.ndarray) -> np.ndarray:
    """Return float metres as 16UC1 millimetres (rounded; invalid -> 0)."""
    mm = np.where(np.isfinite(depth) & (depth > 0), np.rint(depth * 1000.0), 0.0)
    return np.clip(mm, 0, 65535).astype(np.uint16)
