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
``~/detections`` (``vision_msgs/Detection2DArray``) over real DDS (tier 3).

The detection tests run where vision_msgs imports (PyPI has none: docs/CONTRIBUTING.md
says how it was built from source) and skip with the reason where not. The first test
runs everywhere: the node subscribes to ``~/detections`` exactly where vision_msgs
imports, and says once at start when it does not.
"""

import importlib

import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.msg import SegmentBatchResult, SegmentResult
from sam_ros.node.conversions import image_to_numpy

pytestmark = pytest.mark.node

OK = SegmentResult.STATUS_OK
TIMEOUT_S = 120.0
OFF_LINE = 'vision_msgs is not importable: ~/detections'


def _vision():
    try:
        return importlib.import_module('vision_msgs.msg')
    except ImportError:
        return None


vision = _vision()
needs_vision = pytest.mark.skipif(
    vision is None,
    reason='vision_msgs is not importable (no wheel on PyPI; build ros-perception/vision_msgs '
           'from source as docs/CONTRIBUTING.md says, or install ros-<distro>-vision-msgs)')


@pytest.fixture(scope='module')
def detections(running_node, client):
    """Return (publisher on /sam/detections, the batch results received so far)."""
    if vision is None:
        pytest.skip('vision_msgs is not importable')
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    results = []
    pub = client.node.create_publisher(vision.Detection2DArray, '/sam/detections', reliable)
    client.node.create_subscription(SegmentBatchResult, '/sam/batch_results',
                                    client._collect(results), reliable)
    client.wait_for(lambda: pub.get_subscription_count() > 0
                    and client.node.count_publishers('/sam/batch_results') > 0,
                    'the node to subscribe to /sam/detections', 60.0)
    return pub, results


def _detection(box, det_id, hypotheses):
    x0, y0, x1, y1 = box
    detection = vision.Detection2D(id=det_id)
    detection.bbox.center.position.x = (x0 + x1) / 2.0
    detection.bbox.center.position.y = (y0 + y1) / 2.0
    detection.bbox.size_x, detection.bbox.size_y = float(x1 - x0), float(y1 - y0)
    for class_id, score in hypotheses:
        result = vision.ObjectHypothesisWithPose()
        result.hypothesis.class_id, result.hypothesis.score = class_id, float(score)
        detection.results.append(result)
    return detection


def _send(pub, results, client, array, first_id):
    pub.publish(array)
    return client.wait_for(
        lambda: next((r for r in results if r.results and r.results[0].prompt_id == first_id),
                     None), f'the batch result of detection {first_id!r}', TIMEOUT_S)


def test_detections_is_on_exactly_where_vision_msgs_imports(running_node, client):
    if vision is not None:
        client.wait_for(lambda: client.node.count_subscribers('/sam/detections') > 0,
                        'the node to subscribe to /sam/detections', 60.0)
    else:
        assert client.node.count_subscribers('/sam/detections') == 0
    assert (OFF_LINE in running_node.output()) == (vision is None), running_node.output()[-2000:]


@needs_vision
def test_detection2darray_boxes_are_segmented_like_single_boxes(
        detections, client, helpers, stamps):
    pub, results = detections
    world = helpers.scene(5)
    t = stamps()
    header = client.publish_frame(world.image, t)
    objects = [o.whole for o in world.objects if o.whole.sum() >= 300][:4]
    assert len(objects) >= 2
    boxes = []
    for whole in objects:
        x0, y0, x1, y1 = helpers.visible_box(whole)
        boxes.append((x0 - 2, y0 - 2, x1 + 2, y1 + 2))
    array = vision.Detection2DArray(header=header)
    for k, box in enumerate(boxes):
        array.detections.append(_detection(box, f'obj{k}', [('thing', 0.2), (f'c{k}', 0.9)]))
    array.detections.append(_detection((200.0, 100.0, 180.0, 140.0), 'inverted', []))
    answer = _send(pub, results, client, array, 'obj0')
    assert answer.batch_id.startswith('detections/')
    assert answer.status == OK, answer.message
    assert answer.header.stamp == helpers.stamp(t)
    assert [r.prompt_id for r in answer.results] == [f'obj{k}' for k in range(len(boxes))] + [
        'inverted']
    statuses = [r.status for r in answer.results]
    assert statuses == [OK] * len(boxes) + [SegmentResult.STATUS_INVALID_PROMPT]
    assert 'inverted' in answer.results[-1].message
    assert list(answer.class_ids) == [f'c{k}' for k in range(len(boxes))] + ['']
    np.testing.assert_allclose(answer.class_scores, [0.9] * len(boxes) + [0.0])
    labels = image_to_numpy(answer.label_image)
    assert labels.shape == world.image.shape[:2]
    assert not np.any(labels == len(boxes) + 1)
    # Each detection's mask is the one a single ~/segment box prompt gives on that frame.
    for k, box in enumerate(boxes):
        mine = answer.results[k]
        alone = client.call(helpers.box_prompt(f'det-alone/{k}', box, t))
        assert alone.status == OK, alone.message
        batch_mask = image_to_numpy(mine.masks[mine.best_index].mask) > 0
        single_mask = image_to_numpy(alone.masks[alone.best_index].mask) > 0
        # Exactly equal: the batch path runs the same region clean-up (min_region_area).
        assert mine.best_index == alone.best_index, k
        np.testing.assert_array_equal(batch_mask, single_mask, err_msg=f'detection {k}')


@needs_vision
def test_detections_for_a_frame_never_received_are_answered_stale(
        detections, client, helpers):
    pub, results = detections
    array = vision.Detection2DArray()
    array.header.stamp = helpers.stamp(1_000_000_000)
    array.detections = [_detection((1.0, 1.0, 20.0, 20.0), 'old0', [])]
    answer = _send(pub, results, client, array, 'old0')
    assert answer.status == SegmentResult.STATUS_STALE_FRAME
    assert [r.status for r in answer.results] == [SegmentResult.STATUS_STALE_FRAME]
