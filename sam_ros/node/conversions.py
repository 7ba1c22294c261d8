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
Conversions between ROS messages and numpy, in one place.

Images: ``sensor_msgs/Image`` (rgb8, bgr8, rgba8, bgra8, mono8, mono16, with row
padding and either byte order) and ``sensor_msgs/CompressedImage`` (jpeg, png) to
an (H, W, 3) uint8 RGB array, and back. Masks: (H, W) bool to mono8 (255 inside).
Prompts: ``SegmentPrompt`` to the engine's arrays, and the node's other prompt
inputs (pixel point, two-corner polygon, rqt click) to ``SegmentPrompt``.
Results: the engine's ``Prediction`` to ``SegmentResult``.

Coordinates are pixels of the source image: x right, y down; boxes are XYXY.
Bad input raises ``ImageFormatError`` or ``PromptError`` with a message that says
what to fix.
"""

import array
from typing import NamedTuple, Optional, Sequence

from builtin_interfaces.msg import Time
import cv2
from geometry_msgs.msg import Point, PointStamped, PolygonStamped
import numpy as np
from sam_ros.core.errors import ImageFormatError, PromptError
from sam_ros.msg import SegmentMask, SegmentPrompt, SegmentResult
from sam_ros.node import bridge
from sam_ros.node.compressed import check_complete
from sensor_msgs.msg import CompressedImage, Image, RegionOfInterest
from std_msgs.msg import Header

__all__ = [
    'BOX_CLIP_NOTE',
    'ENCODINGS',
    'PromptArrays',
    'box_prompt',
    'click_prompt',
    'compressed_to_rgb',
    'error_result',
    'image_to_numpy',
    'image_to_rgb',
    'kept_indices',
    'mask_to_image',
    'numpy_to_image',
    'ns_to_stamp',
    'point_prompt',
    'prediction_to_result',
    'prompt_to_arrays',
    'rgb_to_image',
    'stamp_to_ns',
]

# encoding -> (channels, numpy dtype of one channel)
ENCODINGS = {
    'rgb8': (3, np.uint8), 'bgr8': (3, np.uint8), 'rgba8': (4, np.uint8),
    'bgra8': (4, np.uint8), 'mono8': (1, np.uint8), 'mono16': (1, np.uint16),
}
_LEVELS = {'subpart': SegmentMask.LEVEL_SUBPART, 'part': SegmentMask.LEVEL_PART,
           'whole': SegmentMask.LEVEL_WHOLE, 'single': SegmentMask.LEVEL_SINGLE}
_MODES = {SegmentPrompt.MODE_AUTO: 'auto', SegmentPrompt.MODE_MULTI: 'multi',
          SegmentPrompt.MODE_SINGLE: 'single'}
_MODE_IDS = {'multi': SegmentPrompt.MODE_MULTI, 'single': SegmentPrompt.MODE_SINGLE}
#: A box whose clipped-off part exceeds this fraction of its area is noted in the message.
BOX_CLIP_NOTE = 0.1


def stamp_to_ns(stamp: Time) -> int:
    """Return a ``builtin_interfaces/Time`` as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    """Return integer nanoseconds as ``builtin_interfaces/Time``."""
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


def _bytes_array(data: np.ndarray) -> array.array:
    out = array.array('B')
    out.frombytes(np.ascontiguousarray(data).tobytes())
    return out


# ---------------------------------------------------------------------------- images

def image_to_numpy(msg: Image, use_cv_bridge: bool = True) -> np.ndarray:
    """
    Return the pixels of ``msg`` as (H, W) or (H, W, C) in the message's own encoding.

    uint8 for the 8-bit encodings, native-endian uint16 for mono16. Checks the
    encoding, sizes, ``step`` (row padding is dropped) and the data length. Read with
    cv_bridge where it imports (and ``use_cv_bridge``) and reads the message correctly
    (``bridge.handles``), else by the project's own code; both give the same array (see
    ``sam_ros.node.bridge``).
    """
    encoding = msg.encoding.strip().lower()
    if encoding not in ENCODINGS:
        raise ImageFormatError(
            f'unsupported image encoding {msg.encoding!r}; publish one of '
            f'{", ".join(ENCODINGS)} (or set image_transport:=compressed for jpeg/png)')
    channels, dtype = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ImageFormatError(f'image has no pixels ({width} x {height})')
    row_bytes = width * channels * np.dtype(dtype).itemsize
    if step < row_bytes:
        raise ImageFormatError(
            f'{encoding} image step {step} is smaller than width * bytes per pixel '
            f"= {row_bytes}; fix the publisher's step")
    if len(msg.data) != step * height:
        raise ImageFormatError(
            f'{encoding} image data has {len(msg.data)} bytes, expected step * height = '
            f'{step} * {height} = {step * height}')
    if (use_cv_bridge and msg.encoding == encoding
            and bridge.handles(msg, channels * np.dtype(dtype).itemsize)):
        bridged = bridge.passthrough(msg)   # None where cv_bridge does not import
        if bridged is not None:
            return bridged
    return _own_numpy(msg, height, width, step, channels, dtype)


def _own_numpy(msg: Image, height: int, width: int, step: int, channels: int,
               dtype: type) -> np.ndarray:
    """Read the checked pixels of ``msg`` without cv_bridge (see ``image_to_numpy``)."""
    row_bytes = width * channels * np.dtype(dtype).itemsize
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(height, step)[:, :row_bytes]
    if dtype == np.uint16:
        order = '>' if msg.is_bigendian else '<'
        pixels = rows.copy().view(np.dtype(np.uint16).newbyteorder(order))
        pixels = pixels.astype(np.uint16)  # native byte order
    else:
        pixels = rows
    if channels == 1:
        return pixels.reshape(height, width)
    return pixels.reshape(height, width, channels)


def image_to_rgb(msg: Image) -> np.ndarray:
    """
    Return ``msg`` as an (H, W, 3) uint8 RGB array (a new array).

    mono8 is replicated to three channels; mono16 is stretched linearly from its
    frame minimum..maximum to 0..255; alpha is dropped.
    """
    pixels = image_to_numpy(msg)
    return _to_rgb(pixels, msg.encoding.strip().lower())


def _to_rgb(pixels: np.ndarray, encoding: str) -> np.ndarray:
    if encoding == 'rgb8':
        return np.ascontiguousarray(pixels)
    if encoding == 'bgr8':
        return np.ascontiguousarray(pixels[..., ::-1])
    if encoding == 'rgba8':
        return np.ascontiguousarray(pixels[..., :3])
    if encoding == 'bgra8':
        return np.ascontiguousarray(pixels[..., 2::-1])
    if encoding == 'mono16':
        pixels = _stretch_to_uint8(pixels)
    return np.ascontiguousarray(np.repeat(pixels[..., None], 3, axis=2))


def _stretch_to_uint8(pixels: np.ndarray) -> np.ndarray:
    low, high = int(pixels.min()), int(pixels.max())
    if high == low:
        return np.zeros(pixels.shape, np.uint8)
    scaled = (pixels.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def compressed_to_rgb(msg: CompressedImage) -> np.ndarray:
    """
    Decode a jpeg or png ``CompressedImage`` to an (H, W, 3) uint8 RGB array.

    The format string of image_transport ('jpeg', 'png', 'rgb8; jpeg compressed
    bgr8', ...) is accepted; compressedDepth is not. 16-bit png is stretched like mono16.
    """
    fmt = msg.format.strip().lower()
    if 'compresseddepth' in fmt:
        raise ImageFormatError(f'compressedDepth images are not supported (format '
                               f'{msg.format!r}); publish jpeg or png')
    if fmt and 'jpeg' not in fmt and 'jpg' not in fmt and 'png' not in fmt:
        raise ImageFormatError(f'unsupported compressed format {msg.format!r}; publish '
                               'jpeg or png')
    if len(msg.data) == 0:
        raise ImageFormatError('compressed image has no data')
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    check_complete(buffer.tobytes(), msg.format)
    decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        raise ImageFormatError(f'could not decode the {msg.format or "compressed"} image '
                               f'({len(msg.data)} bytes); is it a complete jpeg or png?')
    if decoded.dtype == np.uint16:
        if decoded.ndim == 3:
            decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2GRAY if decoded.shape[2] == 4
                                   else cv2.COLOR_BGR2GRAY)
        return _to_rgb(decoded, 'mono16')
    if decoded.dtype != np.uint8:
        raise ImageFormatError(f'decoded image has dtype {decoded.dtype}; publish 8-bit jpeg '
                               'or 8/16-bit png')
    if decoded.ndim == 2:
        return _to_rgb(decoded, 'mono8')
    # OpenCV decodes colour to BGR(A), which is also what image_transport compresses.
    return _to_rgb(decoded, 'bgra8' if decoded.shape[2] == 4 else 'bgr8')


def numpy_to_image(pixels: np.ndarray, encoding: str,
                   header: Optional[Header] = None) -> Image:
    """
    Return an ``Image`` holding ``pixels`` in ``encoding`` (no padding, native byte order).

    ``pixels``: (H, W) for mono8/mono16, (H, W, 3|4) for the colour encodings, uint8
    or uint16 (mono16) in the channel order the encoding names.
    """
    if encoding not in ENCODINGS:
        raise ImageFormatError(f'unsupported encoding {encoding!r}; use one of '
                               f'{", ".join(ENCODINGS)}')
    channels, dtype = ENCODINGS[encoding]
    expected_ndim = 2 if channels == 1 else 3
    if (not isinstance(pixels, np.ndarray) or pixels.dtype != dtype
            or pixels.ndim != expected_ndim
            or (channels > 1 and pixels.shape[2] != channels)):
        raise ImageFormatError(
            f'{encoding} needs a {np.dtype(dtype).name} array of shape '
            f'{"(H, W)" if channels == 1 else f"(H, W, {channels})"}, got '
            f'{getattr(pixels, "dtype", type(pixels))} {getattr(pixels, "shape", "")}')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 1 if (dtype == np.uint16 and not np.little_endian) else 0
    msg.step = msg.width * channels * np.dtype(dtype).itemsize
    msg.data = _bytes_array(pixels)
    return msg


def rgb_to_image(rgb: np.ndarray, header: Optional[Header] = None) -> Image:
    """Return an (H, W, 3) uint8 RGB array as an rgb8 ``Image``."""
    return numpy_to_image(rgb, 'rgb8', header)


def mask_to_image(mask: np.ndarray, header: Optional[Header] = None) -> Image:
    """Return an (H, W) bool mask as a mono8 ``Image``: 255 inside, 0 outside."""
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        raise ImageFormatError(f'a mask is an (H, W) array, got {getattr(mask, "shape", mask)}')
    if mask.dtype != np.bool_:
        mask = mask != 0
    pixels = mask.astype(np.uint8)  # 0/1; far faster than np.where for a bool mask
    pixels *= np.uint8(255)
    return numpy_to_image(pixels, 'mono8', header)


# --------------------------------------------------------------------------- prompts

class PromptArrays(NamedTuple):
    """
    A ``SegmentPrompt`` as the engine's arguments.

    ``point_coords``: (N, 2) float32 pixel XY or None; ``point_labels``: (N,) int32
    or None; ``box``: (4,) float32 XYXY or None; ``mode``: 'auto' | 'multi' | 'single'.
    """

    point_coords: Optional[np.ndarray]
    point_labels: Optional[np.ndarray]
    box: Optional[np.ndarray]
    mode: str


def prompt_to_arrays(msg: SegmentPrompt) -> PromptArrays:
    """
    Convert a ``SegmentPrompt`` to engine arrays, checking what needs no image.

    Raises PromptError for a mismatch of points and labels, labels other than 0/1, no
    point and no box, non-finite coordinates, an inverted box or an unknown mode.
    Range checks against the image size are the engine's.
    """
    if msg.mode not in _MODES:
        raise PromptError(f'unknown mode {msg.mode}; use MODE_AUTO (0), MODE_MULTI (1) or '
                          'MODE_SINGLE (2)')
    points = list(msg.points)
    labels = list(msg.labels)
    if len(points) != len(labels):
        raise PromptError(f'{len(points)} points but {len(labels)} labels; give one label '
                          '(1 = foreground, 0 = background) per point')
    if not points and not msg.has_box:
        raise PromptError('the prompt has no point and no box; give at least one')
    coords = labels_array = box = None
    if points:
        coords = np.array([[p.x, p.y] for p in points], dtype=np.float32)
        if not np.all(np.isfinite(coords)):
            raise PromptError(f'point coordinates must be finite pixels, got '
                              f'{coords.tolist()}')
        labels_array = np.array(labels, dtype=np.int32)
        if not np.all((labels_array == 0) | (labels_array == 1)):
            raise PromptError(f'labels must be 1 (foreground) or 0 (background), got {labels}')
    if msg.has_box:
        box = np.array(list(msg.box), dtype=np.float32)
        if not np.all(np.isfinite(box)):
            raise PromptError(f'box must be finite pixels, got {box.tolist()}')
        if box[2] <= box[0] or box[3] <= box[1]:
            raise PromptError(f'box {box.tolist()} is inverted or empty; send XYXY with '
                              'x_min < x_max and y_min < y_max')
    return PromptArrays(coords, labels_array, box, _MODES[msg.mode])


def point_prompt(msg: PointStamped, prompt_id: str) -> SegmentPrompt:
    """Return a one-point foreground prompt (mode AUTO) from a pixel ``PointStamped``."""
    prompt = SegmentPrompt(header=msg.header, prompt_id=prompt_id)
    prompt.points = [Point(x=msg.point.x, y=msg.point.y)]
    prompt.labels = [1]
    prompt.mode = SegmentPrompt.MODE_AUTO
    return prompt


def box_prompt(msg: PolygonStamped, prompt_id: str) -> SegmentPrompt:
    """
    Return a box prompt from a ``PolygonStamped`` holding exactly two opposite corners.

    The corners may come in any order (a drag from bottom-right to top-left is fine).
    Raises PromptError when the polygon does not have exactly two points.
    """
    corners = list(msg.polygon.points)
    if len(corners) != 2:
        raise PromptError(f'a box polygon needs exactly two corners, got {len(corners)}')
    xs = sorted(float(c.x) for c in corners)
    ys = sorted(float(c.y) for c in corners)
    prompt = SegmentPrompt(header=msg.header, prompt_id=prompt_id)
    prompt.has_box = True
    prompt.box = [xs[0], ys[0], xs[1], ys[1]]
    prompt.mode = SegmentPrompt.MODE_AUTO
    return prompt


def click_prompt(msg: Point, prompt_id: str, frame_id: str = '') -> SegmentPrompt:
    """Return a one-point prompt on the latest frame (zero stamp) from an rqt click."""
    prompt = SegmentPrompt(prompt_id=prompt_id)
    prompt.header.frame_id = frame_id
    prompt.points = [Point(x=msg.x, y=msg.y)]
    prompt.labels = [1]
    prompt.mode = SegmentPrompt.MODE_AUTO
    return prompt


# --------------------------------------------------------------------------- results

def error_result(header: Header, prompt_id: str, status: int, message: str) -> SegmentResult:
    """Return a ``SegmentResult`` with an error ``status``, no masks and ``best_index`` -1."""
    return SegmentResult(header=header, prompt_id=prompt_id, status=status,
                         message=message, best_index=-1)


def _roi(box: Sequence[int], area: int) -> RegionOfInterest:
    if area == 0:
        return RegionOfInterest()
    x0, y0, x1, y1 = (int(v) for v in box)
    return RegionOfInterest(x_offset=x0, y_offset=y0, width=x1 - x0 + 1,
                            height=y1 - y0 + 1)


def kept_indices(ious: Sequence[float], min_iou: float) -> list:
    """Return the indices of the masks that pass ``min_iou`` (all when ``min_iou`` <= 0)."""
    if min_iou <= 0.0:
        return list(range(len(ious)))
    return [i for i in range(len(ious)) if float(ious[i]) >= min_iou]


def prediction_to_result(prediction, header: Header, prompt_id: str,
                         min_iou: float = 0.0) -> SegmentResult:
    """
    Return an OK (or FILTERED) ``SegmentResult`` for an engine ``Prediction``.

    Masks with a predicted IoU below ``min_iou`` are left out (``min_iou`` <= 0 keeps
    every mask, even one with a slightly negative prediction), the others keep their
    order (by area); ``best_index`` indexes the kept masks. A box clipped by more than
    ``BOX_CLIP_NOTE`` of its area says so in ``message``. Timing and reuse fields are
    left for the caller to fill in.
    """
    keep = kept_indices(prediction.iou, min_iou)
    result = SegmentResult(header=header, prompt_id=prompt_id,
                           mode=_MODE_IDS.get(prediction.mode, SegmentPrompt.MODE_SINGLE))
    if not keep:
        result.status = SegmentResult.STATUS_FILTERED
        result.message = (f'every mask was below min_iou {min_iou:.3f} (best predicted IoU '
                          f'{float(np.max(prediction.iou)):.3f})')
        result.best_index = -1
        return result
    result.status = SegmentResult.STATUS_OK
    for i in keep:
        area = int(prediction.areas[i])
        result.masks.append(SegmentMask(
            mask=mask_to_image(prediction.masks[i], header),
            predicted_iou=float(prediction.iou[i]),
            stability_score=float(prediction.stability[i]),
            level=_LEVELS[prediction.levels[i]],
            area=area,
            bbox=_roi(prediction.boxes[i], area)))
    best = max(range(len(keep)), key=lambda k: float(prediction.iou[keep[k]]))
    result.best_index = best
    clipped = float(getattr(prediction, 'box_clipped', 0.0))
    if clipped > BOX_CLIP_NOTE:
        result.message = (f'box clipped to the image: {clipped:.0%} of its area lay outside '
                          'the frame')
    return result
