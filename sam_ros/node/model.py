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

"""Build the engine's predictor from the node configuration."""

import os
from typing import Tuple

from sam_ros.core import build
from sam_ros.core.predictor import SamPredictor
from sam_ros.core.runtime import set_threads
from sam_ros.node.config import NodeConfig

__all__ = ['build_predictor']


def build_predictor(config: NodeConfig) -> Tuple[SamPredictor, str]:
    """
    Return the predictor for ``config`` and a one-line description of it.

    Raises CheckpointError for a missing, corrupt or mismatched checkpoint and
    SamError for an unusable device or precision.
    """
    if config.num_threads:
        set_threads(config.num_threads)
    if config.random_weights:
        if config.model_type == 'embedded':
            model = build.build_embedded_untrained()
        else:
            model = build.sam_model_registry[config.model_type](None)
        source = 'RANDOM weights'
    elif config.checkpoint:
        path = os.path.expanduser(config.checkpoint)
        model = build.build_sam(config.model_type, path)
        source = path
    else:
        model = build.build_sam(config.model_type, None)
        source = 'committed weights'
    predictor = SamPredictor(model, device=config.device, precision=config.precision)
    device = getattr(predictor, 'device', config.device)
    precision = getattr(predictor, 'precision', config.precision)
    return predictor, (f'model {config.model_type} ({source}) on {device}, precision '
                       f'{precision}')
