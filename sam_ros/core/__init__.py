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
The sam_ros engine: Segment Anything without ROS (torch and numpy only).

Build a model with ``sam_model_registry[name](checkpoint)`` or ``build_sam``.
"""

from sam_ros.core.automatic import SamAutomaticMaskGenerator
from sam_ros.core.batch import BatchOutcome, BatchPrompt, segment_prompts
from sam_ros.core.build import (
    build_sam,
    EMBEDDED_CONFIG,
    sam_model_registry,
    TinySamConfig,
)
from sam_ros.core.checkpoint import load_checkpoint, read_state_dict
from sam_ros.core.errors import CheckpointError, ImageFormatError, PromptError, SamError
from sam_ros.core.labels import label_image
from sam_ros.core.postprocess import clean_prediction
from sam_ros.core.predictor import ImageEmbedding, Prediction, SamPredictor
from sam_ros.core.sam import Sam
from sam_ros.core.upstream import ResizeLongestSide

__all__ = [
    'BatchOutcome',
    'BatchPrompt',
    'build_sam',
    'CheckpointError',
    'clean_prediction',
    'EMBEDDED_CONFIG',
    'ImageEmbedding',
    'ImageFormatError',
    'label_image',
    'load_checkpoint',
    'Prediction',
    'PromptError',
    'read_state_dict',
    'ResizeLongestSide',
    'Sam',
    'sam_model_registry',
    'SamAutomaticMaskGenerator',
    'SamError',
    'SamPredictor',
    'segment_prompts',
    'TinySamConfig',
]
