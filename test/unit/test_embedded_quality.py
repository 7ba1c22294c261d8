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
committed model is provisional: it does NOT reach the targets of issue 3 yet (see
docs/embedded_model.md, which states its measured numbers). Until a better model lands,
the floors below sit a little under what this model measures on this slice, so a
regression of the model or of the pipeline (preprocessing, prompt scaling, token
selection, postprocessing) fails CI. When a model that meets the targets lands, raise
the floors to the targets minus a margin.
"""

import numpy as np
import pytest

from sam_ros.core import sam_model_registry, SamPredictor
from sam_ros.synthetic.metrics import evaluate
from sam_ros.synthetic.world import SceneGenerator
from sam_ros.tools.evaluate_embedded import EVAL_SEED, predictor_adapter

# Measured on this 12-scene slice (about 30 prompts of each kind) in fp32 on 2026-11-24:
# hierarchy 0.569, oracle 0.596, selected 0.648, box 0.503, multi-point 0.442,
# calibration r 0.535. Floors = measured minus about 0.07 (bf16 or another CPU may move
# the numbers a little). Issue 3's targets: 0.85 / 0.90 / 0.85 / 0.90 / 0.85 / 0.70.
THRESHOLDS = {
    'hierarchy_miou': 0.50,
    'oracle_miou': 0.52,
    'selected_miou': 0.58,
    'box_miou': 0.43,
    'multipoint_miou': 0.37,
    'iou_calibration_r': 0.45,
}


@pytest.fixture(scope='module')
def results() -> dict:
    predictor = SamPredictor(sam_model_registry['embedded'](), device='cpu')
    generator = SceneGenerator(seed=EVAL_SEED)
    scenes = [generator.scene(i) for i in range(12)]
    return evaluate(predictor_adapter(predictor), scenes, seed=EVAL_SEED)


@pytest.mark.parametrize('measure', sorted(THRESHOLDS))
def test_embedded_model_meets_quality_floor(results: dict, measure: str) -> None:
    assert results[measure] >= THRESHOLDS[measure], (
        f'{measure} = {results[measure]:.3f} < {THRESHOLDS[measure]} '
        f'(all: { {k: round(float(v), 3) for k, v in results.items()} })')


def test_nested_click_gives_three_distinct_masks() -> None:
    predictor = SamPredictor(sam_model_registry['embedded'](), device='cpu')
    scene = SceneGenerator(seed=EVAL_SEED).scene(3)
    obj = next(o for o in scene.objects if o.num_levels == 3 and o.levels[0].sum() > 50)
    ys, xs = np.nonzero(obj.levels[0])
    k = len(xs) // 2
    predictor.set_image(scene.image)
    pred = predictor.segment(point_coords=np.array([[xs[k], ys[k]]], np.float32),
                             point_labels=np.array([1]))
    assert pred.levels == ('subpart', 'part', 'whole')
    areas = pred.masks.reshape(3, -1).sum(1)
    assert areas[0] < areas[1] < areas[2]
    for mask, truth in zip(pred.masks, obj.levels):
        inter = np.logical_and(mask, truth).sum()
        union = np.logical_or(mask, truth).sum()
        assert inter / union > 0.6
