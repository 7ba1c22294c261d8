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
Fixtures of the lint tier: which files are ours to check.

The checked Python sources are the package (sam_ros/), the tests (test/), launch files
(launch/), tools (tools/, where present), setup.py and the Python launchers in scripts/.
Generated and third-party code (build/, install/, log/, .venv/) is never checked.
"""

from pathlib import Path
from typing import List

import pytest

# Folders and files (relative to the repo root) holding our Python code.
_PYTHON_ROOTS = ('sam_ros', 'test', 'launch', 'tools', 'setup.py')


def _is_python_script(path: Path) -> bool:
    """Return True for an extension-less file whose shebang runs Python."""
    try:
        with path.open('rb') as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b'#!') and b'python' in first


@pytest.fixture(scope='session')
def python_paths(repo_root: Path) -> List[Path]:
    """Return the existing folders and files to hand to the linters."""
    paths = [repo_root / name for name in _PYTHON_ROOTS if (repo_root / name).exists()]
    scripts = repo_root / 'scripts'
    if scripts.is_dir():
        paths += sorted(p for p in scripts.iterdir()
                        if p.is_file() and (p.suffix == '.py' or
                                            (not p.suffix and _is_python_script(p))))
    return paths


@pytest.fixture(scope='session')
def python_files(python_paths: List[Path]) -> List[Path]:
    """Return every Python file below python_paths (no hidden or _private folders)."""
    files = []
    for path in python_paths:
        if path.is_file():
            files.append(path)
            continue
        for candidate in sorted(path.rglob('*.py')):
            parts = candidate.relative_to(path).parts[:-1]
            if any(part.startswith(('.', '_')) for part in parts):
                continue
            files.append(candidate)
    return files
