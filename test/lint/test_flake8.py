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

"""Check our Python code with ament_flake8 (99 columns, single quotes, import order)."""

import os
from pathlib import Path
from typing import List

from ament_flake8.main import main_with_errors
import pytest

pytestmark = pytest.mark.lint


def test_flake8_finds_no_errors(
        repo_root: Path, python_paths: List[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # ament_flake8 honours AMENT_IGNORE files below the current directory.
    monkeypatch.chdir(repo_root)
    argv = [os.path.relpath(p, repo_root) for p in python_paths]
    rc, errors = main_with_errors(argv=argv)
    assert rc == 0, 'Found %d code style errors / warnings:\n' % len(errors) + '\n'.join(errors)
