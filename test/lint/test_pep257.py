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
Check our docstrings with ament_pep257 (the ament convention of pydocstyle).

Note that the ament convention checks D213: a multi-line docstring starts its summary on
the line after the opening quotes. One-line docstrings stay on one line.
"""

import logging
import os
from pathlib import Path
from typing import List

from ament_pep257.main import main
import pytest

pytestmark = pytest.mark.lint


def test_pep257_finds_no_errors(
        repo_root: Path, python_paths: List[Path], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    # ament_pep257 logs one INFO line per file; keep the failure report to the errors.
    caplog.set_level(logging.WARNING, logger='pydocstyle.utils')
    monkeypatch.chdir(repo_root)
    argv = [os.path.relpath(p, repo_root) for p in python_paths]
    rc = main(argv=argv)
    assert rc == 0, 'Found code style errors / warnings (listed in the captured stdout / stderr)'
