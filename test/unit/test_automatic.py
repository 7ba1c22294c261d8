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

"""The automatic mask generator: upstream's records, and each filter doing its job."""

import itertools

import numpy as np
import pytest
from sam_ros.core import amg, sam_model_registry, SamPredictor
from sam_ros.core.automatic import SamAutomaticMaskGenerator
from sam_ros.core.regions import clean_mask
from sam_ros.synthetic.world import SceneGenerator
import torch

_OFF = {'pred_iou_thresh': 0.0, 'stability_score_thresh': 0.0, 'box_nms_thresh': 1.0}
_KEYS = {'segmentation', 'area', 'bbox', 'predicted_iou', 'point_coords',
         'stability_score', 'crop_box'}


@pytest.fixture(scope='module')
def predictor():
    return SamPredictor(sam_model_registry['embedded'](), device='cpu', precision='fp32')


@pytest.fixture(scope='module')
def image():
    return SceneGenerator(seed=4).scene(0, 320, 240).image


@pytest.fixture(scope='module')
def unfiltered(predictor, image):
    """Every mask of an 8 x 8 grid: no IoU, stability or NMS filter."""
    return SamAutomaticMaskGenerator(predictor, points_per_side=8, **_OFF).generate(image)


def _run(predictor, image, **overrides):
    return SamAutomaticMaskGenerator(predictor, points_per_side=8,
                                     **{**_OFF, **overrides}).generate(image)


def _box_iou(a, b):
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    w = max(0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    h = max(0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    union = aw * ah + bw * bh - w * h
    return w * h / union if union > 0 else 0.0


def test_records_have_upstream_keys_and_types(unfiltered):
    assert len(unfiltered) == 8 * 8 * 3
    for record in unfiltered:
        assert set(record) == _KEYS
        mask = record['segmentation']
        assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == (240, 320)
        assert type(record['area']) is int and record['area'] == int(mask.sum())
        assert all(type(v) is int for v in record['bbox']) and len(record['bbox']) == 4
        if record['area']:
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            assert record['bbox'] == [cols[0], rows[0], cols[-1] - cols[0], rows[-1] - rows[0]]
        assert type(record['predicted_iou']) is float
        assert type(record['stability_score']) is float
        (x, y), = record['point_coords']
        assert type(x) is float and 0 <= x <= 320 and 0 <= y <= 240
        assert record['crop_box'] == [0, 0, 320, 240]
    # The grid is upstream's: cell centres of an 8 x 8 grid; records come best IoU first.
    points = {tuple(r['point_coords'][0]) for r in unfiltered}
    assert points == {(20.0 + 40 * i, 15.0 + 30 * j) for i in range(8) for j in range(8)}
    ious = [r['predicted_iou'] for r in unfiltered]
    assert ious == sorted(ious, reverse=True)


def test_pred_iou_filter_drops_masks_at_or_below_the_threshold(predictor, image, unfiltered):
    threshold = float(np.median([r['predicted_iou'] for r in unfiltered]))
    kept = _run(predictor, image, pred_iou_thresh=threshold)
    assert 0 < len(kept) < len(unfiltered)
    assert all(r['predicted_iou'] > threshold for r in kept)


def test_stability_filter_drops_unstable_masks(predictor, image, unfiltered):
    threshold = float(np.median([r['stability_score'] for r in unfiltered]))
    kept = _run(predictor, image, stability_score_thresh=threshold)
    assert 0 < len(kept) < len(unfiltered)
    assert all(r['stability_score'] >= threshold for r in kept)


def test_box_nms_leaves_no_pair_above_the_threshold(predictor, image, unfiltered):
    def worst(records):
        return max(_box_iou(a['bbox'], b['bbox'])
                   for a, b in itertools.combinations(records, 2))
    assert worst(unfiltered) > 0.7
    kept = _run(predictor, image, box_nms_thresh=0.7)
    assert 1 < len(kept) < len(unfiltered) and worst(kept) <= 0.7
    # The higher predicted IoU wins: the best mask of all survives.
    best = max(unfiltered, key=lambda r: r['predicted_iou'])
    assert kept[0]['predicted_iou'] == best['predicted_iou']


def test_min_mask_region_area_removes_small_islands_and_holes(predictor, image, unfiltered):
    assert any(clean_mask(r['segmentation'], 100)[1] for r in unfiltered)
    kept = _run(predictor, image, min_mask_region_area=100, box_nms_thresh=0.99)
    assert len(kept) > 0
    assert not any(clean_mask(r['segmentation'], 100)[1] for r in kept)
    for record in kept:
        assert record['area'] == int(record['segmentation'].sum())


def test_generate_from_embedding_equals_generate(predictor, image):
    generator = SamAutomaticMaskGenerator(predictor, points_per_side=6, **_OFF)
    direct = generator.generate(image)
    cached = generator.generate_from_embedding(predictor.encode(image))
    assert len(direct) == len(cached) == 108
    for a, b in zip(direct, cached):
        np.testing.assert_array_equal(a['segmentation'], b['segmentation'])
        assert a['predicted_iou'] == pytest.approx(b['predicted_iou'])
    assert set(generator.last_timings) == {'decode', 'filter', 'nms'}


def test_crop_layers_add_crop_records_in_image_pixels(predictor, image):
    generator = SamAutomaticMaskGenerator(predictor, points_per_side=4, crop_n_layers=1,
                                          **_OFF)
    records = generator.generate(image)
    crops = {tuple(r['crop_box']) for r in records}
    assert (0, 0, 320, 240) in crops and len(crops) > 1
    for record in records:
        x0, y0, w, h = record['crop_box']
        (x, y), = record['point_coords']
        assert x0 <= x <= x0 + w and y0 <= y <= y0 + h
        assert record['segmentation'].shape == (240, 320)
    with pytest.raises(ValueError, match='crop_n_layers=0'):
        generator.generate_from_embedding(predictor.encode(image))


def test_uncompressed_rle_decodes_to_the_binary_mask(predictor, image, unfiltered):
    rles = SamAutomaticMaskGenerator(predictor, points_per_side=8, output_mode='uncompressed_rle',
                                     **_OFF).generate(image)
    for rle, record in zip(rles[:20], unfiltered[:20]):
        assert rle['segmentation']['size'] == [240, 320]
        np.testing.assert_array_equal(amg.uncompressed_rle_to_mask(rle['segmentation']),
                                      record['segmentation'])
    assert amg.mask_to_uncompressed_rle(np.array([[1, 0], [1, 1]], bool))['counts'] == [0, 2, 1, 1]


@pytest.mark.parametrize('kwargs, fragment', [
    ({'points_per_side': None}, 'exactly one'),
    ({'output_mode': 'polygons'}, 'output_mode'),
    ({'points_per_batch': 0}, 'points_per_batch'),
    ({'point_grids': [np.zeros((4, 2))], 'points_per_side': None, 'crop_n_layers': 1},
     'one grid per crop layer'),
])
def test_bad_parameters_raise_value_error(predictor, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        SamAutomaticMaskGenerator(predictor, **kwargs)


def test_point_grid_and_crop_boxes_follow_upstream():
    np.testing.assert_allclose(amg.build_point_grid(2),
                               [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]])
    boxes, layers = amg.crop_boxes((100, 200), 1, 0.0)
    assert boxes == [[0, 0, 200, 100], [0, 0, 100, 50], [0, 50, 100, 100],
                     [100, 0, 200, 50], [100, 50, 200, 100]]
    assert layers == [0, 1, 1, 1, 1]
    boxes, _ = amg.crop_boxes((100, 200), 1, 0.2)
    assert boxes[1] == [0, 0, 110, 60]  # overlap int(0.2 * 100) = 20 px


def test_box_nms_suppresses_by_score_and_threshold():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 9.0]])
    scores = torch.tensor([0.5, 0.9, 0.8, 0.7])
    assert amg.box_nms(boxes, scores, 0.7).tolist() == [1, 2]
    assert amg.box_nms(boxes, scores, 0.95).tolist() == [1, 2, 3, 0]
    assert amg.box_nms(boxes[:0], scores[:0], 0.5).tolist() == []


def test_mask_boxes_and_crop_edges():
    masks = torch.zeros((2, 6, 8), dtype=torch.bool)
    masks[0, 1:3, 2:5] = True
    assert amg.mask_boxes_xyxy(masks).tolist() == [[2, 1, 4, 2], [0, 0, 0, 0]]
    crop, image_box = [100, 0, 200, 100], [0, 0, 200, 100]
    boxes = torch.tensor([[0, 10, 50, 50], [30, 30, 60, 60], [40, 40, 100, 100]])
    # Left crop edge (x = 100) is inside the image; right (200) and bottom (100) are not.
    assert amg.near_crop_edge(boxes, crop, image_box).tolist() == [True, False, False]
