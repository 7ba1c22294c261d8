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
Depth frames: decoding raw and compressedDepth buffers, and a store matched by stamp.

A depth image is registered to the colour camera (same optical frame, e.g. a RealSense
``aligned_depth_to_color``). Encodings: ``16UC1`` (and its alias ``mono16``) in
millimetres, ``32FC1`` in metres. A pixel of 0, NaN, +-inf or a negative value has no
depth; the decoders keep such values (the measurement counts them per kind).

``DepthStore`` keeps the newest ``capacity`` frames by stamp (integer ns) and answers
``match(stamp_ns)`` with the frame nearest to the stamp of the answer's *source colour
frame*, within a tolerance; never the newest by arrival. A frame that could not be
decoded is kept too (with its error), so an answer on its stamp says why it has no 3D.

Nothing here uses ROS: stamps are integer nanoseconds, frame ids plain strings.
"""

import bisect
import dataclasses
import struct
import threading
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from sam_ros.core.errors import SamError

__all__ = [
    'DEPTH_ENCODINGS',
    'DepthError',
    'DepthFrame',
    'DepthMatch',
    'DepthStore',
    'decode_compressed_depth',
    'decode_depth',
]

# encoding -> (numpy dtype of one pixel, metres per unit)
DEPTH_ENCODINGS = {'16uc1': (np.uint16, 0.001), 'mono16': (np.uint16, 0.001),
                   '32fc1': (np.float32, 1.0)}

OK = 'ok'
NONE = 'none'
NO_MATCH = 'no_match'
BAD_DEPTH = 'bad_depth'

_COMPRESSED_HEADER = struct.Struct('<iff')   # compressionFormat, depthQuantA, depthQuantB


class DepthError(SamError):
    """A depth image cannot be used: encoding, size, data length or intrinsics."""


@dataclasses.dataclass(frozen=True, eq=False)
class DepthFrame:
    """
    One received depth frame.

    ``depth``: (H, W) native-endian uint16 (units of ``scale`` metres) or float32
    (``scale`` 1.0), None when the message could not be decoded (then ``error`` says
    why). ``frame_id``: the optical frame of the depth image.
    """

    stamp_ns: int
    frame_id: str
    depth: Optional[np.ndarray] = None
    scale: float = 1.0
    error: Optional[str] = None

    @property
    def shape(self) -> Tuple[int, int]:
        """Return (H, W); (0, 0) for a frame that could not be decoded."""
        return (0, 0) if self.depth is None else tuple(self.depth.shape)

    def metres(self, values: np.ndarray) -> np.ndarray:
        """Convert raw depth values (any shape) to float32 metres, invalid values kept."""
        out = values.astype(np.float32)
        if self.scale != 1.0:
            out *= np.float32(self.scale)
        return out


def decode_depth(encoding: str, height: int, width: int, step: int, is_bigendian: bool,
                 data) -> Tuple[np.ndarray, float]:
    """
    Return the (H, W) depth of a raw image buffer and its metres per unit.

    ``data``: bytes-like, ``step`` bytes per row (padding dropped). Returns a new
    native-endian uint16 (scale 0.001) or float32 (scale 1.0) array. Raises DepthError
    for an unknown encoding, no pixels, a step smaller than a row, or a data length
    other than ``step * height``.
    """
    key = encoding.strip().lower()
    if key not in DEPTH_ENCODINGS:
        raise DepthError(f'unsupported depth encoding {encoding!r}; publish 16UC1 '
                         '(millimetres) or 32FC1 (metres)')
    dtype, scale = DEPTH_ENCODINGS[key]
    height, width, step = int(height), int(width), int(step)
    if height <= 0 or width <= 0:
        raise DepthError(f'depth image has no pixels ({width} x {height})')
    row_bytes = width * np.dtype(dtype).itemsize
    if step < row_bytes:
        raise DepthError(f'{encoding} depth step {step} is smaller than width * bytes per '
                         f"pixel = {row_bytes}; fix the publisher's step")
    size = len(data)
    if size != step * height:
        raise DepthError(f'{encoding} depth data has {size} bytes, expected step * height '
                         f'= {step} * {height} = {step * height}')
    rows = np.frombuffer(data, dtype=np.uint8).reshape(height, step)[:, :row_bytes]
    order = '>' if is_bigendian else '<'
    pixels = np.ascontiguousarray(rows).view(np.dtype(dtype).newbyteorder(order))
    return pixels.astype(dtype, copy=True).reshape(height, width), scale


def decode_compressed_depth(fmt: str, data) -> Tuple[np.ndarray, float]:
    """
    Decode a ``compressedDepth`` (PNG) buffer of image_transport to (H, W) depth.

    ``fmt``: the message's format, e.g. '16UC1; compressedDepth png' or
    '32FC1; compressedDepth'. The buffer is a 12-byte header (format, depthQuantA,
    depthQuantB) and a 16-bit PNG: millimetres for 16UC1, quantised inverse depth for
    32FC1 (depth = depthQuantA / (value - depthQuantB), 0 = no depth). Returns uint16
    (scale 0.001) or float32 metres (scale 1.0). Raises DepthError when the format is
    not png compressedDepth or the buffer does not decode.
    """
    lowered = fmt.strip().lower()
    if 'compresseddepth' not in lowered:
        raise DepthError(f'format {fmt!r} is not compressedDepth; publish depth with '
                         'image_transport compressedDepth, or use depth_transport:=raw')
    if 'rvl' in lowered:
        raise DepthError(f'compressedDepth {fmt!r} uses RVL, which is not supported; set '
                         "the publisher's format parameter to png")
    encoding = lowered.split(';')[0].strip()
    if encoding not in ('16uc1', '32fc1'):
        raise DepthError(f'compressedDepth of {encoding!r} is not supported; publish 16UC1 '
                         'or 32FC1 depth')
    if len(data) <= _COMPRESSED_HEADER.size:
        raise DepthError(f'compressedDepth buffer has {len(data)} bytes: no image after the '
                         f'{_COMPRESSED_HEADER.size}-byte header')
    raw = bytes(data)
    _, quant_a, quant_b = _COMPRESSED_HEADER.unpack_from(raw)
    decoded = cv2.imdecode(np.frombuffer(raw, np.uint8, offset=_COMPRESSED_HEADER.size),
                           cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.ndim != 2 or decoded.dtype != np.uint16:
        raise DepthError(f'the compressedDepth image ({len(raw)} bytes) is not a one-channel '
                         '16-bit PNG; is it complete?')
    if encoding == '16uc1':
        return decoded, 0.001
    with np.errstate(divide='ignore'):
        metres = np.float32(quant_a) / (decoded.astype(np.float32) - np.float32(quant_b))
    metres[decoded == 0] = np.nan
    return metres, 1.0


@dataclasses.dataclass(frozen=True)
class DepthMatch:
    """
    The answer of ``DepthStore.match``.

    ``status``: 'ok', 'none' (no depth frame received), 'no_match' (none within the
    tolerance) or 'bad_depth' (the nearest frame could not be decoded). ``offset_ns``:
    depth stamp minus the asked stamp (0 when no frame was chosen).
    """

    status: str
    frame: Optional[DepthFrame] = None
    offset_ns: int = 0
    message: str = ''


class DepthStore:
    """Keep the newest depth frames by stamp and match them to colour frame stamps."""

    def __init__(self, capacity: int, tolerance_ns: int) -> None:
        """
        Create an empty store of at most ``capacity`` frames.

        ``tolerance_ns``: the largest |depth stamp - colour stamp| that still matches.
        Raises DepthError for a capacity < 1 or a negative tolerance.
        """
        if int(capacity) < 1:
            raise DepthError(f'a depth store holds at least one frame, got {capacity}')
        if int(tolerance_ns) < 0:
            raise DepthError(f'the depth sync tolerance must be >= 0, got {tolerance_ns} ns')
        self._capacity = int(capacity)
        self._tolerance_ns = int(tolerance_ns)
        self._lock = threading.Lock()
        self._stamps: List[int] = []
        self._frames: Dict[int, DepthFrame] = {}
        self._received = 0
        self._bad = 0

    @property
    def tolerance_ns(self) -> int:
        """Return the matching tolerance in ns."""
        return self._tolerance_ns

    def configure(self, tolerance_ns: int) -> None:
        """Change the matching tolerance (ns, >= 0)."""
        if int(tolerance_ns) < 0:
            raise DepthError(f'the depth sync tolerance must be >= 0, got {tolerance_ns} ns')
        with self._lock:
            self._tolerance_ns = int(tolerance_ns)

    def add(self, frame: DepthFrame) -> None:
        """Keep ``frame`` (decoded or bad); the oldest stamp goes when the store is full."""
        with self._lock:
            self._received += 1
            if frame.error is not None:
                self._bad += 1
            if frame.stamp_ns not in self._frames:
                bisect.insort(self._stamps, frame.stamp_ns)
            self._frames[frame.stamp_ns] = frame
            while len(self._stamps) > self._capacity:
                del self._frames[self._stamps.pop(0)]

    def match(self, stamp_ns: int) -> DepthMatch:
        """Return the frame nearest to ``stamp_ns`` (a colour frame's stamp, ns)."""
        with self._lock:
            if not self._stamps:
                return DepthMatch(NONE, message='no depth frame has been received')
            i = bisect.bisect_left(self._stamps, stamp_ns)
            candidates = self._stamps[max(0, i - 1):i + 1]
            nearest = min(candidates, key=lambda s: (abs(s - stamp_ns), -s))
            offset = nearest - stamp_ns
            tolerance = self._tolerance_ns
            newest, oldest = self._stamps[-1], self._stamps[0]
            frame = self._frames[nearest]
        if abs(offset) > tolerance:
            return DepthMatch(NO_MATCH, message=(
                f'no depth frame within depth_sync_tolerance {tolerance / 1e9:.3f} s of the '
                f'colour frame (nearest is {offset / 1e9:+.3f} s away; depth held for '
                f'{(oldest - stamp_ns) / 1e9:+.3f} .. {(newest - stamp_ns) / 1e9:+.3f} s)'))
        if frame.error is not None:
            return DepthMatch(BAD_DEPTH, frame, offset, f'the matched depth frame is bad: '
                              f'{frame.error}')
        return DepthMatch(OK, frame, offset)

    def stats(self) -> Dict[str, int]:
        """Return counters: frames received, bad frames, frames held."""
        with self._lock:
            return {'depth_frames': self._received, 'bad_depth_frames': self._bad,
                    'depth_held': len(self._stamps)}
