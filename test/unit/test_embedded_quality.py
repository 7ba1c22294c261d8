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
Quality regression test of the committed embedded model (a fast slice of the evaluation).

A few dozen prompts on held-out synthetic scenes through the public predictor. The
committed model is provisional: it does NOT reach the quality targets yet (``TARGETS`` in
sam_ros/synthetic/metrics.py; see
docs/embedded_model.md, which states its measured numbers). Until a better model lands,
the floors below sit a little under what this model measures on this slice, so a
regression of the model or of the pipeline (preprocessing, prompt scaling, token
selection, postprocessing) fails CI. When a model that meets the targets lands, raise
the floors to the targets minus a margin.
"""

import numpy as np
import pytest

from sam_ros.core import sam_model_registry, SamPredictor
from sam_ros.synthetic.metrics import evaluate, mask_iou
from sam_ros.synthetic.world import SceneGenerator
from sam_ros.tools.evaluate_embedded import EVAL_SEED, predictor_adapter

# Measured on this 12-scene slice (about 30 prompts of each kind) in fp32 on 2026-11-25
# with the model trained at focal weight 6: hierarchy 0.723, oracle 0.696, selected
# 0.745, box 0.654, multi-point 0.580, calibration r 0.652. Floors = measured minus
# about 0.06 (another CPU or torch build may move the numbers a little). The quality
# targets (metrics.TARGETS): 0.85 / 0.90 / 0.85 / 0.90 / 0.85 / 0.70.
THRESHOLDS = {
    'hierarchy_miou': 0.66,
    'oracle_miou': 0.63,
    'selected_miou': 0.68,
    'box_miou': 0.59,
    'multipoint_miou': 0.52,
    'iou_calibration_r': 0.59,
}


@pytest.fixture(scope='module')
def predictor() -> SamPredictor:
    return SamPredictor(sam_model_registry['embedded'](), device='cpu')


@pytest.fixture(scope='module')
def results(predictor: SamPredictor) -> dict:
    generator = SceneGenerator(seed=EVAL_SEED)
    scenes = [generator.scene(i) for i in range(12)]
    return evaluate(predictor_adapter(predictor), scenes, seed=EVAL_SEED)


@pytest.mark.parametrize('measure', sorted(THRESHOLDS))
def test_embedded_model_meets_quality_floor(results: dict, measure: str) -> None:
    assert results[measure] >= THRESHOLDS[measure], (
        f'{measure} = {results[measure]:.3f} < {THRESHOLDS[measure]} '
        f'(all: { {k: round(float(v), 3) for k, v in results.items()} })')


# Mean IoU per level of the nested clicks below (13 clicks), measured 0.62 / 0.81 / 0.82
# on 2026-11-25; floors about 0.09 lower.
NESTED_FLOORS = (0.53, 0.72, 0.73)


def test_nested_clicks_give_three_distinct_masks_subpart_part_whole(
        predictor: SamPredictor) -> None:
    generator = SceneGenerator(seed=EVAL_SEED)
    ious = []
    for index in range(8):
        scene = generator.scene(index)
        predictor.set_image(scene.image)
        for obj in scene.objects:
            if obj.num_levels != 3 or obj.levels[0].sum() <= 50:
                continue
            ys, xs = np.nonzero(obj.levels[0])
            k = len(xs) // 2
            pred = predictor.segment(point_coords=np.array([[xs[k], ys[k]]], np.float32),
                                     point_labels=np.array([1]))
            assert pred.levels == ('subpart', 'part', 'whole')
            areas = pred.masks.reshape(3, -1).sum(1)
            assert areas[0] < areas[1] < areas[2], f'scene {index}: areas {areas}'
            ious.append([mask_iou(m, t) for m, t in zip(pred.masks, obj.levels)])
    assert len(ious) >= 10
    means = np.mean(ious, axis=0)
    assert np.all(means > NESTED_FLOORS), f'mean IoU per level {means.round(3)}'
