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
The demo camera: a node that publishes the moving synthetic world as a camera would.

It publishes ``image`` (``sensor_msgs/Image``, rgb8), ``depth`` (16UC1 millimetres,
registered to the image: the synthetic world's depth, ``sam_ros.synthetic.depth``) and
``camera_info`` (a pinhole camera without distortion, focal length 525 px at 640 x 480)
at ``rate`` Hz, stamped with the node clock, in the optical frame ``frame_id`` (x right,
y down, z forward); image and depth share each header.
Image QoS is the sensor-data profile (best effort, keep last 5), as camera drivers use,
or reliable (keep last 5).

It keeps the ground truth of its recent frames, so the demo client can click on an
object of the very frame it names by stamp and score the masks it gets back
(``view_for``).

Run it alone (``python -m sam_ros.demo.camera``) to feed a node you started yourself,
e.g. to try rqt_image_view clicks or RViz.
"""

from collections import OrderedDict
import sys
import threading
import time
from typing import List, Optional, Tuple

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sam_ros.demo.scenes import FrameKey, MovingWorld, View
from sam_ros.node.cloud import depth_to_image
from sam_ros.node.conversions import ns_to_stamp, rgb_to_image
from sam_ros.synthetic.depth import depth_from_levels
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

__all__ = ['DemoCamera', 'camera_info', 'main']

_HISTORY = 256           # frames whose key is remembered (25 s at 10 Hz)
_FOCAL_AT_640 = 525.0


def camera_info(width: int, height: int, frame_id: str) -> CameraInfo:
    """Return the demo's pinhole ``CameraInfo``: f = 525 px at 640 wide, centred, no distortion."""
    f = _FOCAL_AT_640 * width / 640.0
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    info = CameraInfo()
    info.header.frame_id = frame_id
    info.width, info.height = int(width), int(height)
    info.distortion_model = 'plumb_bob'
    info.d = [0.0] * 5
    info.k = [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


class DemoCamera(Node):
    """Publish ``image`` and ``camera_info`` of a ``MovingWorld`` at a fixed rate."""

    def __init__(self, world: Optional[MovingWorld] = None, rate: float = 10.0,
                 frame_id: str = 'camera_optical', reliable: bool = False,
                 node_name: str = 'camera', **kwargs) -> None:
        """
        Create the publishers and start the frame timer.

        ``world``: the scenes (default ``MovingWorld()``: 640 x 480, seed 0);
        ``rate``: frames per second; ``frame_id``: the optical frame of the headers;
        ``reliable``: publish with reliable QoS (keep last 5) instead of sensor data.
        Extra keyword arguments go to ``rclpy.node.Node`` (``namespace``, ``context``).
        """
        super().__init__(node_name, **kwargs)
        if rate <= 0:
            raise ValueError(f'rate must be > 0 frames per second, got {rate}')
        self.world = world or MovingWorld()
        self.frame_id = frame_id
        self._lock = threading.Lock()
        self._history: 'OrderedDict[int, Tuple[FrameKey, bool, int]]' = OrderedDict()
        self._frames = 0
        self._started = time.monotonic()
        self._last_key: Optional[FrameKey] = None
        self._last_msg: Optional[Image] = None
        self._last_depth: Optional[Image] = None
        self._info = camera_info(self.world.width, self.world.height, frame_id)
        qos = qos_profile_sensor_data
        if reliable:
            qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self._image_pub = self.create_publisher(Image, 'image', qos)
        self._info_pub = self.create_publisher(CameraInfo, 'camera_info', qos)
        self._depth_pub = self.create_publisher(Image, 'depth', qos)
        self.create_timer(1.0 / rate, self._tick)

    @property
    def info(self) -> CameraInfo:
        """Return the camera's ``CameraInfo`` (header not stamped)."""
        return self._info

    def elapsed(self) -> float:
        """Return the seconds since the camera started (the world's clock)."""
        return time.monotonic() - self._started

    def _tick(self) -> None:
        t = self.elapsed()
        key, moving = self.world.key_at(t)
        with self._lock:
            index = self._frames
            self._frames += 1
        noisy = self.world.noise > 0
        if noisy or key != self._last_key or self._last_msg is None:
            view = self.world.render(key, index, moving)
            if key != self._last_key or self._last_depth is None:
                self._last_depth = depth_to_image(self.depth_of(view))
            self._last_msg = rgb_to_image(view.image)
            self._last_key = key
        stamp_ns = self.get_clock().now().nanoseconds
        header = Header(stamp=ns_to_stamp(stamp_ns), frame_id=self.frame_id)
        msg = self._last_msg
        msg.header = header
        self._last_depth.header = header
        self._info.header = header
        with self._lock:
            self._history[stamp_ns] = (key, moving, index)
            while len(self._history) > _HISTORY:
                self._history.popitem(last=False)
        self._depth_pub.publish(self._last_depth)
        self._image_pub.publish(msg)
        self._info_pub.publish(self._info)

    def depth_of(self, view: View) -> np.ndarray:
        """Return the (H, W) float32 depth in metres that the camera publishes for ``view``."""
        return depth_from_levels(view.objects, self.world.height, self.world.width)[0]

    # ------------------------------------------------------------------ for the client

    def wait_subscribed(self, timeout: float) -> None:
        """Wait until someone subscribes to the image; raise TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while self._image_pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f'nobody subscribed to {self._image_pub.topic_name} within '
                                   f'{timeout:.0f} s')
            time.sleep(0.05)

    def frames_published(self) -> int:
        """Return the number of frames published so far."""
        with self._lock:
            return self._frames

    def latest(self) -> Optional[Tuple[int, FrameKey, bool]]:
        """Return (stamp_ns, key, moving) of the newest published frame, or None."""
        with self._lock:
            if not self._history:
                return None
            stamp_ns = next(reversed(self._history))
            key, moving, _ = self._history[stamp_ns]
            return stamp_ns, key, moving

    def stamps_of(self, key: FrameKey) -> List[int]:
        """Return the stamps (ns, oldest first) of remembered frames that show ``key``."""
        with self._lock:
            return [s for s, (k, _, _) in self._history.items() if k == key]

    def key_of(self, stamp_ns: int) -> Optional[Tuple[FrameKey, bool]]:
        """Return (key, moving) of the frame published with ``stamp_ns``, or None."""
        with self._lock:
            entry = self._history.get(int(stamp_ns))
        return None if entry is None else (entry[0], entry[1])

    def view_for(self, stamp_ns: int) -> Optional[View]:
        """Return the frame published with ``stamp_ns``, with its ground truth, or None."""
        with self._lock:
            entry = self._history.get(int(stamp_ns))
        if entry is None:
            return None
        key, moving, index = entry
        return self.world.render(key, index, moving)


def main(args: Optional[List[str]] = None) -> int:
    """Run the demo camera alone until Ctrl-C (ROS arguments: remaps, namespace)."""
    rclpy.init(args=args)
    node = None
    try:
        node = DemoCamera()
        node.get_logger().info(
            f'publishing {node.world.width}x{node.world.height} frames on '
            f'{node.resolve_topic_name("image")} and {node.resolve_topic_name("camera_info")}')
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
