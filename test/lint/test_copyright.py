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
Check copyright and license notices with ament_copyright.

ament_copyright is not on PyPI, so this test skips in the PyPI-wheels setup; it runs on
a ROS 2 install (ros-<distro>-ament-copyright). test_license_headers.py is our own,
separate rule and always runs.
"""

import os
from pathlib import Path
from typing import List

import pytest

pytestmark = pytest.mark.lint


def test_copyright_notices_are_present(
        repo_root: Path, python_paths: List[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    copyright_main = pytest.importorskip(
        'ament_copyright.main',
        reason='ament_copyright is not installed (it is not on PyPI; install '
               'ros-<distro>-ament-copyright with ROS 2)').main
    monkeypatch.chdir(repo_root)
    argv = [os.path.relpath(p, repo_root) for p in python_paths]
    if (repo_root / 'scripts').is_dir():
        argv.append('scripts')
    rc = copyright_main(argv=sorted(set(argv)))
    assert rc == 0, 'Found errors (listed in the captured stdout)'
