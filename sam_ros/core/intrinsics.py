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
Pinhole intrinsics of a depth image, and the scale between a colour and a depth image.

Conventions: pixel (u, v) = (column, row), integer values are pixel centres (the
convention of ``K`` in ``sensor_msgs/CameraInfo``); a scaled image keeps the pixel
edges aligned, so a centre maps as (u + 0.5) * scale - 0.5.
"""

from typing import NamedTuple, Sequence, Tuple

import numpy as np

from sam_ros.core.depth import DepthError

__all__ = ['Intrinsics', 'depth_scale']


class Intrinsics(NamedTuple):
    """Pinhole intrinsics in pixels of a (height, width) image."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> 'Intrinsics':
        """
        Build from a row-major 3x3 ``K`` (9 values) of a (height, width) image.

        Raises DepthError when K is not 9 finite values with fx, fy > 0 (uncalibrated).
        """
        values = np.asarray(list(k), dtype=np.float64)
        if values.size != 9 or not np.all(np.isfinite(values)):
            raise DepthError(f'K must be 9 finite values, got {values.tolist()}')
        fx, fy, cx, cy = values[0], values[4], values[2], values[5]
        if fx <= 0.0 or fy <= 0.0:
            raise DepthError(f'K has no focal length (fx {fx}, fy {fy}); is the depth '
                             'camera calibrated?')
        return cls(float(fx), float(fy), float(cx), float(cy), int(width), int(height))

    def scaled_to(self, width: int, height: int) -> 'Intrinsics':
        """
        Return these intrinsics for the same camera at (height, width) pixels.

        A size of 0 x 0 (unknown, as in an empty CameraInfo) is taken as this one's.
        Raises DepthError when the size is no uniform scale of this one.
        """
        if (width, height) == (self.width, self.height) or self.width == 0:
            return self._replace(width=int(width), height=int(height))
        sx, sy = depth_scale((self.height, self.width), (height, width), 'camera_info')
        return Intrinsics(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5,
                          (self.cy + 0.5) * sy - 0.5, int(width), int(height))


def depth_scale(colour_hw: Tuple[int, int], depth_hw: Tuple[int, int],
                what: str = 'colour') -> Tuple[float, float]:
    """
    Return (sx, sy): depth pixels per ``what`` pixel, the same scale on both axes.

    Raises DepthError when ``depth_hw`` is no scale of ``colour_hw`` (another aspect
    ratio, off by more than one pixel after scaling).
    """
    (h, w), (dh, dw) = colour_hw, depth_hw
    if min(h, w, dh, dw) <= 0:
        raise DepthError(f'empty image size: {what} {w}x{h}, depth {dw}x{dh}')
    sx, sy = dw / w, dh / h
    if abs(dw - round(w * sy)) > 1 or abs(dh - round(h * sx)) > 1:
        raise DepthError(f'the depth image is {dw}x{dh}, which is no scale of the {what} '
                         f'image {w}x{h}; register depth to colour (same optical frame, '
                         'same aspect ratio)')
    return sx, sy
