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
The rclpy layer of sam_ros: a thin node over the ROS-free engine.

* ``config``: every parameter, declared in one place, read into a frozen ``NodeConfig``.
* ``conversions``: Image / CompressedImage / masks / prompts / results <-> numpy.
* ``frames``: encode policy, encoder thread and embedding cache lookups (no ROS).
* ``sam_node``: ``SamNode``, the Node subclass.
* ``projection``: RViz /clicked_point -> pixel (camera_info, tf2 when importable).
* ``overlay``: the overlay image.
* ``main``: the entry point (``ros2 run sam_ros sam_node``).

Importing this package loads nothing; the names below are imported on first use.
It needs the built messages (``sam_ros.msg``), i.e. the colcon install space.
"""

import importlib

__all__ = ['NodeConfig', 'SamNode', 'main']

_LAZY = {'NodeConfig': 'sam_ros.node.config', 'SamNode': 'sam_ros.node.sam_node',
         'main': 'sam_ros.node.main'}


def __getattr__(name: str):
    """Import ``NodeConfig``, ``SamNode`` and ``main`` on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
