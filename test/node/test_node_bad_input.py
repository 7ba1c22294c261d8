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
Bad input never kills the node: each gets its error status, and the node stays up (tier 3).

The module's node starts fresh: the first test prompts before any frame exists.
"""

import array

from geometry_msgs.msg import Point, Point32, PolygonStamped
import pytest
from sam_ros.msg import SegmentPrompt, SegmentResult
from sensor_msgs.msg import Image
from std_msgs.msg import Header

pytestmark = pytest.mark.node

OK = SegmentResult.STATUS_OK
INVALID = SegmentResult.STATUS_INVALID_PROMPT


def test_prompt_before_any_frame_gets_no_frame(running_node, client, helpers):
    result = client.send(helpers.point_prompt('too-early', 10, 10))
    assert result.status == SegmentResult.STATUS_NO_FRAME
    assert result.message
    assert len(result.masks) == 0 and result.best_index == -1
    stamped = client.send(helpers.point_prompt('too-early-stamped', 10, 10, 5_000_000_000))
    assert stamped.status == SegmentResult.STATUS_NO_FRAME


def _bad_image(kind, header):
    msg = Image(header=header, height=24, width=32, encoding='rgb8', step=96)
    data = bytes(24 * 96)
    if kind == 'wrong data length':
        data = data[:-5]
    elif kind == 'unknown encoding':
        msg.encoding = '32FC1'
    elif kind == 'step too small':
        msg.step = 50
        data = bytes(24 * 50)
    elif kind == 'zero size':
        msg.height = msg.width = msg.step = 0
        data = b''
    msg.data = array.array('B', data)
    return msg


@pytest.mark.parametrize('kind', ['wrong data length', 'unknown encoding', 'step too small',
                                  'zero size'])
def test_bad_image_is_dropped_and_prompts_on_it_get_bad_image(
        running_node, client, helpers, stamps, kind):
    t = stamps()
    header = Header(stamp=helpers.stamp(t), frame_id='camera_optical')
    client.image_pub.publish(_bad_image(kind, header))
    stamped = client.send(helpers.point_prompt(f'bad-image-{kind}', 5, 5, t))
    assert stamped.status == SegmentResult.STATUS_BAD_IMAGE, stamped.message
    assert stamped.message
    latest = client.send(helpers.point_prompt(f'bad-latest-{kind}', 5, 5))
    assert latest.status == SegmentResult.STATUS_BAD_IMAGE, latest.message
    assert running_node.alive()


@pytest.fixture
def good_frame(running_node, client, helpers, stamps):
    """Publish a good frame and return its stamp (ns) once the node has answered on it."""
    world = helpers.scene(30)
    t = stamps()
    client.publish_frame(world.image, t)
    result = client.send(helpers.point_prompt(f'good-{t}', 160, 120, t))
    assert result.status == OK, result.message
    return t


def _prompt(helpers, prompt_id, stamp_ns, points=(), labels=(), box=None, mode=0):
    prompt = SegmentPrompt(prompt_id=prompt_id, mode=mode)
    prompt.header.stamp = helpers.stamp(stamp_ns)
    prompt.points = [Point(x=float(x), y=float(y)) for x, y in points]
    prompt.labels = list(labels)
    if box is not None:
        prompt.has_box = True
        prompt.box = [float(v) for v in box]
    return prompt


@pytest.mark.parametrize('name,fields', [
    ('nan point', {'points': [(float('nan'), 10)], 'labels': [1]}),
    ('infinite point', {'points': [(10, float('inf'))], 'labels': [1]}),
    ('point right of the image', {'points': [(5000, 10)], 'labels': [1]}),
    ('point above the image', {'points': [(10, -3)], 'labels': [1]}),
    ('inverted box', {'box': (200, 150, 100, 50)}),
    ('box outside the image', {'box': (400, 300, 500, 400)}),
    ('labels missing', {'points': [(10, 10), (20, 20)], 'labels': [1]}),
    ('label not 0 or 1', {'points': [(10, 10)], 'labels': [3]}),
    ('no point and no box', {}),
    ('unknown mode', {'points': [(10, 10)], 'labels': [1], 'mode': 9}),
])
def test_invalid_prompt_gets_invalid_prompt(running_node, client, helpers, good_frame,
                                            name, fields):
    result = client.send(_prompt(helpers, f'invalid-{name}', good_frame, **fields))
    assert result.status == INVALID, (result.status, result.message)
    assert result.message
    assert len(result.masks) == 0 and result.best_index == -1
    assert running_node.alive()


def test_box_polygon_without_two_corners_gets_invalid_prompt(
        running_node, client, helpers, good_frame):
    polygon = PolygonStamped()
    polygon.header.stamp = helpers.stamp(good_frame)
    polygon.polygon.points = [Point32(x=1.0, y=1.0), Point32(x=5.0, y=5.0),
                              Point32(x=9.0, y=1.0)]
    client.box_pub.publish(polygon)
    result = client.wait_for(
        lambda: [r for r in client.results if r.prompt_id.startswith('box/')],
        'a result for the bad polygon')[0]
    assert result.status == INVALID
    assert 'two corners' in result.message


def test_unknown_refine_reference_gets_unknown_reference(running_node, client, helpers,
                                                         good_frame):
    prompt = _prompt(helpers, 'refine-unknown', good_frame, points=[(160, 120)], labels=[1])
    prompt.refine_prompt_id = 'never-sent'
    result = client.send(prompt)
    assert result.status == SegmentResult.STATUS_UNKNOWN_REFERENCE
    assert 'never-sent' in result.message


def test_refine_mask_index_out_of_range_gets_invalid_prompt(running_node, client, helpers,
                                                            good_frame):
    prompt = _prompt(helpers, 'refine-index', good_frame, points=[(160, 120)], labels=[1])
    prompt.refine_prompt_id = f'good-{good_frame}'
    prompt.refine_mask_index = 7
    result = client.send(prompt)
    assert result.status == INVALID
    assert 'refine_mask_index' in result.message


def test_prompt_older_than_max_prompt_age_gets_stale_frame(running_node, client, helpers,
                                                           stamps):
    world = helpers.scene(31)
    t_old = stamps()
    client.publish_frame(world.image, t_old)
    assert client.send(helpers.point_prompt('fresh', 160, 120, t_old)).status == OK
    t_new = stamps(10_000_000_000)  # 10 s later; max_prompt_age is 5 s
    client.publish_frame(helpers.scene(32).image, t_new)
    assert client.send(helpers.point_prompt('newest', 160, 120, t_new)).status == OK
    stale = client.send(helpers.point_prompt('stale', 160, 120, t_old))
    assert stale.status == SegmentResult.STATUS_STALE_FRAME
    assert 'max_prompt_age' in stale.message
    never = client.send(helpers.point_prompt('never-seen', 160, 120, t_new - 1_000_000))
    assert never.status == SegmentResult.STATUS_STALE_FRAME
    assert 'cache' in never.message


def test_node_is_alive_and_answers_after_bad_input(running_node, client, helpers, good_frame):
    assert running_node.alive()
    result = client.send(helpers.point_prompt('still-alive', 160, 120, good_frame))
    assert result.status == OK, result.message
    values = client.diagnostics_after_results()
    assert int(values['errors']) >= 10
    assert int(values['bad frames']) >= 4
    for prompt_id in ('too-early', 'invalid-nan point', 'refine-unknown', 'stale'):
        assert len(client.results_for(prompt_id)) == 1, prompt_id
    assert 'Traceback' not in running_node.output()
