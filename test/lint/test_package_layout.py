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
Check the layout rules of CONTRIBUTING.md that a linter can see.

* Every folder of Python modules under sam_ros/ is a regular package (has __init__.py):
  setup.py's find_packages() silently drops folders without one.
* The ROS-free parts (core, synthetic, tools, training) import no rclpy, no message
  packages and not sam_ros.node / sam_ros.msg / sam_ros.srv.
* `import sam_ros` has no side effects: it loads neither torch nor rclpy.
"""

import ast
import os
from pathlib import Path
import subprocess
import sys
from typing import Iterator, List, Tuple

import pytest

pytestmark = pytest.mark.lint

ROS_FREE = ('core', 'synthetic', 'tools', 'training')
FORBIDDEN = ('rclpy', 'launch', 'launch_ros', 'launch_testing', 'cv_bridge', 'tf2_ros',
             'sam_ros.node', 'sam_ros.msg', 'sam_ros.srv')


def _imports(path: Path) -> Iterator[Tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding='utf-8'), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, node.module + '.' + alias.name


def _is_forbidden(module: str) -> bool:
    if module.endswith('_msgs') or '_msgs.' in module or module.endswith('_srvs'):
        return True
    return any(module == f or module.startswith(f + '.') for f in FORBIDDEN)


def test_every_module_folder_is_a_package(repo_root: Path) -> None:
    package_root = repo_root / 'sam_ros'
    missing = sorted(
        str(Path(d).relative_to(repo_root))
        for d, dirs, files in os.walk(package_root)
        if not any(part.startswith(('.', '_')) for part in Path(d).relative_to(repo_root).parts)
        and any(f.endswith('.py') for f in files) and '__init__.py' not in files)
    assert not missing, 'folders with modules but no __init__.py:\n  ' + '\n  '.join(missing)


def test_ros_free_parts_import_no_ros(repo_root: Path) -> None:
    checked: List[Path] = []
    offenders = []
    for part in ROS_FREE:
        for path in sorted((repo_root / 'sam_ros' / part).rglob('*.py')):
            checked.append(path)
            offenders += ['%s:%d imports %s' % (path.relative_to(repo_root), line, module)
                          for line, module in _imports(path) if _is_forbidden(module)]
    assert checked, 'no modules found in the ROS-free parts: the check would check nothing'
    assert not offenders, 'ROS imports in ROS-free code:\n  ' + '\n  '.join(offenders)


def test_forbidden_import_detector_flags_rclpy_and_messages() -> None:
    assert _is_forbidden('rclpy.node')
    assert _is_forbidden('sensor_msgs.msg')
    assert _is_forbidden('sam_ros.msg')
    assert not _is_forbidden('torch.nn')
    assert not _is_forbidden('sam_ros.core.errors')


def test_import_sam_ros_loads_neither_torch_nor_rclpy(tmp_path: Path) -> None:
    code = ('import sys, sam_ros; '
            'print(sorted(m for m in ("torch", "rclpy", "numpy") if m in sys.modules))')
    # cwd=tmp_path and -P: import the same sam_ros as the tests, never the source tree.
    out = subprocess.run([sys.executable, '-P', '-c', code], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == '[]'
