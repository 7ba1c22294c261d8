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
The documented ``python -m`` commands work from the repository root.

There the source tree's ``sam_ros/`` comes first on ``sys.path`` and shadows the
installed package, which alone holds the generated ``sam_ros.msg`` / ``sam_ros.srv``.
"""

import subprocess
import sys

import pytest


@pytest.mark.parametrize('command', [
    ['-c', 'import sam_ros.msg, sam_ros.srv; from sam_ros.msg import SegmentPrompt'],
    ['-m', 'sam_ros.demo', '--help'],
    ['-m', 'sam_ros.demo.benchmark_node', '--help'],
    ['-m', 'sam_ros.node.main', '--help'],
])
def test_a_documented_command_runs_from_the_repository_root(repo_root, command):
    done = subprocess.run([sys.executable, *command], cwd=repo_root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'ModuleNotFoundError' not in done.stderr
