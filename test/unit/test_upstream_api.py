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
A script written for upstream ``segment_anything``'s SamPredictor runs on sam_ros.core.

``UPSTREAM_SCRIPT`` uses every predictor call of upstream's API, the way upstream's
notebooks do. The test changes its two import lines, and nothing else, then runs it.
"""

import numpy as np
import pytest
from sam_ros.core import PromptError, ResizeLongestSide, sam_model_registry, SamPredictor
from sam_ros.synthetic.world import SceneGenerator
import torch

UPSTREAM_SCRIPT = """
import numpy as np
import torch
from segment_anything import SamPredictor, sam_model_registry
from segment_anything.utils.transforms import ResizeLongestSide

sam = sam_model_registry[model_type](checkpoint=sam_checkpoint)
sam.to(device=device)
predictor = SamPredictor(sam)
assert not predictor.is_image_set and predictor.features is None
predictor.set_image(image)
assert predictor.is_image_set
assert predictor.original_size == image.shape[:2]
assert max(predictor.input_size) == sam.image_encoder.img_size
image_embedding = predictor.get_image_embedding()
assert tuple(image_embedding.shape) == tuple(predictor.features.shape)

input_point = np.array([[click_x, click_y]])
input_label = np.array([1])
masks, scores, logits = predictor.predict(point_coords=input_point, point_labels=input_label,
                                          multimask_output=True)
mask_input = logits[np.argmax(scores), :, :]
refined, refined_scores, _ = predictor.predict(
    point_coords=np.array([[click_x, click_y], [second_x, second_y]]),
    point_labels=np.array([1, 1]), mask_input=mask_input[None, :, :], multimask_output=False)

input_box = np.array(box)
box_masks, _, _ = predictor.predict(point_coords=None, point_labels=None,
                                    box=input_box[None, :], multimask_output=False)

input_boxes = torch.tensor(boxes, device=predictor.device)
transformed_boxes = predictor.transform.apply_boxes_torch(input_boxes, image.shape[:2])
batch_masks, batch_scores, batch_logits = predictor.predict_torch(
    point_coords=None, point_labels=None, boxes=transformed_boxes, multimask_output=False)

coords = predictor.transform.apply_coords(input_point, predictor.original_size)
coords_torch = torch.as_tensor(coords, dtype=torch.float, device=predictor.device)[None, :, :]
labels_torch = torch.as_tensor(input_label, dtype=torch.int, device=predictor.device)[None, :]
torch_masks, torch_scores, torch_logits = predictor.predict_torch(
    coords_torch, labels_torch, multimask_output=True, return_logits=True)

transform = ResizeLongestSide(sam.image_encoder.img_size)
input_image = transform.apply_image(image)
input_image_torch = torch.as_tensor(input_image, device=predictor.device)
input_image_torch = input_image_torch.permute(2, 0, 1).contiguous()[None, :, :, :]
features_of_set_image = predictor.features
predictor.reset_image()
assert not predictor.is_image_set and predictor.original_size is None
predictor.set_torch_image(input_image_torch, image.shape[:2])
again, again_scores, _ = predictor.predict(point_coords=input_point, point_labels=input_label)

resized_torch = transform.apply_image_torch(
    torch.as_tensor(image).permute(2, 0, 1)[None].float())
points_torch = transform.apply_coords_torch(torch.tensor(input_point, dtype=torch.float),
                                            image.shape[:2])
boxes_np = transform.apply_boxes(input_box, image.shape[:2])
"""


def _run_upstream_script(**inputs) -> dict:
    ours = UPSTREAM_SCRIPT.replace(
        'from segment_anything import SamPredictor, sam_model_registry',
        'from sam_ros.core import SamPredictor, sam_model_registry').replace(
        'from segment_anything.utils.transforms import ResizeLongestSide',
        'from sam_ros.core import ResizeLongestSide')
    assert ours.count('\n') == UPSTREAM_SCRIPT.count('\n') and 'segment_anything' not in ours
    namespace = dict(inputs)
    exec(compile(ours, 'upstream_script', 'exec'), namespace)   # noqa: S102 - our own text
    return namespace


def _scene_inputs() -> dict:
    scene = SceneGenerator(seed=1000).scene(3, 640, 480)
    whole = scene.objects[-1].levels[-1]
    ys, xs = np.nonzero(scene.objects[-1].levels[0])
    rows, cols = np.flatnonzero(whole.any(axis=1)), np.flatnonzero(whole.any(axis=0))
    box = [int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])]
    return {'model_type': 'embedded', 'sam_checkpoint': None, 'device': 'cpu',
            'image': scene.image, 'click_x': int(xs[len(xs) // 2]),
            'click_y': int(ys[len(ys) // 2]), 'second_x': int(xs[0]), 'second_y': int(ys[0]),
            'box': box, 'boxes': [box, [10, 10, 200, 150], [300, 200, 639, 479]]}


def test_an_upstream_predictor_script_runs_unchanged_but_for_its_imports():
    run = _run_upstream_script(**_scene_inputs())
    height, width = run['image'].shape[:2]
    grid = run['sam'].embedding_grid
    assert run['masks'].shape == (3, height, width) and run['masks'].dtype == bool
    assert run['scores'].shape == (3,) and run['logits'].shape == (3, 4 * grid, 4 * grid)
    assert run['refined'].shape == (1, height, width) and run['refined_scores'].shape == (1,)
    assert run['box_masks'].shape == (1, height, width)
    assert tuple(run['batch_masks'].shape) == (3, 1, height, width)
    assert tuple(run['batch_scores'].shape) == (3, 1)
    assert tuple(run['batch_logits'].shape) == (3, 1, 4 * grid, 4 * grid)
    # predict_torch on transformed coordinates is what predict does on pixel coordinates.
    assert run['torch_masks'].dtype == torch.float32
    np.testing.assert_array_equal(run['torch_masks'][0].numpy() > 0, run['masks'])
    np.testing.assert_allclose(run['torch_scores'][0].numpy(), run['scores'], atol=1e-6)
    np.testing.assert_allclose(run['torch_logits'][0].numpy(), run['logits'], atol=1e-6)
    # the first box of the batch is the single box prompt
    np.testing.assert_array_equal(run['batch_masks'][0].numpy(), run['box_masks'])
    # set_torch_image on transform.apply_image equals set_image
    assert torch.equal(run['predictor'].features, run['features_of_set_image'])
    np.testing.assert_array_equal(run['again'], run['masks'])
    assert tuple(run['resized_torch'].shape) == (1, 3, 384, 512)
    np.testing.assert_allclose(run['points_torch'].numpy(), run['coords'], rtol=1e-6)


def test_resize_longest_side_follows_upstreams_numbers():
    transform = ResizeLongestSide(1024)
    assert transform.get_preprocess_shape(480, 640, 1024) == (768, 1024)
    assert transform.get_preprocess_shape(720, 1280, 1024) == (576, 1024)
    np.testing.assert_allclose(transform.apply_coords(np.array([[640, 480], [0, 0]]),
                                                      (480, 640)), [[1024, 768], [0, 0]])
    boxes = transform.apply_boxes(np.array([10, 20, 320, 240]), (480, 640))
    assert boxes.shape == (1, 4) and boxes.dtype == np.float64
    np.testing.assert_allclose(boxes, [[16, 32, 512, 384]])
    torch_boxes = transform.apply_boxes_torch(torch.tensor([[10, 20, 320, 240]]), (480, 640))
    np.testing.assert_allclose(torch_boxes.numpy(), boxes)
    image = np.zeros((480, 640, 3), np.uint8)
    assert transform.apply_image(image).shape == (768, 1024, 3)


def test_mask_input_sizes_follow_the_model_and_say_so():
    predictor = SamPredictor(sam_model_registry['embedded'](), device='cpu', precision='fp32')
    assert predictor.low_res_size == (128, 128)     # the embedded model: G = 32
    predictor.set_image(np.zeros((240, 320, 3), np.uint8))
    with pytest.raises(PromptError, match=r'\(1, 128, 128\) low-res logits'):
        predictor.predict(point_coords=np.array([[5, 5]]), point_labels=np.array([1]),
                          mask_input=np.zeros((1, 256, 256), np.float32))
    with pytest.raises(PromptError, match=r'\(B, 1, 128, 128\)'):
        predictor.predict_torch(torch.zeros(1, 1, 2), torch.ones(1, 1),
                                mask_input=torch.zeros(1, 1, 256, 256))
    with torch.device('meta'):
        official = sam_model_registry['vit_b']()
    assert 4 * official.embedding_grid == 256    # the official models: upstream's 256 x 256
