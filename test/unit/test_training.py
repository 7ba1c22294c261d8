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


"""The training code of the embedded model: losses, samples, a short run (tier 1)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from sam_ros.core import sam_model_registry
from sam_ros.synthetic import SceneGenerator
from sam_ros.tools import train_embedded
from sam_ros.training.losses import (dice_loss, mask_loss, multimask_loss,
                                     single_mask_loss)
from sam_ros.training.samples import build_sample
import torch

BIG = 30.0  # a logit far from the decision threshold


def _disc(radius: float, side: int = 32) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing='ij')
    return (((yy - side / 2) ** 2 + (xx - side / 2) ** 2) <= radius ** 2).float()


def _logits(mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask > 0.5, BIG, -BIG)


def test_dice_is_zero_for_a_perfect_mask_and_one_for_all_background():
    target = _disc(8)
    assert float(dice_loss(_logits(target), target)) < 0.01
    assert float(dice_loss(torch.full_like(target, -BIG), target)) > 0.99


def test_a_zero_focal_weight_leaves_dice_alone():
    target = _disc(8)
    logits = torch.randn(target.shape, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(float(mask_loss(logits, target, focal_weight=0.0)),
                               float(dice_loss(logits, target)), rtol=1e-6)
    assert float(mask_loss(logits, target)) > float(dice_loss(logits, target))


def test_three_outputs_are_matched_one_to_one_to_three_levels_in_any_order():
    levels = torch.stack([_disc(4), _disc(8), _disc(12)])       # subpart, part, whole
    outputs = _logits(levels[[2, 0, 1]])[None]                   # the outputs shuffled
    valid = torch.ones(1, 3, dtype=torch.bool)
    loss_mask, loss_iou, ious = multimask_loss(outputs, torch.ones(1, 3), levels[None], valid)
    assert float(loss_mask) < 0.01
    np.testing.assert_allclose(ious.numpy(), [[1.0, 1.0, 1.0]])
    assert float(loss_iou) < 1e-6


def test_a_pixel_with_one_level_supervises_every_output_on_it():
    whole = _disc(12)
    targets = torch.stack([whole, torch.zeros_like(whole), torch.zeros_like(whole)])[None]
    valid = torch.tensor([[True, False, False]])
    right = _logits(whole)
    wrong = _logits(_disc(4))
    good, _, _ = multimask_loss(torch.stack([right, right, right])[None], torch.ones(1, 3),
                                targets, valid)
    bad, _, ious = multimask_loss(torch.stack([right, right, wrong])[None], torch.ones(1, 3),
                                  targets, valid)
    assert float(good) < 0.01 < float(bad)
    assert ious[0, 0] == 1.0 and ious[0, 2] < 0.2


def test_single_mask_loss_reports_true_iou_and_its_mse():
    target = _disc(8)
    _, loss_iou, ious = single_mask_loss(_logits(target)[None], torch.tensor([0.5]),
                                         target[None])
    assert float(ious[0]) == 1.0
    assert float(loss_iou) == pytest.approx(0.25)


def test_samples_hold_prompts_inside_the_input_frame_and_their_targets():
    scene = SceneGenerator(seed=3).scene(0)
    objects = [list(o.levels) for o in scene.objects]
    sample = build_sample(scene.image, objects, np.random.default_rng(0), 512, 128,
                          n_clicks=4, n_boxes=3, n_points=2)
    h, w = sample.image.shape[1:]
    assert max(h, w) == 512 and sample.targets.shape[1:] == (128, 128)
    assert len(sample.click_xy) == 4 and len(sample.box) == 3 and len(sample.pts_xy) == 2
    xy = sample.click_xy[:, 0]
    assert (xy[:, 0] >= -0.5).all() and (xy[:, 0] < w).all() and (xy[:, 1] < h).all()
    for (x, y), ids in zip(xy.tolist(), sample.click_targets.tolist()):
        col, row = int(x * 128 / 512), int(y * 128 / 512)
        for level in (i for i in ids if i >= 0):   # every target level covers the click
            patch = sample.targets[level, max(row - 1, 0):row + 2, max(col - 1, 0):col + 2]
            assert patch.max() > 0.0
    boxes = sample.box
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_focal_weight_ramps_from_zero_to_its_weight_over_the_warm_up():
    args = train_embedded._parse(['--focal-warmup', '100', '--out', 'x.pt'])
    assert train_embedded._focal_weight_at(0, args) == 0.0
    weight = train_embedded.DEFAULT_FOCAL_WEIGHT
    assert train_embedded._focal_weight_at(50, args) == pytest.approx(weight / 2)
    assert train_embedded._focal_weight_at(100, args) == weight
    assert train_embedded._focal_weight_at(0, train_embedded._parse(['--out', 'x.pt'])) == weight
    lower = train_embedded._parse(['--focal-weight', '2', '--focal-warmup', '10',
                                   '--out', 'x.pt'])
    assert train_embedded._focal_weight_at(5, lower) == pytest.approx(1.0)
    assert train_embedded._focal_weight_at(10, lower) == 2.0


def _short_run(out: Path) -> dict:
    args = train_embedded._parse(['--steps', '2', '--images', '1', '--threads', '1',
                                  '--warmup', '1', '--log-every', '1', '--clicks', '1',
                                  '--boxes', '1', '--point-sets', '1', '--out', str(out)])
    return train_embedded.train(args)


def test_a_short_run_is_deterministic_and_loads_strictly(tmp_path: Path):
    first = _short_run(tmp_path / 'a.pt')
    second = _short_run(tmp_path / 'b.pt')
    a = torch.load(tmp_path / 'a.pt', weights_only=True)
    b = torch.load(tmp_path / 'b.pt', weights_only=True)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert first['history'][-1]['loss'] == second['history'][-1]['loss']
    record = json.loads((tmp_path / 'a.json').read_text())
    assert record['steps'] == 2 and record['prompts_per_image']['boxes'] == 1
    model = sam_model_registry['embedded'](checkpoint=str(tmp_path / 'a.pt'))
    assert not model.training


def test_an_unusable_out_path_fails_at_start_with_one_line(tmp_path: Path, capsys):
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    for out, words in ((tmp_path, 'is a directory'), (blocker / 'x.pt', 'cannot create')):
        with pytest.raises(SystemExit) as exit_info:
            train_embedded._parse(['--out', str(out)])
        assert exit_info.value.code == 2
        assert words in capsys.readouterr().err
    args = train_embedded._parse(['--out', str(tmp_path / 'new' / 'm.pt')])
    assert args.out == tmp_path / 'new' / 'm.pt'


def test_the_shipped_model_is_written_only_when_asked_explicitly(tmp_path: Path, capsys):
    shipped = train_embedded.SHIPPED
    before = shipped.stat().st_mtime_ns
    for argv, words in (([], 'give --out FILE'),
                        (['--out', str(shipped)], 'add --overwrite-shipped'),
                        (['--out', os.path.relpath(shipped)], 'add --overwrite-shipped')):
        with pytest.raises(SystemExit) as exit_info:
            train_embedded._parse(argv)
        assert exit_info.value.code == 2
        assert words in capsys.readouterr().err
    assert train_embedded._parse(['--overwrite-shipped']).out == shipped
    assert train_embedded._parse(['--out', str(shipped), '--overwrite-shipped']).out == shipped
    with pytest.raises(SystemExit):
        train_embedded._parse(['--help'])
    assert '--overwrite-shipped' in capsys.readouterr().out
    assert shipped.stat().st_mtime_ns == before
