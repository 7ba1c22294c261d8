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
Bounds on the work of one prompt and one frame, checked before any work is done.

Each bound is a parameter (``max_prompt_points``, ``max_prompt_id_length``,
``max_image_pixels``; see docs/node.md). ``prompt_limit_error`` and
``image_limit_error`` return a one-line reason when a bound is exceeded, else None;
the caller answers INVALID_PROMPT, or drops the frame so that prompts on it get
BAD_IMAGE. A compressed image's size is read from its PNG/JPEG header, before decoding.
"""

from typing import Optional, Union

from sam_ros.core.image_header import encoded_size
from sam_ros.msg import SegmentPrompt
from sam_ros.node.config import NodeConfig
from sensor_msgs.msg import CompressedImage, Image

__all__ = ['image_limit_error', 'prompt_limit_error']

# A compressed frame larger than this many bytes per allowed pixel cannot be an image the
# node would accept (raw RGBA is 4 bytes a pixel); its size is refused before decoding.
_COMPRESSED_BYTES_PER_PIXEL = 4
_RAW_BYTES_PER_PIXEL = 8        # rgba8 with row padding, mono16, ...


def prompt_limit_error(prompt: SegmentPrompt, cfg: NodeConfig) -> Optional[str]:
    """Return why ``prompt`` exceeds a bound (points, labels, id length), or None."""
    points, labels = len(prompt.points), len(prompt.labels)
    if points > cfg.max_prompt_points or labels > cfg.max_prompt_points:
        return (f'the prompt has {points} points and {labels} labels; at most '
                f'max_prompt_points = {cfg.max_prompt_points} are accepted (SAM is trained '
                'with a handful of points)')
    for name in ('prompt_id', 'refine_prompt_id'):
        length = len(getattr(prompt, name))
        if length > cfg.max_prompt_id_length:
            return (f'{name} has {length} characters; at most max_prompt_id_length = '
                    f'{cfg.max_prompt_id_length} are accepted')
    return None


def image_limit_error(msg: Union[Image, CompressedImage], cfg: NodeConfig) -> Optional[str]:
    """Return why the frame ``msg`` is too large to decode (max_image_pixels), or None."""
    limit = cfg.max_image_pixels
    data_bytes = len(msg.data)
    if isinstance(msg, Image):
        width, height = int(msg.width), int(msg.height)
        byte_limit = limit * _RAW_BYTES_PER_PIXEL
    else:
        size = encoded_size(msg.data)
        width, height = size if size is not None else (0, 0)
        byte_limit = limit * _COMPRESSED_BYTES_PER_PIXEL
    if width * height > limit:
        return (f'the image is {width} x {height} = {width * height} pixels; at most '
                f'max_image_pixels = {limit} are accepted (it was not decoded)')
    if data_bytes > byte_limit:
        return (f'the image data has {data_bytes} bytes, more than any image of at most '
                f'max_image_pixels = {limit} pixels needs (it was not decoded)')
    return None
