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
Our own rule: every Python file starts with the Apache-2.0 header of CONTRIBUTING.md.

This is the project's rule, checked on its own: it is not a stand-in for ament_copyright
(test_copyright.py), which is not on PyPI. The header text is read from
docs/CONTRIBUTING.md, so the rule and its check cannot drift apart. Only the year may
differ (a year or a range of years). A shebang line may come first.
"""

from pathlib import Path
import re
from typing import List

import pytest

pytestmark = pytest.mark.lint

_YEAR = re.compile(r'\b20\d\d\b')


def _contributing_header(repo_root: Path) -> List[str]:
    """Return the header lines from the code block after 'starts with this header'."""
    text = (repo_root / 'docs' / 'CONTRIBUTING.md').read_text(encoding='utf-8')
    marker = text.index('starts with this header')
    block = re.search(r'```[^\n]*\n(.*?)\n\s*```', text[marker:], re.S)
    assert block is not None, 'no ``` block after "starts with this header" in CONTRIBUTING.md'
    return [line.strip() for line in block.group(1).splitlines()]


def _header_pattern(header: List[str]) -> List['re.Pattern[str]']:
    """Turn header lines into per-line patterns that accept any year or year range."""
    patterns = []
    for line in header:
        escaped = re.escape(line)
        escaped = _YEAR.sub(r'20\\d\\d(-20\\d\\d)?', escaped)
        patterns.append(re.compile('^' + escaped + '$'))
    return patterns


def _has_header(path: Path, patterns: List['re.Pattern[str]']) -> bool:
    lines = path.read_text(encoding='utf-8').splitlines()
    if lines and lines[0].startswith('#!'):
        lines = lines[1:]
    if len(lines) < len(patterns):
        return False
    return all(p.match(line.rstrip()) for p, line in zip(patterns, lines))


def test_contributing_md_states_an_apache_header(repo_root: Path) -> None:
    header = _contributing_header(repo_root)
    assert header[0].startswith('# Copyright ')
    assert any('Apache License, Version 2.0' in line for line in header)


def test_header_check_rejects_a_file_without_header(repo_root: Path, tmp_path: Path) -> None:
    patterns = _header_pattern(_contributing_header(repo_root))
    good = '\n'.join(_contributing_header(repo_root)).replace('2026', '2027-2028')
    (tmp_path / 'good.py').write_text('#!/usr/bin/env python3\n' + good + '\n\nx = 1\n')
    (tmp_path / 'bad.py').write_text('# Copyright 2026 Someone Else\n\nx = 1\n')
    assert _has_header(tmp_path / 'good.py', patterns)
    assert not _has_header(tmp_path / 'bad.py', patterns)


def test_every_python_file_has_the_license_header(
        repo_root: Path, python_files: List[Path]) -> None:
    patterns = _header_pattern(_contributing_header(repo_root))
    assert Path(__file__).resolve() in {p.resolve() for p in python_files}, \
        'the file list misses this very file: the check would check nothing'
    missing = [str(p.relative_to(repo_root)) for p in python_files
               if not _has_header(p, patterns)]
    assert not missing, (
        '%d Python file(s) lack the Apache-2.0 header of docs/CONTRIBUTING.md:\n  %s'
        % (len(missing), '\n  '.join(missing)))
