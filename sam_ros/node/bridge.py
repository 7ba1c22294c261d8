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
"""

from typing import Optional

import numpy as np
from sam_ros.core.errors import ImageFormatError

try:
    from cv_bridge import CvBridge, CvBridgeError
except ImportError:     # no cv_bridge here: the project's conversion is used
    CvBridge = None
    CvBridgeError = Exception

__all__ = ['BACKEND', 'backend_note', 'passthrough']

#: 'cv_bridge' where it imports, else 'sam_ros' (the project's own conversion).
BACKEND = 'cv_bridge' if CvBridge is not None else 'sam_ros'
_BRIDGE = CvBridge() if CvBridge is not None else None


def passthrough(msg) -> Optional[np.ndarray]:
    """
    Return the pixels of a checked ``sensor_msgs/Image`` via cv_bridge, or None without it.

    (H, W) or (H, W, C) in the message's encoding, native byte order. A cv_bridge error
    becomes an ImageFormatError.
    """
    if _BRIDGE is None:
        return None
    try:
        return np.asarray(_BRIDGE.imgmsg_to_cv2(msg, desired_encoding='passthrough'))
    except CvBridgeError as exc:
        raise ImageFormatError(f'cv_bridge could not read the {msg.encoding} image: '
                               f'{exc}') from None


def backend_note() -> str:
    """Say, in one line for the start log, which conversion reads the images."""
    if _BRIDGE is not None:
        return 'images are read with cv_bridge'
    return ('cv_bridge is not importable: images are read by the own conversion of sam_ros '
            '(the same arrays; install ros-<distro>-cv-bridge to use cv_bridge)')
