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
Suite-wide pytest setup: ROS isolation defaults, the repo root, and a report header.

Node fixtures live in test/node/conftest.py. Nothing here imports rclpy or torch.
"""

import importlib.util
import os
from pathlib import Path
import random
from typing import List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Isolate ROS traffic when pytest runs without scripts/test.sh."""
    # scripts/test.sh sets both; these are the fallbacks for a bare `pytest`.
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    if not os.environ.get('ROS_DOMAIN_ID'):
        os.environ['ROS_DOMAIN_ID'] = str(random.randint(1, 101))


def _sam_ros_origin() -> str:
    """Describe which sam_ros the tests import and whether it has the messages."""
    spec = importlib.util.find_spec('sam_ros')
    if spec is None or spec.origin is None:
        return 'sam_ros: NOT importable (run ./scripts/test.sh)'
    where = str(Path(spec.origin).parent)
    has_msg = importlib.util.find_spec('sam_ros.msg') is not None
    text = 'sam_ros: %s (messages: %s)' % (where, 'yes' if has_msg else 'NO')
    if Path(where).resolve() == (REPO_ROOT / 'sam_ros').resolve() and not has_msg:
        text += ' <- the source tree, not the install space; run ./scripts/test.sh'
    return text


def pytest_report_header(config: pytest.Config) -> List[str]:
    """Show the imported sam_ros and the ROS isolation settings in the header."""
    return [
        _sam_ros_origin(),
        'ROS_DOMAIN_ID=%s ROS_AUTOMATIC_DISCOVERY_RANGE=%s' % (
            os.environ.get('ROS_DOMAIN_ID'), os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE')),
    ]


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """Return the root of the source checkout (where package.xml lives)."""
    return REPO_ROOT
