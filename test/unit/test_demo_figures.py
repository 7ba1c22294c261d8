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

"""The demo's figures: panels, the side-by-side figure, crops and PNG files (tier 1)."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from sam_ros.demo import figures
from sam_ros.node.overlay import LEVEL_COLOURS

H, W = 120, 160


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(60, 200, (H, W, 3), dtype=np.uint8)


def _rect(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


@pytest.fixture
def nested():
    return [_rect(70, 50, 90, 70), _rect(55, 35, 105, 85), _rect(30, 20, 130, 100)]


def test_crop_box_surrounds_the_masks_with_a_margin_inside_the_frame(nested):
    x0, y0, x1, y1 = figures.crop_box(nested[:1], (H, W), margin=0.25)
    assert x0 <= 70 and y0 <= 50 and x1 >= 90 and y1 >= 70
    assert x0 > 0 and y0 > 0 and x1 < W and y1 < H
    assert figures.crop_box(nested, (H, W), margin=1.0) == (0, 0, W, H)


def test_crop_box_of_no_mask_pixels_is_the_whole_frame():
    assert figures.crop_box([np.zeros((H, W), bool)], (H, W)) == (0, 0, W, H)


def test_prompt_panel_marks_a_foreground_click_in_green_and_keeps_the_input(image):
    before = image.copy()
    panel = figures.prompt_panel(image, np.array([[40.0, 30.0]]), [1])
    assert panel.shape == image.shape
    np.testing.assert_array_equal(image, before)
    dot = panel[34, 44]        # on the dot, off the black cross
    assert dot[1] > 200 and dot[0] < 60 and dot[2] < 60
    assert np.array_equal(panel[100, 150], image[100, 150])


def test_prompt_panel_marks_a_background_click_in_red_and_draws_the_box(image):
    panel = figures.prompt_panel(image, np.array([[40.0, 30.0]]), [0], box=[10, 10, 100, 90])
    assert panel[30, 44, 0] > 200 and panel[30, 44, 1] < 80     # off the diagonal x
    assert tuple(panel[10, 50]) == (255, 255, 255)


def test_prompt_panel_scales_the_crop_to_the_requested_height(image):
    panel = figures.prompt_panel(image, crop=(40, 20, 120, 100), height=160)
    assert panel.shape == (160, 160, 3)


def test_mask_panel_tints_the_mask_in_its_level_colour_and_dims_the_rest(image, nested):
    panel = figures.mask_panel(image, nested[1], 'part', 0.87)
    bar = panel.shape[0] - H
    assert bar > 0
    body = panel[bar:].astype(int)
    colour = np.array(LEVEL_COLOURS['part'])
    inside, outside = nested[1], ~nested[2]
    # Inside: halfway between the pixel and the level colour; outside: darker.
    expected = image[inside].astype(int) * 0.5 + colour * 0.5
    interior = inside.copy()
    interior[:40, :] = interior[80:, :] = False      # away from the drawn outline
    interior[:, :60] = interior[:, 100:] = False
    assert np.abs(body[interior] - (image[interior] * 0.5 + colour * 0.5)).max() <= 1
    assert np.abs(body[inside].mean(axis=0) - expected.mean(axis=0)).max() < 20
    assert (body[outside].mean() < image[outside].astype(int).mean() * 0.5)


def test_mask_panel_label_bar_has_text_and_grows_with_the_true_iou(image, nested):
    plain = figures.mask_panel(image, nested[0], 'subpart', 0.91, best=True)
    scored = figures.mask_panel(image, nested[0], 'subpart', 0.91, best=True, true_iou=0.88)
    bar = plain[:plain.shape[0] - H]
    assert (bar.max(axis=2) > 150).sum() > 50        # text pixels on the dark bar
    assert scored.shape[0] > plain.shape[0]


def test_mask_panel_rejects_a_mask_of_another_size(image):
    with pytest.raises(ValueError, match='does not match'):
        figures.mask_panel(image, np.zeros((H + 1, W), bool), 'whole', 0.5)


def test_result_figure_puts_prompt_and_three_masks_side_by_side(image, nested):
    fig = figures.result_figure(image, nested, ['subpart', 'part', 'whole'], [0.8, 0.9, 0.7],
                                1, np.array([[80.0, 60.0]]), [1], title='one click',
                                height=100)
    panel_w = round(W * 100 / H)
    assert fig.shape[1] == 4 * panel_w + 3 * 6
    assert fig.dtype == np.uint8 and fig.shape[2] == 3
    no_title = figures.result_figure(image, nested, ['subpart', 'part', 'whole'],
                                     [0.8, 0.9, 0.7], 1, height=100)
    assert fig.shape[0] > no_title.shape[0]


def test_result_figure_of_a_box_has_two_panels(image, nested):
    fig = figures.result_figure(image, nested[2:], ['single'], [0.95], 0,
                                box=[30, 20, 129, 99], true_ious=[0.97], height=H)
    assert fig.shape[1] == 2 * W + 6


def test_result_figure_rejects_mismatched_lengths(image, nested):
    with pytest.raises(ValueError, match='one level and one IoU per mask'):
        figures.result_figure(image, nested, ['part'], [0.9], 0)
    with pytest.raises(ValueError, match='one true IoU per mask'):
        figures.result_figure(image, nested[:1], ['part'], [0.9], 0, true_ious=[0.1, 0.2])


def test_figures_reject_a_non_rgb_image(nested):
    with pytest.raises(ValueError, match='uint8 RGB'):
        figures.prompt_panel(np.zeros((H, W), np.uint8))
    with pytest.raises(ValueError, match='uint8 RGB'):
        figures.mask_panel(np.zeros((H, W, 3), np.float32), nested[0], 'part', 0.5)


def test_save_png_writes_the_rgb_image_losslessly(tmp_path: Path, image):
    path = figures.save_png(tmp_path / 'new' / 'figure.png', image)
    assert path.is_file()
    back = cv2.imread(str(path), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(back[..., ::-1], image)


def test_save_png_reports_an_unwritable_path(tmp_path: Path, image):
    blocker = tmp_path / 'file'
    blocker.write_text('not a folder')
    with pytest.raises(OSError):
        figures.save_png(blocker / 'figure.png', image)


def test_labels_say_predicted_iou_and_the_legend_explains_the_markers():
    assert figures.mask_label('part', 0.934, best=True, true_iou=0.91) == [
        'PART  (best: highest predicted IoU)', 'predicted IoU 0.93',
        'true IoU 0.91 (vs ground truth)']
    assert figures.mask_label('whole', 0.5) == ['WHOLE', 'predicted IoU 0.50']
    assert figures.prompt_legend(np.array([[1.0, 2.0], [3.0, 4.0]]), [1, 0]) == [
        'green +: foreground point', 'red x: background point']
    assert figures.prompt_legend(box=[0, 0, 5, 5]) == ['white: the box prompt']
    assert figures.prompt_legend(np.array([[1.0, 2.0]])) == ['green +: foreground point']
    assert figures.prompt_legend() == []


def test_the_prompt_panel_of_a_figure_carries_its_legend(image, nested):
    with_points = figures.result_figure(image, nested[:1], ['part'], [0.9], 0,
                                        np.array([[80.0, 60.0], [10.0, 10.0]]), [1, 0],
                                        height=100)
    without = figures.result_figure(image, nested[:1], ['part'], [0.9], 0, height=100)
    assert with_points.shape[0] > without.shape[0]     # two legend lines above the prompt
