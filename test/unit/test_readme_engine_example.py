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


"""The README's engine-without-ROS example runs as printed and loads no ROS."""

import contextlib
import io
from pathlib import Path
import re
import subprocess
import sys


def _section(readme: str, heading: str) -> str:
    start = readme.index(heading)
    end = readme.find('\n## ', start + len(heading))
    return readme[start:end if end > 0 else None]


def test_the_engine_example_runs_and_prints_three_masks(repo_root: Path):
    section = _section((repo_root / 'README.md').read_text(encoding='utf-8'),
                       '## The engine without ROS')
    assert '`pip install .`' in section
    code = re.search(r'```python\n(.*?)```', section, re.DOTALL).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 11
    assert 'sam_ros.node' not in code and 'rclpy' not in code
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, 'README example', 'exec'), {})   # noqa: S102 - the README's code
    lines = out.getvalue().splitlines()
    assert [line.split(':')[0] for line in lines] == ['subpart', 'part', 'whole']
    assert all(re.fullmatch(r'\w+: \d+ px, predicted IoU -?\d\.\d\d', line) for line in lines)


def test_the_engine_imports_without_ros():
    code = ('import sys, sam_ros.core; '
            'assert not [m for m in sys.modules if m.startswith(("rclpy", "sam_ros.node"))]')
    done = subprocess.run([sys.executable, '-P', '-c', code], capture_output=True, text=True,
                          timeout=120, cwd='/')
    assert done.returncode == 0, done.stderr
