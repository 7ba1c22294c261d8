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
``detections_to_batch`` on real ``vision_msgs`` messages (skipped where it is missing).

PyPI has no vision_msgs wheel: docs/CONTRIBUTING.md says how it was built from source
to run these. The checks are against the message definitions themselves (field names
and types), so a change of layout upstream fails here, not on a robot.
"""

import math

import numpy as np
import pytest
from sam_ros.msg import SegmentPrompt
from sam_ros.node import batch_conversions as bconv

vision = pytest.importorskip(
    'vision_msgs.msg',
    reason='vision_msgs is not importable (no wheel on PyPI; build ros-perception/'
           'vision_msgs from source as docs/CONTRIBUTING.md says, or install '
           'ros-<distro>-vision-msgs)')


def _detection(cx, cy, w, h, hypotheses=(), det_id='', theta=0.0):
    detection = vision.Detection2D(id=det_id)
    detection.bbox.center.position.x = float(cx)
    detection.bbox.center.position.y = float(cy)
    detection.bbox.center.theta = float(theta)
    detection.bbox.size_x, detection.bbox.size_y = float(w), float(h)
    for class_id, score in hypotheses:
        result = vision.ObjectHypothesisWithPose()
        result.hypothesis.class_id, result.hypothesis.score = class_id, float(score)
        detection.results.append(result)
    return detection


def test_the_message_layout_is_the_one_the_conversion_reads():
    fields = vision.BoundingBox2D.get_fields_and_field_types()
    assert fields == {'center': 'vision_msgs/Pose2D', 'size_x': 'double', 'size_y': 'double'}
    assert vision.Pose2D.get_fields_and_field_types() == {
        'position': 'vision_msgs/Point2D', 'theta': 'double'}
    assert vision.Point2D.get_fields_and_field_types() == {'x': 'double', 'y': 'double'}
    assert vision.Detection2D.get_fields_and_field_types() == {
        'header': 'std_msgs/Header', 'results': 'sequence<vision_msgs/ObjectHypothesisWithPose>',
        'bbox': 'vision_msgs/BoundingBox2D', 'id': 'string'}
    assert vision.ObjectHypothesis.get_fields_and_field_types() == {
        'class_id': 'string', 'score': 'double'}
    assert vision.Detection2DArray.get_fields_and_field_types() == {
        'header': 'std_msgs/Header', 'detections': 'sequence<vision_msgs/Detection2D>'}


def test_a_real_detection_array_becomes_one_box_prompt_per_detection():
    array = vision.Detection2DArray()
    array.header.frame_id = 'camera_optical'
    array.header.stamp.sec, array.header.stamp.nanosec = 12, 345
    array.detections = [
        _detection(100.0, 80.0, 40.0, 20.0, [('cup', 0.3), ('mug', 0.8), ('bowl', 0.5)],
                   det_id='track-7'),
        _detection(10.5, 20.25, 5.0, 7.5),  # no id, no hypothesis
    ]
    # Each detection's own header is not used: the array's stamp names the frame.
    array.detections[0].header.frame_id = 'elsewhere'
    batch = bconv.detections_to_batch(array, 'detections/3')
    assert batch.batch_id == 'detections/3'
    assert batch.header.frame_id == 'camera_optical'
    assert (batch.header.stamp.sec, batch.header.stamp.nanosec) == (12, 345)
    assert [p.id for p in batch.prompts] == ['track-7', 'detection/1']
    # BoundingBox2D is a centre and a FULL width/height (not half sizes, not a corner).
    np.testing.assert_allclose(batch.prompts[0].box, [80.0, 70.0, 120.0, 90.0])
    np.testing.assert_allclose(batch.prompts[1].box, [8.0, 16.5, 13.0, 24.0])
    assert [p.class_id for p in batch.prompts] == ['mug', '']
    np.testing.assert_allclose([p.class_score for p in batch.prompts], [0.8, 0.0])
    assert all(p.has_box and not p.points and p.mode == SegmentPrompt.MODE_AUTO
               for p in batch.prompts)
    assert all(prompt is not None for prompt, _ in bconv.batch_prompts(batch))


def test_an_empty_array_gives_an_empty_batch():
    batch = bconv.detections_to_batch(vision.Detection2DArray(), 'detections/1')
    assert list(batch.prompts) == []


def test_a_rotated_box_becomes_the_axis_aligned_box_enclosing_it():
    array = vision.Detection2DArray(detections=[
        _detection(50.0, 40.0, 20.0, 10.0, theta=math.pi / 2),
        _detection(50.0, 40.0, 20.0, 10.0, theta=math.pi / 6)])
    quarter, sixth = (p.box for p in bconv.detections_to_batch(array, 'd').prompts)
    np.testing.assert_allclose(quarter, [45.0, 30.0, 55.0, 50.0], atol=1e-9)
    corners = np.array([[sx * 10.0, sy * 5.0] for sx in (-1, 1) for sy in (-1, 1)])
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    rotated = corners @ np.array([[c, s], [-s, c]]) + [50.0, 40.0]
    np.testing.assert_allclose(sixth, [*rotated.min(0), *rotated.max(0)], atol=1e-9)


def test_bad_detections_fail_only_their_own_prompt():
    array = vision.Detection2DArray(detections=[
        _detection(50.0, 40.0, 20.0, 10.0),
        _detection(50.0, 40.0, -20.0, 10.0),            # negative size: inverted box
        _detection(float('nan'), 40.0, 20.0, 10.0),     # non-finite centre
        _detection(50.0, 40.0, 20.0, 10.0, theta=float('inf'))])
    converted = bconv.batch_prompts(bconv.detections_to_batch(array, 'd'))
    assert [prompt is not None for prompt, _ in converted] == [True, False, False, False]
    assert 'inverted' in converted[1][1]
    assert all(why for _, why in converted[1:])
