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
import time
from typing import Tuple

import numpy as np
from sam_ros.core import build
from sam_ros.core.errors import SamError
from sam_ros.core.predictor import SamPredictor
from sam_ros.core.runtime import set_threads
from sam_ros.node.config import NodeConfig

__all__ = ['build_predictor', 'warm_up']

#: (H, W) of the blank warm-up frame: the common VGA camera size.
WARM_UP_SIZE = (480, 640)


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


def warm_up(predictor: SamPredictor) -> Tuple[float, float]:
    """
    Run one encode and one decode of a blank frame; return their times (ms).

    The first forward passes of a fresh model pay one-off costs (allocator growth,
    oneDNN kernel selection, lazy CUDA initialisation). Paying them at start keeps
    them out of the first real answer. The predictor's state is not touched
    (``encode`` and ``segment(embedding=...)``).
    """
    height, width = WARM_UP_SIZE
    started = time.perf_counter()
    try:
        embedding = predictor.encode(np.zeros((height, width, 3), dtype=np.uint8))
        encoded = time.perf_counter()
        predictor.segment(point_coords=np.array([[width / 2.0, height / 2.0]]),
                          point_labels=np.array([1]), embedding=embedding)
    except SamError:
        raise
    except Exception as exc:  # noqa: B902 - out of memory, an unusable device, ...
        raise SamError(f'the model failed its warm-up on a blank {width}x{height} frame: '
                       f'{type(exc).__name__}: {" ".join(str(exc).split())[:300]}') from None
    decoded = time.perf_counter()
    return (encoded - started) * 1e3, (decoded - encoded) * 1e3
