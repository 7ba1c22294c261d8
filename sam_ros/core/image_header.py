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
Read an encoded image's size from its header, without decoding it.

``encoded_size(data)`` returns (width, height) in pixels for PNG (the IHDR chunk) and
JPEG (the first start-of-frame marker), or None when the data is neither or its header
is unreadable (the decoder then decides). Used to refuse oversized images before
spending the memory and time of a decode. Nothing here uses ROS.
"""

from typing import Optional, Tuple

__all__ = ['encoded_size']

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Start-of-frame markers carry the size; 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0..7, SOI, EOI.
_JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xDA)])
_MAX_JPEG_SEGMENTS = 4096


def encoded_size(data: bytes) -> Optional[Tuple[int, int]]:
    """Return (width, height) of PNG or JPEG ``data`` (bytes-like), or None if unknown."""
    head = bytes(data[:32])
    if head.startswith(_PNG_SIGNATURE) and head[12:16] == b'IHDR' and len(head) >= 24:
        return int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big')
    if head.startswith(b'\xff\xd8'):
        return _jpeg_size(memoryview(bytes(data)))
    return None


def _jpeg_size(data: memoryview) -> Optional[Tuple[int, int]]:
    i = 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        while i < len(data) and data[i] == 0xFF:
            i += 1                      # a marker, possibly after fill bytes
        if i >= len(data):
            return None
        marker = data[i]
        i += 1
        if marker in _JPEG_STANDALONE:
            continue
        if i + 2 > len(data):
            return None
        length = int.from_bytes(data[i:i + 2], 'big')
        if marker in _JPEG_SOF:
            if i + 7 > len(data):
                return None
            height = int.from_bytes(data[i + 3:i + 5], 'big')
            width = int.from_bytes(data[i + 5:i + 7], 'big')
            return width, height
        if marker == 0xDA or length < 2:
            return None                 # scan data before any frame header
        i += length
    return None
