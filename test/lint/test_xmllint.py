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
Check package.xml (and other XML files) with ament_xmllint against their schemas.

ament_xmllint is not on PyPI, so this test skips in the PyPI-wheels setup; it runs on a
ROS 2 install (ros-<distro>-ament-xmllint). test_package_xml.py checks the manifest's
content independently and always runs.
"""

from pathlib import Path

import pytest

pytestmark = pytest.mark.lint


def test_xml_files_are_valid(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xmllint_main = pytest.importorskip(
        'ament_xmllint.main',
        reason='ament_xmllint is not installed (it is not on PyPI; install '
               'ros-<distro>-ament-xmllint with ROS 2)').main
    monkeypatch.chdir(repo_root)
    xml_files = ['package.xml']
    for folder in ('launch', 'config', 'rviz'):
        xml_files += [str(p.relative_to(repo_root))
                      for p in sorted((repo_root / folder).glob('*.xml'))]
    rc = xmllint_main(argv=xml_files)
    assert rc == 0, 'Found errors (listed in the captured stdout)'
