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
The demo runs headless end to end and draws its figures (tier 3).

``python -m sam_ros.demo`` starts the real node process, a synthetic camera and the
scripted client; it must end by itself with exit code 0 (every prompt got its expected
answer and the node stopped cleanly) and leave non-trivial PNG figures behind.
"""

import os
from pathlib import Path
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

pytestmark = [pytest.mark.node, pytest.mark.slow]

# A hang guard for a busy 2-core CI machine (model load, about 20 prompts, a few
# encodes); the demo usually needs well under a minute.
DEMO_BUDGET_S = 420
FIGURES = ('click_frame', 'three_masks', 'three_masks_2', 'box', 'refine', 'past_frame',
           'overlay', 'cloud')
RANDOM_WEIGHTS = os.environ.get('SAM_ROS_NODE_TEST_RANDOM_WEIGHTS') == '1'


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory, domain_id, helpers):
    helpers.require_embedded_model()
    folder = tmp_path_factory.mktemp('demo')
    command = [sys.executable, '-P', '-m', 'sam_ros.demo', '--output', str(folder / 'out')]
    if RANDOM_WEIGHTS:
        command.append('--random-weights')
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', PYTHONUNBUFFERED='1')
    try:
        proc = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                              timeout=DEMO_BUDGET_S)
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b'')
        output = output.decode(errors='replace') if isinstance(output, bytes) else output
        pytest.fail(f'the demo did not finish within {DEMO_BUDGET_S} s:\n{output[-4000:]}')
    return proc, folder / 'out'


def test_demo_exits_zero_after_every_scripted_prompt(demo_run):
    proc, _ = demo_run
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert '8 of 8 prompts got the expected answer' in proc.stdout, output[-6000:]
    # The node's and the demo's shutdown are clean.
    assert 'never retrieved' not in output and 'Traceback' not in output, output[-6000:]
    for step in ('click', 'click2', 'box', 'refine', 'rqt_click', 'rviz_point',
                 'past_frame'):
        assert any(line.split()[:2] == [step, 'OK'] for line in proc.stdout.splitlines()), step
    assert any(line.split()[:2] == ['stale', 'STALE_FRAME'] for line in proc.stdout.splitlines())


def test_demo_prints_levels_ious_best_index_reuse_and_latency(demo_run):
    proc, _ = demo_run
    text = proc.stdout
    for needle in ('mode MULTI | 3 mask(s)', 'mode SINGLE | 1 mask(s)', 'best index',
                   'embedding reused: yes', 'latency', 'predicted IoU', 'true IoU',
                   'subpart', 'part', 'whole'):
        assert needle in text, needle


def test_demo_prints_3d_centroids_and_extents_next_to_the_truth(demo_run):
    proc, _ = demo_run
    lines = [line for line in proc.stdout.splitlines() if 'truth centroid' in line]
    assert proc.stdout.count('3D: depth OK') >= 2, proc.stdout[-6000:]
    assert len(lines) >= 4, proc.stdout[-6000:]       # three click masks and the box
    errors_mm = [float(line.split('centroid error')[1].split('mm')[0]) for line in lines]
    assert min(errors_mm) < 20.0, lines


def test_demo_writes_non_trivial_png_figures(demo_run):
    _, out = demo_run
    for name in FIGURES:
        path = Path(out) / f'{name}.png'
        assert path.is_file(), f'{path} is missing'
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        assert image is not None, f'{path} is not a readable PNG'
        assert image.shape[0] >= 200 and image.shape[1] >= 300, image.shape
        assert float(image.std()) > 10.0, f'{path} is nearly uniform'
        colours = np.unique(image.reshape(-1, 3)[::7], axis=0)
        assert len(colours) > 200, f'{path} has only {len(colours)} colours'


def test_three_masks_figure_is_wider_than_the_click_frame(demo_run):
    _, out = demo_run
    click = cv2.imread(str(Path(out) / 'click_frame.png'))
    figure = cv2.imread(str(Path(out) / 'three_masks.png'))
    assert click.shape[:2] == (480, 640)
    # four panels side by side (prompt + subpart, part, whole) under a title bar
    assert figure.shape[1] > 2.5 * figure.shape[0]


def test_demo_tells_its_story(demo_run):
    proc, _ = demo_run
    lines = proc.stdout.splitlines()
    step1 = lines[next(i for i, line in enumerate(lines) if '[demo] step 1:' in line):]
    step1 = step1[:next(i for i, line in enumerate(step1) if '[demo] step 2:' in line)]
    # step 1 says where its frame's encode was paid
    assert any(line.strip().startswith('embedding: ') and 'encoded' in line
               for line in step1), '\n'.join(step1)
    refine = next(line for line in lines if 'refined mask index' in line)
    assert re.search(r'\(true IoU \d\.\d{3}\) .*: true IoU \d\.\d{3} \([+-]\d\.\d{3}\), '
                     r'(better|not better: )', refine), refine
