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


"""The pinned test runner works beside a real ROS 2 install's launch_testing."""

from pathlib import Path
import re

import pytest

pytestmark = pytest.mark.lint


def test_the_pinned_pytest_can_load_launch_testings_plugin(repo_root: Path):
    # launch_testing 3.7 registers pytest_pycollect_makemodule(path, parent); pytest 9
    # removed the `path` argument and refuses to start with the plugin installed.
    for name in ('test.txt', 'constraints.txt'):
        text = (repo_root / 'requirements' / name).read_text(encoding='utf-8')
        pins = re.findall(r'^pytest==(\d+)\.(\d+)(?:\.\d+)?\s*$', text, re.MULTILINE)
        assert len(pins) == 1, f'requirements/{name} pins pytest {len(pins)} times'
        assert (8, 4) <= tuple(int(v) for v in pins[0]) < (9, 0), f'requirements/{name}'
    import pytest as running
    assert int(running.__version__.split('.')[0]) < 9
