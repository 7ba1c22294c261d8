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
A cheap frame change detector, so that unchanged frames reuse an embedding.

The signature of a frame is its grayscale image averaged over a coarse grid of
cells (about ``grid`` cells along the longer side; 64 x 48 cells for 640 x 480).
Two signatures differ by the *fraction of cells* whose mean gray level moved by
more than ``cell_delta`` gray levels (0..255). A frame has changed when that
fraction exceeds ``threshold``.

Why a fraction of cells rather than the mean absolute difference: a small object
that moves changes a few cells a lot and the image mean very little, and SAM's
embedding of that object changes with it. Averaging over a cell removes sensor
noise (a few gray levels per pixel), so ``cell_delta`` can stay well above the
noise while ``threshold`` stays small. Identical frames always score 0.0 and are
never reported as changed, for any ``threshold >= 0``.

Cost: about 1 ms for a 640 x 480 RGB frame on one CPU core (numpy only).
"""

import threading
from typing import NamedTuple, Optional, Tuple

import numpy as np

from sam_ros.core.errors import ImageFormatError, SamError

__all__ = ['ChangeCheck', 'ChangeDetector', 'FrameSignature']

_GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class FrameSignature(NamedTuple):
    """
    The signature of a frame.

    ``size``: the frame's (H, W) in pixels; ``cells``: float32 (rows, cols) mean
    gray level (0..255) of each grid cell.
    """

    size: Tuple[int, int]
    cells: np.ndarray


class ChangeCheck(NamedTuple):
    """
    The outcome of ``ChangeDetector.check``.

    ``changed``: whether the frame differs from the reference (True when there is
    no reference yet); ``score``: fraction of changed cells, 0..1 (1.0 without a
    reference or when the frame size changed); ``signature``: the frame's signature.
    """

    changed: bool
    score: float
    signature: FrameSignature


class ChangeDetector:
    """
    Compare frames with a reference frame (the last one chosen for encoding).

    ``signature``, ``score`` and ``differs`` are pure. ``check`` and
    ``set_reference`` use the stored reference under a lock, so one detector may be
    shared between threads.
    """

    def __init__(self, threshold: float = 0.001, cell_delta: float = 8.0,
                 grid: int = 64) -> None:
        """
        Create a detector without a reference.

        ``threshold``: fraction of cells (0..1) that may change while the frame
        still counts as unchanged. ``cell_delta``: change in a cell's mean gray
        level (0..255) that counts as a change of that cell. ``grid``: number of
        cells along the longer image side (>= 4).
        """
        self._lock = threading.Lock()
        self.threshold = threshold
        cell_delta = float(cell_delta)
        if not 0.0 <= cell_delta <= 255.0:
            raise SamError(f'cell_delta is in gray levels, 0..255; got {cell_delta}')
        if isinstance(grid, bool) or not isinstance(grid, int) or grid < 4:
            raise SamError(f'grid must be an integer >= 4, got {grid!r}')
        self._cell_delta = cell_delta
        self._grid = grid
        self._reference: Optional[FrameSignature] = None

    @property
    def threshold(self) -> float:
        """Return the fraction of cells (0..1) that may change in an unchanged frame."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise SamError(f'change threshold is a fraction of cells, 0..1; got {value}')
        self._threshold = value

    def signature(self, image: np.ndarray) -> FrameSignature:
        """
        Return the signature of ``image``: its size and the cell means of its gray levels.

        ``image``: (H, W) or (H, W, 3) uint8, RGB channel order. The cells are a
        float32 array of about (grid * H / W, grid) for a landscape image.
        """
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or not (
                image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise ImageFormatError(
                'change detection needs an (H, W) or (H, W, 3) uint8 image, got '
                f'{getattr(image, "shape", None)} {getattr(image, "dtype", type(image))}')
        height, width = image.shape[:2]
        if height == 0 or width == 0:
            raise ImageFormatError(f'change detection got an empty image {image.shape}')
        block = max(1, -(-max(height, width) // self._grid))
        # Sample every stride-th pixel inside a cell: a cell mean stays a mean, 16x cheaper.
        stride = max(1, block // 4)
        sub = image[::stride, ::stride]
        if sub.ndim == 3:
            gray = sub.astype(np.float32) @ _GRAY_WEIGHTS
        else:
            gray = sub.astype(np.float32)
        step = max(1, block // stride)
        rows = np.arange(0, gray.shape[0], step)
        cols = np.arange(0, gray.shape[1], step)
        sums = np.add.reduceat(np.add.reduceat(gray, rows, axis=0), cols, axis=1)
        counts = np.outer(np.diff(np.append(rows, gray.shape[0])),
                          np.diff(np.append(cols, gray.shape[1])))
        return FrameSignature((height, width), (sums / counts).astype(np.float32))

    def score(self, signature: FrameSignature, reference: Optional[FrameSignature]) -> float:
        """Return the fraction of changed cells, 0..1; 1.0 without a reference or on resize."""
        if reference is None or signature.size != reference.size:
            return 1.0
        changed = np.abs(signature.cells - reference.cells) > self._cell_delta
        return float(np.count_nonzero(changed)) / float(changed.size)

    def differs(self, signature: FrameSignature,
                reference: Optional[FrameSignature]) -> bool:
        """Return True when ``signature`` differs from ``reference`` beyond the threshold."""
        return self.score(signature, reference) > self._threshold

    def check(self, image: np.ndarray) -> ChangeCheck:
        """Compare ``image`` with the stored reference; does not change the reference."""
        signature = self.signature(image)
        with self._lock:
            reference = self._reference
        score = self.score(signature, reference)
        return ChangeCheck(score > self._threshold or reference is None, score, signature)

    def set_reference(self, signature: Optional[FrameSignature]) -> None:
        """Make ``signature`` (from ``signature`` or ``check``) the reference; None clears it."""
        with self._lock:
            self._reference = signature

    @property
    def has_reference(self) -> bool:
        """Return True when a reference frame is set."""
        with self._lock:
            return self._reference is not None
