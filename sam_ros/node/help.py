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
``sam_node --help``: how to run the node without the ros2 CLI, and every parameter.

The text is made from ``config.PARAMETERS`` (the single source of truth), so it lists
exactly the node's parameters with their types, defaults, ranges or choices, and
whether they may change at runtime. Importing this module loads neither torch nor the
node.
"""

import textwrap
from typing import Sequence

from sam_ros.node.config import PARAMETERS
from sam_ros.node.exit_codes import describe_exit, EXIT_CONFIG, EXIT_MODEL, EXIT_OK

__all__ = ['help_text', 'wants_help']

_TYPES = {bool: 'bool', int: 'integer', float: 'double', str: 'string'}
_USAGE = """\
usage: sam_node [-h | --help] [--ros-args [-r FROM:=TO] [-p NAME:=VALUE]
                [--params-file FILE] [--log-level LEVEL] ...]

Segment Anything on a camera stream: subscribes to 'image' (and 'camera_info'), answers
prompts on ~/prompt, ~/point, ~/box, clicks and the ~/segment service with masks on
~/results, ~/mask and ~/overlay. Topics, services and statuses: docs/node.md.

Without the ros2 CLI, run the executable itself (it is what `ros2 run sam_ros sam_node`
starts), or the module:
  <install>/lib/sam_ros/sam_node --ros-args -r image:=/camera/image_raw \\
      -r camera_info:=/camera/camera_info -p model_type:=embedded
  python -m sam_ros.node.main --ros-args --params-file config/sam.yaml
ROS arguments: -r FROM:=TO remaps a topic ('image', 'camera_info') or the node name
(-r __node:=sam2), -r __ns:=/robot1 sets the namespace, -p NAME:=VALUE sets a parameter
(write doubles with a decimal point: 1.0, not 1), --params-file FILE reads a YAML file.
QoS of image, camera_info, ~/prompt, ~/point, ~/box: the standard read-only
qos_overrides.<topic>.subscription.{reliability,history,depth} parameters.

sam_lifecycle_node (the same node, managed) starts unconfigured: configure loads the
model, activate creates the topics (ros2 lifecycle set /sam configure; docs/node.md).
"""


def wants_help(argv: Sequence[str]) -> bool:
    """Return True when ``argv`` (program name first) asks for help before ``--ros-args``."""
    for arg in list(argv)[1:]:
        if arg == '--ros-args':
            return False
        if arg in ('-h', '--help'):
            return True
    return False


def help_text(width: int = 88) -> str:
    """Return the help text: usage, how to run without the CLI, parameters, exit codes."""
    lines = [_USAGE, 'parameters (-p NAME:=VALUE; "runtime" ones also with ros2 param set):']
    for name, spec in PARAMETERS.items():
        kind = _TYPES.get(type(spec.default), type(spec.default).__name__)
        default = spec.default
        shown = ("''" if default == '' else str(default).lower() if isinstance(default, bool)
                 else str(default))
        facts = [kind, f'default {shown}', 'runtime' if spec.dynamic else 'start only']
        if spec.choices:
            facts.append('one of: ' + ', '.join(spec.choices))
        elif spec.low is not None:
            facts.append(f'range [{spec.low}, {spec.high}]')
        lines.append(f'  {name} ({"; ".join(facts)})')
        lines.extend(textwrap.wrap(spec.description, width, initial_indent=' ' * 6,
                                   subsequent_indent=' ' * 6))
    lines.append('')
    lines.append('exit codes:')
    for code in (EXIT_OK, EXIT_MODEL, EXIT_CONFIG):
        lines.append(f'  {describe_exit(code)}')
    return '\n'.join(lines) + '\n'
