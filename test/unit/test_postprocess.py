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


"""clean_prediction: islands and holes go, and areas/boxes describe the cleaned masks."""

import cv2
import numpy as np
import pytest
from sam_ros.core import sam_model_registry, SamPredictor
from sam_ros.core.postprocess import clean_prediction
from sam_ros.core.predictor import Prediction
from sam_ros.core.selection import mask_areas, mask_boxes
from sam_ros.synthetic.world import SceneGenerator


def _prediction(masks: np.ndarray, mode: str) -> Prediction:
    count = len(masks)
    areas = mask_areas(masks)
    order = np.argsort(areas, kind='stable') if mode == 'multi' else np.arange(count)
    levels = ('subpart', 'part', 'whole') if mode == 'multi' else ('single',)
    iou = np.linspace(0.5, 0.9, count, dtype=np.float32)
    return Prediction(masks=masks[order], iou=iou, stability=iou.copy(),
                      low_res_logits=np.zeros((count, 8, 8), np.float32), levels=levels,
                      best_index=int(np.argmax(iou)), areas=areas[order],
                      boxes=mask_boxes(masks)[order], tokens=np.arange(1, count + 1)[order],
                      mode=mode)


def test_a_stray_blob_and_a_pinhole_go_and_the_box_becomes_tight():
    mask = np.zeros((1, 120, 160), bool)
    mask[0, 40:80, 50:100] = True         # the object: 40 x 50
    mask[0, 60, 70] = False               # a pinhole
    mask[0, 0:5, 150:155] = True          # a stray blob at the frame edge (25 px)
    raw = _prediction(mask, 'single')
    assert raw.boxes[0].tolist() == [50, 0, 154, 79]
    cleaned = clean_prediction(raw, 100)
    assert cleaned.boxes[0].tolist() == [50, 40, 99, 79]
    assert cleaned.areas[0] == 40 * 50 == int(cleaned.masks[0].sum())
    assert cleaned.iou[0] == raw.iou[0] and cleaned.levels == ('single',)
    assert raw.masks[0, 0, 150] and raw.areas[0] == 40 * 50 - 1 + 25   # input untouched
    assert clean_prediction(raw, 0) is raw


def test_multi_masks_are_sorted_by_their_cleaned_areas_and_keep_their_scores():
    masks = np.zeros((3, 100, 100), bool)
    masks[0, 10:20, 10:20] = True             # 100 px
    masks[1, 10:30, 10:30] = True             # 400 px
    masks[2, 50:60, 50:65] = True             # 150 px ...
    for k in range(5):                        # ... plus five 64 px blobs = 470 px
        masks[2, 80:88, 2 + 12 * k:10 + 12 * k] = True
    raw = _prediction(masks, 'multi')
    assert raw.areas.tolist() == [100, 400, 470]
    cleaned = clean_prediction(raw, 65)
    assert cleaned.areas.tolist() == [100, 150, 400]
    assert cleaned.levels == ('subpart', 'part', 'whole')
    assert cleaned.iou.tolist() == [raw.iou[0], raw.iou[2], raw.iou[1]]
    assert cleaned.tokens.tolist() == [raw.tokens[0], raw.tokens[2], raw.tokens[1]]
    assert cleaned.best_index == int(np.argmax(cleaned.iou))
    assert (cleaned.boxes == mask_boxes(cleaned.masks)).all()


@pytest.mark.parametrize('bad', [-1, 2.5, True, '100'])
def test_a_bad_area_is_a_value_error(bad):
    masks = np.ones((1, 4, 4), bool)
    with pytest.raises(ValueError, match='min_region_area'):
        clean_prediction(_prediction(masks, 'single'), bad)


def test_real_box_masks_keep_no_region_below_the_area():
    predictor = SamPredictor(sam_model_registry['embedded'](), device='cpu', precision='fp32')
    scene = SceneGenerator(seed=1000).scene(0, 640, 480)
    predictor.set_image(scene.image)
    seen_islands = 0
    for obj in scene.objects:
        whole = obj.levels[-1]
        rows, cols = np.flatnonzero(whole.any(axis=1)), np.flatnonzero(whole.any(axis=0))
        box = np.array([cols[0], rows[0], cols[-1], rows[-1]], float)
        raw = predictor.segment(box=box)
        cleaned = clean_prediction(raw, 256)
        mask = cleaned.masks[0]
        for work in (mask, ~mask):
            count, _, stats, _ = cv2.connectedComponentsWithStats(work.astype(np.uint8),
                                                                  connectivity=8)
            small = stats[1:, cv2.CC_STAT_AREA] < 256
            assert small.sum() <= (1 if work is mask and count == 2 else 0)
        count, _, stats, _ = cv2.connectedComponentsWithStats(
            raw.masks[0].astype(np.uint8), connectivity=8)
        seen_islands += int((stats[1:, cv2.CC_STAT_AREA] < 256).sum())
        assert cleaned.areas[0] == int(mask.sum())
        assert (cleaned.boxes == mask_boxes(cleaned.masks)).all()
    assert seen_islands > 0      # the raw masks of this scene do have small islands


def test_warm_up_runs_one_encode_and_decode_without_touching_the_state():
    from sam_ros.node.model import warm_up
    predictor = SamPredictor(sam_model_registry['embedded'](), device='cpu', precision='fp32')
    encode_ms, decode_ms = warm_up(predictor)
    assert encode_ms > 0.0 and decode_ms > 0.0
    assert not predictor.is_image_set
