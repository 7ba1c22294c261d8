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
Every prompt gets exactly one answer under load, work per prompt is bounded (tier 3).

Bursts on ~/prompt, ~/segment and ~/point: every prompt is answered once, OK or BUSY
(the module's node has a small queue, prompt_queue_size 8, so a burst overflows it).
Oversized prompts and frames are refused before any work. (SIGINT under load:
test_node_shutdown.py, a module of its own so that only one node runs.)
"""

import threading
import time

from geometry_msgs.msg import Point, PointStamped
import numpy as np
import pytest
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.srv import Segment
from std_msgs.msg import Header

pytestmark = pytest.mark.node

OK = SegmentResult.STATUS_OK
BUSY = SegmentResult.STATUS_BUSY
BURST = 200
QUEUE = 8
# A publisher must hold a whole burst itself (see docs/node.md, "Prompt QoS").
KEEP_ALL = QoSProfile(history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture(scope='module')
def load_node(start_node, client, helpers):
    """Start a node with a small prompt queue and a small image bound."""
    helpers.require_embedded_model()
    # results_qos_depth >= the burst: the node keeps every undelivered answer of a burst.
    node = start_node(f'prompt_queue_size:={QUEUE}', 'max_image_pixels:=100000',
                      f'results_qos_depth:={5 * BURST}')
    client.wait_ready(node)
    return node


@pytest.fixture(scope='module')
def frame(load_node, client, helpers, stamps):
    """Publish one frame and return its stamp once the node answered a prompt on it."""
    world = helpers.scene(7)
    t = stamps()
    client.publish_frame(world.image, t)
    assert client.send(helpers.point_prompt('warm-up', 160, 120, t)).status == OK
    return t


def _wait_all(client, ids, what):
    return client.wait_for(lambda: all(client.results_for(i) for i in ids), what,
                           timeout=600.0)


def _check_each_once(client, ids):
    statuses = {}
    for prompt_id in ids:
        results = client.results_for(prompt_id)
        assert len(results) == 1, f'{prompt_id}: {len(results)} answers'
        statuses[prompt_id] = results[0]
    assert {r.status for r in statuses.values()} <= {OK, BUSY}, {
        r.status for r in statuses.values()}
    for result in statuses.values():
        if result.status == BUSY:
            assert 'queue is full' in result.message and 'prompts waiting' in result.message
    return statuses


def test_a_burst_of_prompts_gets_one_answer_each_ok_or_busy(load_node, client, helpers,
                                                            frame):
    publisher = client.node.create_publisher(SegmentPrompt, '/sam/prompt', KEEP_ALL)
    client.wait_for(lambda: publisher.get_subscription_count() > 0, 'the prompt subscriber')
    ids = [f'burst/{i}' for i in range(BURST)]
    for i, prompt_id in enumerate(ids):
        publisher.publish(helpers.point_prompt(prompt_id, 40 + i % 200, 100, frame))
    _wait_all(client, ids, f'{BURST} answers')
    time.sleep(1.0)     # a duplicate answer would arrive now
    statuses = _check_each_once(client, ids)
    kinds = [r.status for r in statuses.values()]
    assert kinds.count(OK) >= QUEUE and kinds.count(BUSY) > 0, kinds
    # The answered prompts are the newest: BUSY refuses the oldest waiting ones.
    assert statuses[ids[-1]].status == OK
    diagnostics = client.wait_diagnostic('refused busy', kinds.count(BUSY))
    assert int(diagnostics['prompts queued']) >= BURST
    assert int(diagnostics['status_busy']) >= kinds.count(BUSY)


def test_a_burst_of_service_calls_gets_one_answer_each(load_node, client, helpers, frame):
    service = client.node.create_client(Segment, '/sam/segment', qos_profile=KEEP_ALL)
    assert service.wait_for_service(timeout_sec=60.0)
    ids = [f'call/{i}' for i in range(BURST)]
    futures = [service.call_async(Segment.Request(prompt=helpers.point_prompt(
        prompt_id, 40 + i % 200, 100, frame))) for i, prompt_id in enumerate(ids)]
    done = threading.Event()
    left = [len(futures)]
    lock = threading.Lock()

    def one_done(_):
        with lock:
            left[0] -= 1
            if left[0] == 0:
                done.set()
    for future in futures:
        future.add_done_callback(one_done)
    assert done.wait(600.0), f'{left[0]} service calls unanswered'
    responses = [f.result().result for f in futures]
    assert [r.prompt_id for r in responses] == ids
    assert {r.status for r in responses} <= {OK, BUSY}
    _wait_all(client, ids, f'{BURST} results on ~/results')
    time.sleep(1.0)
    _check_each_once(client, ids)


def test_a_burst_on_the_point_topic_gets_one_answer_each(load_node, client, helpers, frame):
    publisher = client.node.create_publisher(PointStamped, '/sam/point', KEEP_ALL)
    client.wait_for(lambda: publisher.get_subscription_count() > 0, 'the point subscriber')
    before = {r.prompt_id for r in client.results if r.prompt_id.startswith('point/')}
    for i in range(BURST):
        msg = PointStamped(header=Header(stamp=helpers.stamp(frame)))
        msg.point = Point(x=float(40 + i % 200), y=100.0)
        publisher.publish(msg)

    def new_ids():
        with client._cond:
            return [r.prompt_id for r in client.results
                    if r.prompt_id.startswith('point/') and r.prompt_id not in before]
    client.wait_for(lambda: len(new_ids()) >= BURST, f'{BURST} point answers', 600.0)
    time.sleep(1.0)
    ids = new_ids()
    assert len(ids) == BURST and len(set(ids)) == BURST, (len(ids), len(set(ids)))
    _check_each_once(client, ids)


def test_a_prompt_with_100k_points_is_refused_before_any_work(
        load_node, client, helpers, frame):
    prompt = helpers.point_prompt('100k-points', 10, 10, frame)
    prompt.points = [Point(x=float(i % 300), y=float(i % 200)) for i in range(100_000)]
    prompt.labels = [1] * 100_000
    started = time.monotonic()
    result = client.send(prompt)
    latency = time.monotonic() - started
    print(f'100k-point prompt refused after {latency:.3f} s')
    assert result.status == SegmentResult.STATUS_INVALID_PROMPT
    assert 'max_prompt_points' in result.message and '100000 points' in result.message
    assert result.decode_time_ms == 0.0 and not result.masks
    long_id = client.send(helpers.point_prompt('x' * 5000, 10, 10, frame))
    assert long_id.status == SegmentResult.STATUS_INVALID_PROMPT
    assert 'max_prompt_id_length' in long_id.message


def test_an_image_over_max_image_pixels_is_refused_before_decoding(
        load_node, client, helpers, stamps):
    t = stamps()
    big = np.zeros((300, 400, 3), np.uint8)    # 120000 pixels > max_image_pixels 100000
    client.publish_frame(big, t)
    result = client.send(helpers.point_prompt('on-a-big-frame', 10, 10, t))
    assert result.status == SegmentResult.STATUS_BAD_IMAGE, result.message
    assert 'max_image_pixels' in result.message and 'not decoded' in result.message
    assert load_node.alive()


def test_a_prompt_on_a_never_received_frame_uses_the_nearest_held_frame(
        load_node, client, helpers, stamps):
    world = helpers.scene(12)
    step = 33_000_000
    first = stamps()
    for k in (0, 1, 3, 4):          # frame 2 is "lost": the scene does not change
        client.publish_frame(world.image, first + k * step)
    last = first + 4 * step
    assert client.send(helpers.point_prompt('on-last', 160, 120, last)).status == OK
    result = client.send(helpers.point_prompt('on-lost', 160, 120, first + 2 * step))
    assert result.status == OK, result.message
    assert abs(result.frame_offset_ns) == step
    used = result.header.stamp.sec * 1_000_000_000 + result.header.stamp.nanosec
    assert used == first + 2 * step + result.frame_offset_ns
    exact = client.send(helpers.point_prompt('on-received', 160, 120, first + step))
    assert exact.status == OK and exact.frame_offset_ns == 0
    changed = helpers.scene(13)
    client.publish_frame(changed.image, last + 2 * step)    # frame 5 lost, then a change
    assert client.send(helpers.point_prompt('on-changed', 160, 120,
                                            last + 2 * step)).status == OK
    across = client.send(helpers.point_prompt('across-change', 160, 120, last + step))
    assert across.status == SegmentResult.STATUS_STALE_FRAME, across.message
    stamps(8 * step)                # later stamps of this module come after these frames
