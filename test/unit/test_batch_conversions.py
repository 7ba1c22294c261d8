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

"""Conversions of the batch and segment-everything messages (plain arrays and messages)."""

import numpy as np
import pytest
from sam_ros.core.errors import PromptError
from sam_ros.core.predictor import Prediction
from sam_ros.msg import BatchPrompt, SegmentBatch, SegmentPrompt, SegmentResult
from sam_ros.node import batch_conversions as bconv
from sam_ros.node import conversions as conv
from sam_ros.node.conversions import image_to_numpy
from std_msgs.msg import Header


def test_center_size_to_xyxy_on_plain_arrays():
    boxes = bconv.center_size_to_xyxy([[10.0, 20.0], [0.0, 0.0]], [[4.0, 6.0], [10.0, 2.0]])
    np.testing.assert_allclose(boxes, [[8, 17, 12, 23], [-5, -1, 5, 1]])
    assert bconv.center_size_to_xyxy(np.zeros((0, 2)), np.zeros((0, 2))).shape == (0, 4)
    with pytest.raises(PromptError, match='centres'):
        bconv.center_size_to_xyxy([[1.0, 2.0]], [[1.0, 1.0], [2.0, 2.0]])


def test_detector_boxes_become_a_batch_carrying_ids_and_classes():
    boxes = bconv.center_size_to_xyxy([[10.0, 20.0], [50.0, 60.0]], [[4.0, 6.0], [8.0, 8.0]])
    header = Header(frame_id='cam')
    batch = bconv.boxes_to_batch(header, boxes, ['d7', ''], ['cup', 'person'], [0.9, 0.4],
                                 'detections/1')
    assert batch.batch_id == 'detections/1' and batch.header.frame_id == 'cam'
    assert [p.id for p in batch.prompts] == ['d7', 'detection/1']
    assert [p.class_id for p in batch.prompts] == ['cup', 'person']
    np.testing.assert_allclose([p.class_score for p in batch.prompts], [0.9, 0.4])
    np.testing.assert_allclose(batch.prompts[1].box, [46, 56, 54, 64])
    assert all(p.has_box and p.mode == SegmentPrompt.MODE_AUTO for p in batch.prompts)
    # The batch converts like any other: every box becomes an engine prompt.
    assert all(prompt is not None for prompt, _ in bconv.batch_prompts(batch))
    with pytest.raises(PromptError, match='one of each'):
        bconv.boxes_to_batch(header, boxes, ['a'], ['cup', 'x'], [0.9, 0.4], 'b')


def test_batch_prompts_convert_each_prompt_on_its_own():
    batch = SegmentBatch(prompts=[
        BatchPrompt(id='a', has_box=True, box=[1.0, 2.0, 30.0, 40.0]),
        BatchPrompt(id='b', labels=[1]),  # a label without a point
        BatchPrompt(id='c', mode=7, has_box=True, box=[0.0, 0.0, 5.0, 5.0]),
        BatchPrompt(id='d', has_box=True, box=[9.0, 2.0, 3.0, 40.0],
                    mode=SegmentPrompt.MODE_MULTI),
    ])
    converted = bconv.batch_prompts(batch)
    assert [prompt is not None for prompt, _ in converted] == [True, False, False, False]
    prompt, error = converted[0]
    np.testing.assert_allclose(prompt.box, [1, 2, 30, 40])
    assert error == ''
    assert prompt.mode == 'auto' and prompt.point_coords is None
    assert 'labels' in converted[1][1] and 'mode' in converted[2][1]
    assert 'inverted' in converted[3][1]


def test_labels_become_mono16_with_the_frame_header():
    labels = np.array([[0, 1], [2, 65535]], np.uint16)
    header = Header(frame_id='cam')
    image = bconv.labels_to_image(labels, header)
    assert image.encoding == 'mono16' and image.header.frame_id == 'cam'
    np.testing.assert_array_equal(image_to_numpy(image), labels)


def _prediction(ious, box_clipped=0.0):
    count = len(ious)
    masks = np.zeros((count, 6, 8), bool)
    for i in range(count):
        masks[i, :i + 1, :2] = True
    return Prediction(masks=masks, iou=np.array(ious, np.float32),
                      stability=np.full(count, 0.5, np.float32),
                      low_res_logits=np.zeros((count, 4, 4), np.float32),
                      levels=('single',) * count, best_index=int(np.argmax(ious)),
                      areas=masks.reshape(count, -1).sum(1), boxes=np.zeros((count, 4)),
                      tokens=np.zeros(count, np.int64), mode='single',
                      box_clipped=box_clipped)


def test_best_kept_mask_respects_min_iou():
    prediction = _prediction([0.4, 0.9, 0.6])
    mask, score = bconv.best_kept_mask(prediction, 0.0)
    assert score == pytest.approx(0.9) and mask.sum() == 4
    assert bconv.best_kept_mask(prediction, 0.95) == (None, 0.0)


def test_a_large_box_clip_is_noted_in_the_result_message():
    header = Header()
    assert conv.prediction_to_result(_prediction([0.8], 0.05), header, 'p').message == ''
    result = conv.prediction_to_result(_prediction([0.8], 0.25), header, 'p')
    assert result.status == SegmentResult.STATUS_OK and '25%' in result.message


def test_record_becomes_a_region():
    record = {'segmentation': np.zeros((4, 4), bool), 'area': 12, 'bbox': [1, 2, 3, 4],
              'predicted_iou': 0.75, 'point_coords': [[5.5, 6.0]], 'stability_score': 0.9,
              'crop_box': [0, 0, 640, 480]}
    region = bconv.record_to_region(record, 3)
    assert region.label == 3 and region.area == 12
    assert (region.bbox.x_offset, region.bbox.y_offset, region.bbox.width,
            region.bbox.height) == (1, 2, 4, 5)
    assert (region.point.x, region.point.y) == (5.5, 6.0)
    assert region.predicted_iou == pytest.approx(0.75)
    assert (region.crop_box.width, region.crop_box.height) == (640, 480)
