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
The node segments what it is asked to, over real DDS, in its own process (tier 3).

One node (embedded model, test defaults from conftest.node_args) serves the module.
Each test publishes its own frames with its own stamps.
"""

import math

import cv2
from geometry_msgs.msg import Point, Point32, PointStamped, PolygonStamped
import numpy as np
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from sam_ros.msg import SegmentMask, SegmentPrompt, SegmentResult
from sam_ros.node.conversions import image_to_numpy
from sensor_msgs.msg import CameraInfo

pytestmark = pytest.mark.node

OK = SegmentResult.STATUS_OK


def _diag_int(values, key):
    return int(values[key])


def _check_mask_images(result, height, width):
    for mask in result.masks:
        assert (mask.mask.encoding, mask.mask.height, mask.mask.width) == ('mono8', height,
                                                                           width)
        pixels = image_to_numpy(mask.mask)
        assert set(np.unique(pixels)) <= {0, 255}
        assert int(np.count_nonzero(pixels)) == mask.area
        assert mask.mask.header.stamp == result.header.stamp
        rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
        if mask.area:   # bbox is the tight box of the (cleaned) mask that is sent
            assert (mask.bbox.x_offset, mask.bbox.y_offset, mask.bbox.width,
                    mask.bbox.height) == (cols[0], rows[0], cols[-1] - cols[0] + 1,
                                          rows[-1] - rows[0] + 1)


def test_point_prompt_returns_three_masks_sorted_by_area_with_ious(
        running_node, client, helpers, stamps):
    world = helpers.scene(0)
    t = stamps()
    client.publish_frame(world.image, t)
    x, y = helpers.inside_point(world.objects[-1].levels[0])
    result = client.send(helpers.point_prompt('three-masks', x, y, t))
    assert result.status == OK, result.message
    assert result.header.stamp == helpers.stamp(t)
    assert result.header.frame_id == 'camera_optical'
    assert result.mode == SegmentPrompt.MODE_MULTI
    assert [m.level for m in result.masks] == [
        SegmentMask.LEVEL_SUBPART, SegmentMask.LEVEL_PART, SegmentMask.LEVEL_WHOLE]
    areas = [m.area for m in result.masks]
    assert areas == sorted(areas)
    ious = [m.predicted_iou for m in result.masks]
    assert all(math.isfinite(v) for v in ious)
    assert result.best_index == int(np.argmax(ious))
    assert all(0.0 <= m.stability_score <= 1.0 for m in result.masks)
    assert result.decode_time_ms > 0.0
    _check_mask_images(result, 240, 320)


def test_box_prompt_returns_one_mask(running_node, client, helpers, stamps):
    world = helpers.scene(1)
    t = stamps()
    client.publish_frame(world.image, t)
    box = helpers.visible_box(world.objects[-1].levels[-1])
    result = client.send(helpers.box_prompt('one-mask', box, t))
    assert result.status == OK, result.message
    assert len(result.masks) == 1
    assert result.masks[0].level == SegmentMask.LEVEL_SINGLE
    assert result.best_index == 0
    assert result.mode == SegmentPrompt.MODE_SINGLE
    _check_mask_images(result, 240, 320)


def test_identical_frames_are_not_re_encoded(running_node, client, helpers, stamps):
    image = helpers.scene(2).image
    x, y = helpers.inside_point(helpers.scene(2).objects[-1].levels[-1])
    t1 = stamps()
    client.publish_frame(image, t1)
    first = client.send(helpers.point_prompt('same-1', x, y, t1))
    assert first.status == OK, first.message
    before = client.diagnostics_after_results()
    frames = _diag_int(before, 'frames received')
    t2, t3 = stamps(), stamps()
    client.publish_frame(image.copy(), t2)
    client.publish_frame(image.copy(), t3)
    client.wait_diagnostic('frames received', frames + 2)
    again = client.send(helpers.point_prompt('same-3', x, y, t3))
    assert again.status == OK, again.message
    assert again.embedding_reused
    assert again.encode_time_ms == 0.0
    assert again.header.stamp == helpers.stamp(t3)
    after = client.diagnostics_after_results()
    assert _diag_int(after, 'encodes') == _diag_int(before, 'encodes')
    assert _diag_int(after, 'skipped encodes') >= _diag_int(before, 'skipped encodes') + 2


def test_stamped_prompt_on_an_older_cached_frame_uses_that_frame(
        running_node, client, helpers, stamps):
    older, newer = helpers.scene(3), helpers.scene(4)
    x, y = helpers.inside_point(older.objects[-1].levels[-1])
    t_old = stamps()
    client.publish_frame(older.image, t_old)
    on_old = client.send(helpers.point_prompt('old-1', x, y, t_old))
    assert on_old.status == OK, on_old.message
    t_new = stamps()
    client.publish_frame(newer.image, t_new)
    on_new = client.send(helpers.point_prompt('new-1', x, y, t_new))
    assert on_new.status == OK, on_new.message
    assert on_new.header.stamp == helpers.stamp(t_new)
    again = client.send(helpers.point_prompt('old-2', x, y, t_old))
    assert again.status == OK, again.message
    assert again.header.stamp == helpers.stamp(t_old)
    assert again.embedding_reused
    assert [m.area for m in again.masks] == [m.area for m in on_old.masks]
    assert [m.predicted_iou for m in again.masks] == [m.predicted_iou for m in on_old.masks]


def test_service_answers_and_publishes_the_same_result(running_node, client, helpers, stamps):
    world = helpers.scene(5)
    t = stamps()
    client.publish_frame(world.image, t)
    x, y = helpers.inside_point(world.objects[-1].levels[-1])
    response = client.call(helpers.point_prompt('by-service', x, y, t))
    assert response.status == OK, response.message
    assert response.prompt_id == 'by-service'
    assert len(response.masks) == 3
    published = client.result_for('by-service')
    assert published.header.stamp == response.header.stamp
    assert [m.area for m in published.masks] == [m.area for m in response.masks]


def test_point_and_box_topics_are_prompts(running_node, client, helpers, stamps):
    world = helpers.scene(6)
    t = stamps()
    header = client.publish_frame(world.image, t)
    x, y = helpers.inside_point(world.objects[-1].levels[-1])
    point = PointStamped(header=header)
    point.point.x, point.point.y = x, y
    client.point_pub.publish(point)
    by_point = client.wait_for(
        lambda: [r for r in client.results if r.prompt_id.startswith('point/')
                 and r.header.stamp == header.stamp], 'a result for the point topic')[0]
    assert by_point.status == OK, by_point.message
    assert len(by_point.masks) == 3
    x0, y0, x1, y1 = helpers.visible_box(world.objects[-1].levels[-1])
    polygon = PolygonStamped(header=header)
    polygon.polygon.points = [Point32(x=x1, y=y1), Point32(x=x0, y=y0)]
    client.box_pub.publish(polygon)
    by_box = client.wait_for(
        lambda: [r for r in client.results if r.prompt_id.startswith('box/')
                 and r.header.stamp == header.stamp], 'a result for the box topic')[0]
    assert by_box.status == OK, by_box.message
    assert [m.level for m in by_box.masks] == [SegmentMask.LEVEL_SINGLE]


def test_rqt_click_segments_the_latest_frame(running_node, client, helpers, stamps):
    world = helpers.scene(7)
    t = stamps()
    client.publish_frame(world.image, t)
    x, y = helpers.inside_point(world.objects[-1].levels[-1])
    assert client.send(helpers.point_prompt('before-click', x, y, t)).status == OK
    client.click_pub.publish(Point(x=x, y=y))
    clicked = client.wait_for(
        lambda: [r for r in client.results if r.prompt_id.startswith('click/')],
        'a result for the rqt click')[0]
    assert clicked.status == OK, clicked.message
    assert clicked.header.stamp == helpers.stamp(t)
    assert len(clicked.masks) == 3


def test_rviz_clicked_point_is_projected_with_camera_info(
        running_node, client, helpers, stamps):
    world = helpers.scene(8)
    t = stamps()
    header = client.publish_frame(world.image, t)
    info = CameraInfo(header=header, width=320, height=240, distortion_model='plumb_bob')
    info.k = [200.0, 0.0, 160.0, 0.0, 200.0, 120.0, 0.0, 0.0, 1.0]
    info.p = [200.0, 0.0, 160.0, 0.0, 0.0, 200.0, 120.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    info.d = [0.0] * 5
    client.info_pub.publish(info)
    x, y = helpers.inside_point(world.objects[-1].levels[-1])
    assert client.send(helpers.point_prompt('before-rviz', x, y, t)).status == OK
    depth = 2.0
    clicked = PointStamped()
    clicked.header.frame_id = 'camera_optical'
    clicked.point.x = (x - 160.0) * depth / 200.0
    clicked.point.y = (y - 120.0) * depth / 200.0
    clicked.point.z = depth

    def rviz_results():
        return [r for r in client.results if r.prompt_id.startswith('clicked_point/')]

    # camera_info travels on its own topic: repeat the click until the node has it.
    for attempt in range(20):
        client.clicked_point_pub.publish(clicked)
        count = attempt + 1
        answers = client.wait_for(lambda: len(rviz_results()) >= count and rviz_results(),
                                  'a result for /clicked_point')
        if answers[-1].status == OK:
            break
        assert 'camera_info' in answers[-1].message, answers[-1].message
        client.info_pub.publish(info)
    assert answers[-1].status == OK, answers[-1].message
    assert answers[-1].header.stamp == helpers.stamp(t)
    clicked.header.frame_id = 'map'
    client.clicked_point_pub.publish(clicked)
    foreign = client.wait_for(lambda: len(rviz_results()) > len(answers) and rviz_results(),
                              'a result for /clicked_point in another frame')[-1]
    assert foreign.status == SegmentResult.STATUS_INVALID_PROMPT
    assert 'map' in foreign.message


def test_refine_prompt_uses_an_earlier_result(running_node, client, helpers, stamps):
    world = helpers.scene(9)
    t = stamps()
    client.publish_frame(world.image, t)
    x, y = helpers.inside_point(world.objects[-1].levels[-1])
    base = client.send(helpers.point_prompt('refine-base', x, y, t))
    assert base.status == OK, base.message
    refined = helpers.point_prompt('refine-next', x, y, t, mode=SegmentPrompt.MODE_SINGLE)
    refined.refine_prompt_id = 'refine-base'
    refined.refine_mask_index = 2
    result = client.send(refined)
    assert result.status == OK, result.message
    assert len(result.masks) == 1


def test_best_mask_is_published_as_mono8(running_node, client, helpers, stamps):
    world = helpers.scene(10)
    t = stamps()
    client.publish_frame(world.image, t)
    x, y = helpers.inside_point(world.objects[-1].levels[-1])
    result = client.send(helpers.point_prompt('mask-topic', x, y, t))
    assert result.status == OK, result.message
    mask = client.wait_for(
        lambda: [m for m in client.masks if m.header.stamp == result.header.stamp],
        'a ~/mask image for the result')[0]
    assert mask.encoding == 'mono8'
    np.testing.assert_array_equal(image_to_numpy(mask),
                                  image_to_numpy(result.masks[result.best_index].mask))


def test_overlay_is_published_while_subscribed(running_node, client, helpers, stamps):
    world = helpers.scene(11)
    t = stamps()
    client.publish_frame(world.image, t)
    x, y = helpers.inside_point(world.objects[-1].levels[-1])
    client.subscribe_overlay()
    client.wait_for(lambda: client.overlay_sub.get_publisher_count() > 0,
                    'discovery of ~/overlay', timeout=30)
    # The node renders the overlay only once it has matched this subscription.
    overlay = None
    for attempt in range(20):
        result = client.send(helpers.point_prompt(f'overlay-{attempt}', x, y, t))
        assert result.status == OK, result.message
        try:
            overlay = client.wait_for(lambda: client.overlays and client.overlays[-1],
                                      'an overlay image', timeout=2)
            break
        except AssertionError:
            continue
    assert overlay is not None, 'no overlay after 20 prompts while subscribed'
    assert overlay.encoding == 'rgb8'
    assert (overlay.height, overlay.width) == (240, 320)
    assert overlay.header.stamp == helpers.stamp(t)
    assert not np.array_equal(image_to_numpy(overlay), world.image)


def test_camera_faster_than_the_encoder_never_queues(running_node, client, helpers, stamps):
    counters = ('encodes', 'dropped frames', 'skipped encodes')
    before = client.diagnostics_after_results()
    frames_before = _diag_int(before, 'frames received')
    settled_before = sum(_diag_int(before, k) for k in counters)
    for index in range(12):
        last = stamps(10_000_000)
        client.publish_frame(helpers.scene(20 + index).image, last)
    # A prompt on the last frame: the node waits for that frame if it is not there yet.
    on_last = client.send(helpers.point_prompt('burst-last', 160, 120, last))
    assert on_last.status == OK, on_last.message
    latest = client.send(helpers.point_prompt('after-burst', 160, 120))
    assert latest.status == OK, latest.message
    assert latest.header.stamp == helpers.stamp(last)   # the latest frame wins

    def settled():
        values = client.diagnostics[-1] if client.diagnostics else None
        if values is None:
            return None
        frames = _diag_int(values, 'frames received') - frames_before
        done = sum(_diag_int(values, k) for k in counters) - settled_before
        return values if frames >= 1 and done == frames else None

    # Every received frame is encoded once, skipped (unchanged) or dropped (replaced by a
    # newer one before the encoder was free): none waits in a queue.
    after = client.wait_for(settled, 'every burst frame encoded, skipped or dropped')
    assert _diag_int(after, 'cache entries') <= 8


def test_diagnostics_report_latency_and_counters(running_node, client):
    values = client.wait_diagnostic('prompts answered', 1)
    for key in ('encoder latency mean (ms)', 'decoder latency mean (ms)', 'encodes',
                'skipped encodes', 'dropped frames', 'prompts answered', 'errors'):
        assert key in values, key
    assert float(values['encoder latency mean (ms)']) > 0.0
    assert float(values['decoder latency mean (ms)']) > 0.0
    assert values['level'] == '0', values['message']


def _set(client, name, value):
    request = SetParameters.Request()
    if isinstance(value, str):
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)
    elif isinstance(value, bool):
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value)
    elif isinstance(value, int):
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_INTEGER,
                                         integer_value=value)
    else:
        parameter_value = ParameterValue(type=ParameterType.PARAMETER_DOUBLE,
                                         double_value=float(value))
    request.parameters = [Parameter(name=name, value=parameter_value)]
    service = client.node.create_client(SetParameters, '/sam/set_parameters')
    try:
        assert service.wait_for_service(timeout_sec=30)
        future = service.call_async(request)
        client.wait_for(future.done, f'set_parameters {name}')
        return future.result().results[0]
    finally:
        client.node.destroy_client(service)


def test_parameters_are_validated_at_runtime(running_node, client, helpers, stamps):
    rejected = _set(client, 'model_type', 'vit_b')
    assert not rejected.successful and 'read-only' in rejected.reason
    rejected = _set(client, 'encode_policy', 'sometimes')
    assert not rejected.successful and 'on_change' in rejected.reason
    assert _set(client, 'use_sim_time', False).successful   # not ours: left to rclpy
    accepted = _set(client, 'encode_policy', 'every_frame')
    assert accepted.successful, accepted.reason
    try:
        image = helpers.scene(12).image
        t1, t2 = stamps(), stamps()
        client.publish_frame(image, t1)
        first = client.send(helpers.point_prompt('policy-1', 160, 120, t1))
        assert first.status == OK, first.message
        before = client.diagnostics_after_results()
        client.publish_frame(image.copy(), t2)
        # every_frame encodes the identical frame again; on_change would reuse it.
        client.wait_diagnostic('encodes', _diag_int(before, 'encodes') + 1)
        again = client.send(helpers.point_prompt('policy-2', 160, 120, t2))
        assert again.status == OK, again.message
        assert again.header.stamp == helpers.stamp(t2)
    finally:
        assert _set(client, 'encode_policy', 'on_change').successful


def _small_islands(mask_image, min_area):
    pixels = (image_to_numpy(mask_image) > 0).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(pixels, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return int((areas < min_area).sum()) if count > 2 else 0


def test_masks_are_cleaned_of_small_islands_by_min_region_area(
        running_node, client, helpers, stamps):
    world = helpers.scene(45)   # its raw box masks have 22 islands below 256 px
    t = stamps()
    client.publish_frame(world.image, t)
    # min_region_area:=0 shows the raw masks; the default 256 cleans them.
    assert _set(client, 'min_region_area', 0).successful
    try:
        raw = [client.send(helpers.box_prompt(f'raw-{i}', helpers.visible_box(o.levels[-1]),
                                              t)) for i, o in enumerate(world.objects)]
    finally:
        assert _set(client, 'min_region_area', 256).successful
    cleaned = [client.send(helpers.box_prompt(f'clean-{i}',
                                              helpers.visible_box(o.levels[-1]), t))
               for i, o in enumerate(world.objects)]
    for result in raw + cleaned:
        assert result.status == OK, result.message
        _check_mask_images(result, 240, 320)
    assert all(_small_islands(r.masks[0].mask, 256) == 0 for r in cleaned)
    assert sum(_small_islands(r.masks[0].mask, 256) for r in raw) > 0, \
        'no raw mask of this scene had a small island: pick another scene'
    assert _set(client, 'min_region_area', -1).successful is False


def test_the_model_is_warmed_up_before_ready(running_node):
    lines = running_node.output().splitlines()
    warm = [i for i, line in enumerate(lines) if 'warmed up on a blank frame: encode' in line]
    ready = [i for i, line in enumerate(lines) if ']: ready: image' in line]
    assert len(warm) == 1 and len(ready) == 1, running_node.output()
    assert warm[0] < ready[0]


def test_an_incompatible_image_publisher_is_named_by_its_remapped_topic(running_node, client):
    from rclpy.event_handler import PublisherEventCallbacks
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    publisher = client.node.create_publisher(
        Image, '/camera/image', QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT),
        event_callbacks=PublisherEventCallbacks(incompatible_qos=lambda event: None))
    try:
        def warned():
            return [line for line in running_node.output().splitlines()
                    if 'incompatible QoS' in line]
        lines = client.wait_for(warned, 'the incompatible-QoS warning')
    finally:
        client.node.destroy_publisher(publisher)
    assert 'a publisher on /camera/image offers an incompatible QoS (RELIABILITY)' in lines[0]
    assert "'image'" not in lines[0] and 'image_qos_reliability' in lines[0]
