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


"""Checks of compressed images before a decoder sees them (no ROS types)."""

from sam_ros.core.errors import ImageFormatError

__all__ = ['check_complete']

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND\xaeB`\x82'
_JPEG_START, _JPEG_END = b'\xff\xd8', b'\xff\xd9'
_TAIL = 64


def check_complete(data: bytes, fmt: str) -> None:
    """
    Refuse a png or jpeg that ends before its end marker, before the decoder sees it.

    libpng and libjpeg print their own complaints about a truncated file straight to
    stderr ("libpng error: ..."), outside the ROS log; the node's one throttled line is
    the message instead.
    """
    tail = data[-_TAIL:]
    if data.startswith(_PNG_SIGNATURE) and _PNG_END not in tail:
        raise ImageFormatError(f'the {fmt or "png"} image ({len(data)} bytes) is truncated: '
                               'its png IEND chunk is missing')
    if data.startswith(_JPEG_START) and _JPEG_END not in tail:
        raise ImageFormatError(f'the {fmt or "jpeg"} image ({len(data)} bytes) is truncated: '
                               'its jpeg end-of-image marker is missing')
