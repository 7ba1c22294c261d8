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
Docs and code state facts, not pointers a user cannot follow.

No file of the package, the tests, the docs or the scripts cites a tracker issue by
its number, a notes file that is not in the repository (the "sam facts" notes), or an
absolute path of the development machine (under its work folder): say the fact itself.
"""

from pathlib import Path
import re
import subprocess
from typing import List

import pytest

pytestmark = pytest.mark.lint

_CHECKED = ('sam_ros', 'test', 'docs', 'scripts', 'launch', 'config', 'msg', 'srv', 'README.md',
            'setup.py', 'package.xml', 'CMakeLists.txt', 'pyproject.toml', 'setup.cfg')
_SUFFIXES = {'.py', '.md', '.sh', '.yaml', '.xml', '.txt', '.cfg', '.toml', ''}
# Written with a character class so that this file does not cite them itself.
_CITATIONS = re.compile(r'\b[i]ssue\s+#?\d+|[s]am_facts\.md|(?<![\w.])/[w]ork/',
                        re.IGNORECASE)


def _tracked(repo_root: Path) -> List[Path]:
    listed = subprocess.run(['git', 'ls-files', '-z', '--', *_CHECKED], cwd=repo_root,
                            capture_output=True, check=True).stdout.decode().split('\0')
    return [repo_root / name for name in listed
            if name and Path(name).suffix in _SUFFIXES and (repo_root / name).is_file()]


def test_no_file_cites_an_issue_number_a_missing_notes_file_or_a_machine_path(
        repo_root: Path):
    hits = []
    for path in _tracked(repo_root):
        try:
            text = path.read_text(encoding='utf-8')
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if _CITATIONS.search(line):
                hits.append(f'{path.relative_to(repo_root)}:{number}: {line.strip()}')
    assert hits == [], 'state the fact instead of citing it:\n' + '\n'.join(hits)
