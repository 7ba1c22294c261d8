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
The node's exit codes and what they mean, for ``main.py`` and the launch file.

0 after a clean shutdown (SIGINT/SIGTERM), 1 when the model cannot be loaded, 2 for a
bad parameter. Kept free of rclpy so the launch file (which runs in ``ros2 launch``'s
process) can import it.
"""

import signal

__all__ = ['EXIT_CONFIG', 'EXIT_MODEL', 'EXIT_OK', 'describe_exit']

EXIT_OK = 0
EXIT_MODEL = 1
EXIT_CONFIG = 2

_MEANINGS = {
    EXIT_OK: 'shut down cleanly',
    EXIT_MODEL: 'cannot load the model (missing or corrupt checkpoint, unusable device)',
    EXIT_CONFIG: 'bad configuration (a parameter value)',
}


def describe_exit(returncode: int) -> str:
    """Say what exit status ``returncode`` of the node means (negative: killed by a signal)."""
    if returncode in _MEANINGS:
        return f'exit code {returncode}: {_MEANINGS[returncode]}'
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f'signal {-returncode}'
        return f'killed by {name}'
    return f'exit code {returncode}: it crashed; see the traceback above'
