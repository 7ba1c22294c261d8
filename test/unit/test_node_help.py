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


"""``sam_node --help`` prints a real help text, listing every parameter, and exits 0."""

from pathlib import Path
import subprocess

from ament_index_python.packages import get_package_prefix
from sam_ros.node.config import PARAMETERS
from sam_ros.node.help import help_text, wants_help


def test_help_is_asked_for_before_the_ros_arguments_only():
    assert wants_help(['sam_node', '--help']) and wants_help(['sam_node', '-h'])
    assert not wants_help(['sam_node'])
    assert not wants_help(['sam_node', '--ros-args', '-p', 'x:=--help'])


def test_the_help_lists_every_parameter_with_its_facts():
    text = help_text()
    for name, spec in PARAMETERS.items():
        line = next(row for row in text.splitlines() if row.startswith(f'  {name} ('))
        assert ('runtime' if spec.dynamic else 'start only') in line
        if spec.choices:
            assert 'one of: ' + ', '.join(spec.choices) in line
        if spec.low is not None:
            assert f'range [{spec.low}, {spec.high}]' in line
    assert 'min_iou (double; default 0.0; runtime; range [0.0, 1.0])' in text
    assert 'exit code 2: bad configuration' in text and '--ros-args' in text


def test_the_installed_executable_prints_it_and_exits_0():
    executable = Path(get_package_prefix('sam_ros')) / 'lib' / 'sam_ros' / 'sam_node'
    done = subprocess.run([str(executable), '--help'], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == help_text() and done.stderr == ''
