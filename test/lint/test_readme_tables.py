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
The README agrees with the code and docs/node.md; the RViz config is RViz2's format.

* The README starts with the two commands, and both scripts exist and are executable.
* Its parameter table lists exactly the parameters of ``sam_ros/node/config.py``, with
  the same defaults and the same runtime flag; config/sam.yaml has the same defaults.
* Its topic and service tables name exactly the topics and services of docs/node.md.
* ``rviz/sam.rviz`` is YAML with RViz2 (rviz_default_plugins) classes, showing the
  launch file's default image topic and the node's overlay, with Publish Point on the
  node's default clicked-point topic.
"""

import os
from pathlib import Path
import re
from typing import Dict, List

import pytest
import yaml

pytestmark = pytest.mark.lint


def _rows(text: str, heading: str) -> List[List[str]]:
    """Return the cells of the first Markdown table after ``heading``."""
    start = text.index(heading)
    rows, started = [], False
    for line in text[start:].splitlines()[1:]:
        if line.startswith('|'):
            started = True
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if not set(''.join(cells)) <= set('-: '):
                rows.append(cells)
        elif started:
            break
    return rows[1:]     # without the header row


def _name(cell: str) -> str:
    match = re.match(r'`([^`]+)`', cell)
    assert match, f'table cell {cell!r} does not start with a `name`'
    return match.group(1)


def _shown(value) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if value == '':
        return "''"
    return str(value)


@pytest.fixture(scope='module')
def readme(repo_root: Path) -> str:
    return (repo_root / 'README.md').read_text(encoding='utf-8')


def test_readme_starts_with_the_demo_and_test_commands(readme: str, repo_root: Path):
    first_block = readme.split('```bash', 1)[1].split('```', 1)[0]
    commands = [line.split('#')[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ['./scripts/demo.sh', './scripts/test.sh']
    assert readme.index('```bash') < readme.index('## ')
    for command in commands:
        script = repo_root / command
        assert script.is_file() and os.access(script, os.X_OK), f'{command} is not executable'


def test_readme_parameter_table_matches_the_declared_parameters(readme: str, repo_root: Path):
    from sam_ros.node.config import PARAMETERS
    table: Dict[str, List[str]] = {_name(r[0]): r for r in _rows(readme, '### Parameters')}
    assert sorted(table) == sorted(PARAMETERS), 'README parameters differ from config.py'
    for name, spec in PARAMETERS.items():
        assert table[name][1] == f'`{_shown(spec.default)}`', f'default of {name}'
        assert table[name][2] == ('yes' if spec.dynamic else 'no'), f'runtime flag of {name}'
    yaml_file = yaml.safe_load((repo_root / 'config' / 'sam.yaml').read_text())
    defaults = yaml_file['/**']['ros__parameters']
    assert {k: _shown(v) for k, v in defaults.items()} == {
        k: _shown(s.default) for k, s in PARAMETERS.items()}


def _interface_names(text: str, headings) -> List[str]:
    names = []
    for heading in headings:
        names += [_name(r[0]) for r in _rows(text, heading)]
    return sorted(names)


def test_readme_topic_and_service_tables_match_docs_node(readme: str, repo_root: Path):
    node_md = (repo_root / 'docs' / 'node.md').read_text(encoding='utf-8')
    headings = ('### Subscribed', '### Published', '### Service')
    ours = _interface_names(readme, headings)
    theirs = _interface_names(node_md, headings)
    # docs/node.md names the click topics by their parameter; the README by their default.
    aliases = {'<image>_mouse_left': 'click_topic', '/clicked_point': 'clicked_point_topic'}
    assert sorted(aliases.get(n, n) for n in ours) == theirs


def test_rviz_config_is_rviz2_yaml_with_the_sam_topics(repo_root: Path):
    config = yaml.safe_load((repo_root / 'rviz' / 'sam.rviz').read_text(encoding='utf-8'))
    manager = config['Visualization Manager']
    classes = [d['Class'] for d in manager['Displays']] + [t['Class'] for t in manager['Tools']]
    assert all(c.startswith(('rviz_default_plugins/', 'rviz_common/')) for c in classes)
    images = {d['Topic']['Value'] for d in manager['Displays']
              if d['Class'] in ('rviz_default_plugins/Image', 'rviz_default_plugins/Camera')}
    launch = (repo_root / 'launch' / 'sam.launch.py').read_text(encoding='utf-8')
    default_image = re.search(r"'image', default_value='([^']+)'", launch).group(1)
    assert {default_image, '/sam/overlay', '/sam/mask'} <= images
    from sam_ros.node.config import PARAMETERS
    tools = {t['Class']: t for t in manager['Tools']}
    publish_point = tools['rviz_default_plugins/PublishPoint']
    assert publish_point['Topic']['Value'] == PARAMETERS['clicked_point_topic'].default
