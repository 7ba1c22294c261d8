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
cv_bridge where it imports, the project's own image conversion where it does not.

On a ROS 2 install with ``cv_bridge`` (ros-<distro>-cv-bridge, declared in package.xml)
``sensor_msgs/Image`` pixels are read with ``CvBridge().imgmsg_to_cv2(msg,
'passthrough')``. Where it is missing (the PyPI-wheels setup: cv_bridge has no wheel)
``conversions.image_to_numpy`` reads them itself. Both give identical arrays for every
encoding the node takes (rgb8, bgr8, rgba8, bgra8, mono8, mono16 in either byte order,
with row padding); ``test/unit/test_bridge.py`` checks that where cv_bridge exists.
The message checks (encoding, sizes, step, data length) and the conversion to RGB stay
the project's in both cases, so the error text is the same.

Two kinds of message go to the own conversion even where cv_bridge imports, because
cv_bridge's Python ``imgmsg_to_cv2`` misreads them (checked against vision_opencv
rolling built from source, see docs/CONTRIBUTING.md): a ``step`` that is not a whole
number of pixels (it strides rows by ``step // pixel bytes`` pixels, so every row after
the first is shifted) and a byte order other than the machine's (it calls
``ndarray.newbyteorder``, which numpy 2 removed: AttributeError). ``handles`` says which.
"""

import sys
from typing import Optional

import numpy as np
from sam_ros.core.errors import ImageFormatError

try:
    from cv_bridge import CvBridge, CvBridgeError
except ImportError:     # no cv_bridge here: the project's conversion is used
    CvBridge = None
    CvBridgeError = Exception

__all__ = ['BACKEND', 'backend_note', 'handles', 'passthrough']

#: 'cv_bridge' where it imports, else 'sam_ros' (the project's own conversion).
BACKEND = 'cv_bridge' if CvBridge is not None else 'sam_ros'
_BRIDGE = CvBridge() if CvBridge is not None else None


def handles(msg, pixel_bytes: int) -> bool:
    """
    Say whether cv_bridge reads this checked ``sensor_msgs/Image`` correctly.

    ``pixel_bytes``: bytes of one pixel (channels * bytes per channel). False for a
    ``step`` that is not a multiple of it and for a byte order (``is_bigendian``) other
    than this machine's; the own conversion reads those. Pure: no cv_bridge needed.
    """
    native = bool(msg.is_bigendian) == (sys.byteorder == 'big')
    return native and int(msg.step) % int(pixel_bytes) == 0


def passthrough(msg) -> Optional[np.ndarray]:
    """
    Return the pixels of a checked ``sensor_msgs/Image`` via cv_bridge, or None without it.

    (H, W) or (H, W, C) in the message's encoding, native byte order. Any error of
    cv_bridge (a CvBridgeError or another exception from inside it) becomes an
    ImageFormatError, so that it drops the frame with a reason and never ends the node.
    """
    if _BRIDGE is None:
        return None
    try:
        return np.asarray(_BRIDGE.imgmsg_to_cv2(msg, desired_encoding='passthrough'))
    except CvBridgeError as exc:
        raise ImageFormatError(f'cv_bridge could not read the {msg.encoding} image: '
                               f'{exc}') from None
    except Exception as exc:  # noqa: B902 - a defect inside cv_bridge must not end the node
        raise ImageFormatError(f'cv_bridge failed on the {msg.encoding} image '
                               f'({type(exc).__name__}: {exc})') from None


def backend_note() -> str:
    """Say, in one line for the start log, which conversion reads the images."""
    if _BRIDGE is not None:
        return 'images are read with cv_bridge'
    return ('cv_bridge is not importable: images are read by the own conversion of sam_ros '
            '(the same arrays; install ros-<distro>-cv-bridge to use cv_bridge)')
