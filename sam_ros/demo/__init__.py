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
The sam_ros demo: ``python -m sam_ros.demo`` (``./scripts/demo.sh``).

* ``scenes``: the synthetic world with an object that moves now and then (no ROS).
* ``camera``: the demo camera node (image + camera_info, ground truth kept by stamp).
* ``client``: a client node that talks to the sam node through its documented topics.
* ``script``: the scripted prompts, their printed answers and figures.
* ``figures``: the PNG figures (OpenCV, no ROS).
* ``run`` / ``__main__``: the node process, the executor, the command line.
* ``benchmark_node``: the end-to-end benchmark (``python -m sam_ros.demo.benchmark_node``).

Importing this package loads nothing else. It needs the built messages, i.e. the
colcon install space (``source .bootstrap/env.sh``).
"""
