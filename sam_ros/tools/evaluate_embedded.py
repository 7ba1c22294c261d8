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
Evaluate a SAM model on held-out synthetic scenes (the embedded model by default).

    python -m sam_ros.tools.evaluate_embedded --scenes 60 --markdown-out docs/eval.md

Scenes come from seeds the training never uses (training draws scenes from
``SceneGenerator(seed=0)``; evaluation uses seed 1000 and up), at 640x480 and, with
``--sizes``, at other frame sizes. The measures are those of
:mod:`sam_ros.synthetic.metrics`; prompts go through the public ``SamPredictor``, so
what is measured is what users get (preprocessing, auto mode, postprocessing).
"""

import argparse
import json
import sys
import time
from typing import Dict, List, Optional

from sam_ros.core.build import sam_model_registry
from sam_ros.core.predictor import SamPredictor
from sam_ros.synthetic.metrics import evaluate, format_table, TARGETS
from sam_ros.synthetic.world import SceneGenerator
from sam_ros.tools.cli import frame_size_text, weights_problem, weights_source
import torch

EVAL_SEED = 1000


def predictor_adapter(predictor: SamPredictor):
    """
    Wrap a predictor as the ``predict(image, coords, labels, box, mode)`` of the metrics.

    The embedding is kept while the same image object comes back, as the node does for
    an unchanged frame.
    """
    state = {'image': None, 'embedding': None}

    def predict(image, coords, labels, box, mode):
        if state['image'] is not image:
            state['embedding'] = predictor.encode(image)
            state['image'] = image
        result = predictor.segment(point_coords=coords, point_labels=labels, box=box,
                                   mode=mode, embedding=state['embedding'])
        return result.masks, result.iou

    return predict


def run(model_type: str = 'embedded', checkpoint: Optional[str] = None, scenes: int = 60,
        sizes: Optional[List[str]] = None, precision: str = 'auto', seed: int = EVAL_SEED,
        device: str = 'auto') -> Dict[str, Dict[str, float]]:
    """Evaluate on ``scenes`` scenes per frame size; return {size title: measures}."""
    model = sam_model_registry[model_type](checkpoint=checkpoint)
    predictor = SamPredictor(model, device=device, precision=precision)
    results: Dict[str, Dict[str, float]] = {}
    for size in sizes or ['640x480']:
        width, height = (int(v) for v in size.split('x'))
        generator = SceneGenerator(seed=seed)
        frames = [generator.scene(i, width, height) for i in range(scenes)]
        started = time.monotonic()
        results[size] = evaluate(predictor_adapter(predictor), frames, seed=seed)
        results[size]['seconds'] = time.monotonic() - started
    return results


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``sam-ros-eval-embedded``."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--model-type', default='embedded', choices=sorted(sam_model_registry))
    parser.add_argument('--checkpoint', default=None,
                        help='weights to load; required for the official model types '
                        '(the embedded model defaults to its committed weights)')
    parser.add_argument('--random-weights', action='store_true',
                        help='allow an official model type without --checkpoint, i.e. with '
                        'RANDOM weights (the table is then meaningless)')
    parser.add_argument('--scenes', type=int, default=60, help='scenes per frame size')
    parser.add_argument('--sizes', nargs='+', type=frame_size_text,
                        default=['640x480', '1280x720', '320x240'], help='WxH ...')
    parser.add_argument('--precision', default='auto')
    parser.add_argument('--device', default='auto')
    parser.add_argument('--seed', type=int, default=EVAL_SEED)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--markdown-out', default=None, help='write the table here too')
    parser.add_argument('--json-out', default=None)
    args = parser.parse_args(argv)
    problem = weights_problem(args.model_type, args.checkpoint, args.random_weights)
    if problem:
        parser.error(problem)
    source = weights_source(args.model_type, args.checkpoint)
    print(f'model {args.model_type}, {source}', flush=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = run(args.model_type, args.checkpoint, args.scenes, args.sizes, args.precision,
                  args.seed, args.device)
    table = format_table(results)
    if source == 'RANDOM weights':
        table = (f'**{args.model_type} with RANDOM weights (--random-weights): these '
                 'figures measure no trained model.**\n\n' + table)
    counts = ', '.join(f"{k}: {int(v['n_hierarchy'])} hierarchy clicks, {int(v['n_click'])} "
                       f"clicks, {int(v['n_box'])} boxes, {int(v['n_multipoint'])} point sets"
                       for k, v in results.items())
    print(table)
    print(f'prompts: {counts}')
    if args.markdown_out:
        with open(args.markdown_out, 'w', encoding='utf-8') as handle:
            handle.write(table + '\n\n' + f'prompts: {counts}\n')
    if args.json_out:
        with open(args.json_out, 'w', encoding='utf-8') as handle:
            json.dump(results, handle, indent=1)
    missed = [k for k in TARGETS if not results[args.sizes[0]][k] >= TARGETS[k]]
    if missed:
        print(f'below target at {args.sizes[0]}: {", ".join(missed)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
