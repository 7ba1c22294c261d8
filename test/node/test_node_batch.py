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

"""Batches, the label image and segment-everything over real DDS (tier 3)."""

import threading

import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.msg import (BatchPrompt, EverythingResult, SegmentBatch, SegmentBatchResult,
                         SegmentResult)
from sam_ros.node.conversions import image_to_numpy
from sam_ros.srv import Segment, SegmentEverything
from std_msgs.msg import Header

pytestmark = pytest.mark.node

OK = SegmentResult.STATUS_OK
TIMEOUT_S = 120.0


class BatchIO:
    """~/batch, ~/batch_results and ~/segment_everything on the shared test client."""

    def __init__(self, client) -> None:
        self.client = client
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        node = client.node
        self.results = []
        self.pub = node.create_publisher(SegmentBatch, '/sam/batch', reliable)
        node.create_subscription(SegmentBatchResult, '/sam/batch_results',
                                 client._collect(self.results), reliable)
        self.everything = node.create_client(SegmentEverything, '/sam/segment_everything')

    def ready(self) -> bool:
        return (self.pub.get_subscription_count() > 0 and self.everything.service_is_ready()
                and self.client.node.count_publishers('/sam/batch_results') > 0)

    def send(self, batch: SegmentBatch) -> SegmentBatchResult:
        self.pub.publish(batch)
        return self.client.wait_for(
            lambda: next((r for r in self.results if r.batch_id == batch.batch_id), None),
            f'the result of batch {batch.batch_id!r}', TIMEOUT_S)

    def call(self, request, service) -> object:
        future = service.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        assert done.wait(TIMEOUT_S), 'the service did not answer'
        return future.result()


@pytest.fixture(scope='module')
def io(running_node, client):
    made = BatchIO(client)
    client.wait_for(made.ready, 'the batch endpoints', 60.0)
    return made


def _mosaic(helpers):
    """Return a 640x480 frame of four synthetic scenes and its ten largest-enough objects."""
    image = np.zeros((480, 640, 3), np.uint8)
    objects = []
    for k, index in enumerate((0, 1, 2, 4)):
        world = helpers.scene(index)
        y0, x0 = 240 * (k // 2), 320 * (k % 2)
        image[y0:y0 + 240, x0:x0 + 320] = world.image
        for obj in world.objects:
            whole = np.zeros((480, 640), bool)
            whole[y0:y0 + 240, x0:x0 + 320] = obj.whole
            if whole.sum() >= 300:
                objects.append(whole)
    return image, objects[:10]


def _iou(a, b):
    return float((a & b).sum()) / max(float((a | b).sum()), 1.0)


def _batch(batch_id, boxes, stamp):
    batch = SegmentBatch(header=Header(stamp=stamp), batch_id=batch_id)
    for k, box in enumerate(boxes):
        batch.prompts.append(BatchPrompt(id=f'{batch_id}/{k}', has_box=True,
                                         box=[float(v) for v in box], class_id=f'class{k}',
                                         class_score=0.5 + k / 100))
    return batch


def test_ten_boxes_give_ten_objects_and_a_label_image(io, client, helpers, stamps):
    image, objects = _mosaic(helpers)
    assert len(objects) == 10
    t = stamps()
    client.publish_frame(image, t)
    # Detector-style boxes: 3 px of margin, so the boxes at the frame edge reach past it.
    boxes = []
    for whole in objects:
        x0, y0, x1, y1 = helpers.visible_box(whole)
        boxes.append((x0 - 3, y0 - 3, x1 + 3, y1 + 3))
    assert any(b[0] < 0 or b[1] < 0 or b[2] > 640 or b[3] > 480 for b in boxes)
    result = io.send(_batch('ten', boxes, helpers.stamp(t)))
    assert result.status == OK, result.message
    assert result.header.stamp == helpers.stamp(t) and result.decoder_passes == 1
    assert [r.status for r in result.results] == [OK] * 10
    assert [r.prompt_id for r in result.results] == [f'ten/{k}' for k in range(10)]
    assert list(result.class_ids) == [f'class{k}' for k in range(10)]
    np.testing.assert_allclose(result.class_scores, [0.5 + k / 100 for k in range(10)],
                               rtol=1e-6)
    label = result.label_image
    assert (label.encoding, label.height, label.width) == ('mono16', 480, 640)
    assert label.header.stamp == helpers.stamp(t)
    labels = image_to_numpy(label)
    masks = [image_to_numpy(r.masks[r.best_index].mask) > 0 for r in result.results]
    ious = [r.masks[r.best_index].predicted_iou for r in result.results]
    np.testing.assert_allclose(result.confidences, ious, rtol=1e-6)
    # The label image follows the overlap rule: pixel k belongs to mask k, and every mask
    # pixel goes to the covering object of the highest confidence.
    for k, mask in enumerate(masks):
        assert not np.any((labels == k + 1) & ~mask)
    owner = np.zeros((480, 640), np.int64)
    best = np.full((480, 640), -np.inf)
    for k, (mask, score) in enumerate(zip(masks, ious)):
        better = mask & (score > best)
        owner[better], best[better] = k + 1, score
    np.testing.assert_array_equal(labels, owner)
    # Each object's mask is what a single box prompt gives on the same frame.
    single_ious, batch_ious, label_ious = [], [], []
    for k, (whole, box) in enumerate(zip(objects, boxes)):
        alone = io.call(Segment.Request(prompt=helpers.box_prompt(f'alone/{k}', box, t)),
                        client.segment).result
        assert alone.status == OK, alone.message
        single = image_to_numpy(alone.masks[alone.best_index].mask) > 0
        single_ious.append(_iou(single, whole))
        batch_ious.append(_iou(masks[k], whole))
        label_ious.append(_iou(labels == k + 1, whole))
    np.testing.assert_allclose(batch_ious, single_ious, atol=0.01)
    # Resolving overlaps costs little against the ground truth (measured: 0.37 vs 0.41).
    assert np.mean(label_ious) >= np.mean(single_ious) - 0.06, (label_ious, single_ious)


def test_one_invalid_box_fails_only_itself(io, client, helpers, stamps):
    world = helpers.scene(3)
    t = stamps()
    client.publish_frame(world.image, t)
    good = helpers.visible_box(world.objects[-1].whole)
    boxes = [good, (400, 300, 500, 400), (50, 60, 40, 80), good]
    result = io.send(_batch('one-bad', boxes, helpers.stamp(t)))
    assert result.status == OK, result.message
    statuses = [r.status for r in result.results]
    assert statuses == [OK, SegmentResult.STATUS_INVALID_PROMPT,
                        SegmentResult.STATUS_INVALID_PROMPT, OK]
    assert 'does not overlap' in result.results[1].message
    assert 'inverted' in result.results[2].message
    labels = image_to_numpy(result.label_image)
    assert not np.any((labels == 2) | (labels == 3))
    assert list(result.confidences)[1:3] == [0.0, 0.0] and np.any(labels == 1)
    values = client.wait_diagnostic('batch objects not ok', 2)
    assert int(values['batches answered']) >= 1 and int(values['batch objects']) >= 4


def test_a_batch_without_a_frame_answers_every_object(io, client, helpers):
    batch = _batch('stale', [(1, 1, 20, 20), (5, 5, 30, 30)], helpers.stamp(1_000_000_000))
    result = io.send(batch)
    assert result.status == SegmentResult.STATUS_STALE_FRAME
    assert [r.status for r in result.results] == [SegmentResult.STATUS_STALE_FRAME] * 2


def test_segment_everything_covers_the_synthetic_objects(io, client, helpers, stamps):
    world = helpers.scene(0)
    t = stamps()
    client.publish_frame(world.image, t)
    response = io.call(SegmentEverything.Request(header=Header(stamp=helpers.stamp(t))),
                       io.everything)
    result: EverythingResult = response.result
    assert result.status == SegmentResult.STATUS_OK, result.message
    assert result.header.stamp == helpers.stamp(t)
    labels = image_to_numpy(result.label_image)
    assert labels.shape == (240, 320) and result.label_image.encoding == 'mono16'
    assert len(result.regions) > 0 and labels.max() <= len(result.regions)
    assert [r.label for r in result.regions] == list(range(1, len(result.regions) + 1))
    ious = [r.predicted_iou for r in result.regions]
    assert ious == sorted(ious, reverse=True)
    for obj in world.objects:
        covered = float((labels[obj.whole] > 0).mean())
        best = max(_iou(labels == k, obj.whole) for k in range(1, len(result.regions) + 1))
        assert covered >= 0.6 and best >= 0.4, (covered, best)
    assert result.decode_time_ms > 0.0
