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
Check the package manifest and the build files that must agree with it.

package.xml must be well-formed format 3 with the name sam_ros, the Apache-2.0 license,
the ament_cmake build type, membership of rosidl_interface_packages and the key run and
test dependencies (rosdep keys). This always runs; ament_xmllint's schema check
(test_xmllint.py) needs a ROS 2 install.
"""

from pathlib import Path
import re
from typing import Set
import xml.etree.ElementTree as ElementTree

import pytest

pytestmark = pytest.mark.lint

RUN_DEPENDS = {
    'rclpy', 'std_msgs', 'sensor_msgs', 'geometry_msgs', 'diagnostic_msgs',
    'builtin_interfaces', 'rosidl_default_runtime', 'cv_bridge', 'tf2_ros', 'launch',
    'launch_ros', 'python3-numpy', 'python3-opencv', 'python3-torch',
}
TEST_DEPENDS = {
    'ament_flake8', 'ament_pep257', 'ament_copyright', 'ament_xmllint', 'launch_testing',
    'python3-pytest',
}
BUILD_DEPENDS = {'ament_cmake', 'rosidl_default_generators', 'std_msgs', 'sensor_msgs',
                 'geometry_msgs', 'builtin_interfaces'}


@pytest.fixture(scope='module')
def manifest(repo_root: Path) -> ElementTree.Element:
    return ElementTree.parse(repo_root / 'package.xml').getroot()


def _texts(root: ElementTree.Element, *tags: str) -> Set[str]:
    return {(e.text or '').strip() for tag in tags for e in root.findall(tag)}


def test_package_xml_is_format_3_named_sam_ros(manifest: ElementTree.Element) -> None:
    assert manifest.tag == 'package'
    assert manifest.get('format') == '3'
    assert manifest.findtext('name') == 'sam_ros'
    assert re.fullmatch(r'\d+\.\d+\.\d+', manifest.findtext('version', '').strip())
    assert _texts(manifest, 'license') == {'Apache-2.0'}
    maintainers = manifest.findall('maintainer')
    assert maintainers and all(m.get('email') for m in maintainers)
    assert manifest.findtext('export/build_type') == 'ament_cmake'
    assert 'rosidl_interface_packages' in _texts(manifest, 'member_of_group')


def test_package_xml_declares_the_key_dependencies(manifest: ElementTree.Element) -> None:
    run = _texts(manifest, 'depend', 'exec_depend')
    build = _texts(manifest, 'depend', 'build_depend', 'buildtool_depend')
    test = _texts(manifest, 'depend', 'test_depend')
    assert RUN_DEPENDS - run == set(), 'missing run dependencies'
    assert BUILD_DEPENDS - build == set(), 'missing build dependencies'
    assert TEST_DEPENDS - test == set(), 'missing test dependencies'


def test_package_xml_passes_catkin_pkg_validation(repo_root: Path) -> None:
    package = pytest.importorskip('catkin_pkg.package', reason='catkin_pkg is not installed')
    parsed = package.parse_package(str(repo_root / 'package.xml'))  # validates, or raises
    assert parsed.package_format == 3
    assert parsed.name == 'sam_ros'


def test_version_matches_sam_ros_dunder_version(manifest: ElementTree.Element) -> None:
    import sam_ros
    assert sam_ros.__version__ == manifest.findtext('version').strip()


def test_every_interface_file_is_generated_by_cmake(repo_root: Path) -> None:
    cmake = (repo_root / 'CMakeLists.txt').read_text(encoding='utf-8')
    listed = set(re.findall(r'"((?:msg|srv|action)/\w+\.(?:msg|srv|action))"', cmake))
    on_disk = {str(p.relative_to(repo_root))
               for folder in ('msg', 'srv', 'action')
               for p in (repo_root / folder).glob('*.' + folder)}
    assert on_disk, 'no interface files found: the check would check nothing'
    assert on_disk - listed == set(), 'interface files missing from rosidl_generate_interfaces'
    assert listed - on_disk == set(), 'rosidl_generate_interfaces names missing files'
