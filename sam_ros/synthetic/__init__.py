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
The synthetic nested-object world: scenes, prompt samplers and evaluation measures.

ROS-free and torch-free (numpy and OpenCV only). See ``world`` for how the issue's
spec is read, ``prompts`` for the samplers and ``metrics`` for the measures.
"""

from sam_ros.synthetic.metrics import (evaluate, format_table, ground_truth_predictor,
                                       mask_iou, MEASURES, Predict, TARGETS)
from sam_ros.synthetic.prompts import (corrective_point, exclusive_regions, jitter_box,
                                       multi_point_prompt, object_at, point_ground_truth,
                                       sample_point, tight_box)
from sam_ros.synthetic.world import (generate_scene, LEVEL_NAMES, NestedObject, Scene,
                                     SceneGenerator)

__all__ = [
    'corrective_point', 'evaluate', 'exclusive_regions', 'format_table', 'generate_scene',
    'ground_truth_predictor', 'jitter_box', 'LEVEL_NAMES', 'mask_iou', 'MEASURES',
    'multi_point_prompt', 'NestedObject', 'object_at', 'point_ground_truth', 'Predict',
    'sample_point', 'Scene', 'SceneGenerator', 'TARGETS', 'tight_box',
]
