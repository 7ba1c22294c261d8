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
The GPU check's node section in its CPU dry run, over real DDS (tier 3).

``python -m sam_ros.tools.gpu_check --device cpu --quick`` with only the node section:
the real node process, changing frames at 30 Hz, prompts on the latest frame and on
every frame; every prompt must get an OK answer and the node must stop cleanly.
"""

import os
from pathlib import Path
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.node, pytest.mark.slow]

_BUDGET_S = 300     # a hang guard: node start on a busy 2-core machine plus 2 x 2 s phases


def test_node_section_dry_run_answers_every_prompt_and_stops_cleanly(
        tmp_path, domain_id, helpers):
    helpers.require_embedded_model()
    out = tmp_path / 'report.md'
    command = [sys.executable, '-P', '-m', 'sam_ros.tools.gpu_check', '--device', 'cpu',
               '--quick', '--skip', 'parity', 'engine', 'variants', '--out', str(out)]
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', PYTHONUNBUFFERED='1')
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=_BUDGET_S)
    text = Path(out).read_text(encoding='utf-8')
    assert proc.returncode == 0, text[-4000:] + proc.stderr[-2000:]
    assert '## Failures\n\nNone.' in text
    assert 'Node exit code: 0.' in text
    rows = [[c.strip() for c in line.strip('|').split('|')] for line in text.splitlines()
            if line.startswith(('| latest frame', '| every frame'))]
    assert len(rows) == 2, text
    for row in rows:
        prompts, ok = int(row[1]), row[2]
        assert prompts > 0 and ok == str(prompts), row     # no other status
        assert float(row[3]) > 0.0, row
        assert int(row[7]) > 0, row     # the changing frames were encoded
    every_frame = rows[1]
    assert int(every_frame[6]) >= int(every_frame[1]), every_frame   # one frame per prompt
    assert 'model embedded (committed weights) on cpu' in text   # from the node's log
