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
Depth fusion over real DDS: 3D fields, ~/cloud and ~/markers against the synthetic truth.

One node (depth remapped to /camera/depth) serves the module; the tests run in order:
the first ones send no depth, then no camera_info, then everything. Depth is published
before its colour frame, and the test waits until the node's diagnostics count it, so
no answer races its depth. All frames show the same scene (one encode).
"""

import array

import numpy as np
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node.cloud import cloud_to_numpy
from sam_ros.node.conversions import image_to_numpy
from sam_ros.synthetic.depth import scene_depth, surface_truth, to_millimetres
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import Marker, MarkerArray

pytestmark = pytest.mark.node

OK = SegmentResult.STATUS_OK
FRAME = 'camera_optical'
# An object the embedded model segments well at every level (mask IoU 0.66 / 0.84 /
# 0.95 at 320x240): a mask that leaks onto a neighbour moves its centroid with it.
SCENE, OBJECT = 35, 0


class _Depth:
    """The test's depth publisher, cloud and marker subscriptions, and helpers."""

    def __init__(self, client, helpers, stamps):
        self.client, self.helpers, self.stamps = client, helpers, stamps
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        node = client.node
        self.pub = node.create_publisher(Image, '/camera/depth', reliable)
        self.clouds, self.markers = [], []
        node.create_subscription(PointCloud2, '/sam/cloud', client._collect(self.clouds),
                                 reliable)
        node.create_subscription(MarkerArray, '/sam/markers', client._collect(self.markers),
                                 reliable)
        self.scene = helpers.scene(SCENE)
        self.truth = scene_depth(self.scene)
        self.sent = 0
        self.infos = 0

    def ready(self):
        self.client.wait_for(lambda: (self.pub.get_subscription_count() > 0
                                      and self.client.node.count_publishers('/sam/cloud')
                                      and self.client.node.count_publishers('/sam/markers')),
                             'the depth endpoints')

    def publish_depth(self, t, depth=None, encoding='16UC1', frame_id=FRAME, msg=None):
        if msg is None:
            depth = self.truth.depth if depth is None else depth
            msg = depth_image(depth, encoding, Header(stamp=self.helpers.stamp(t),
                                                      frame_id=frame_id))
        self.pub.publish(msg)
        self.sent += 1
        self.client.wait_diagnostic('depth frames received', self.sent)

    def publish_info(self):
        info = CameraInfo(header=Header(frame_id=FRAME), width=self.scene.width,
                          height=self.scene.height, k=list(self.truth.k))
        self.client.info_pub.publish(info)
        self.infos += 1
        self.client.wait_diagnostic('depth camera_info received', self.infos)

    def frame(self, depth=None, encoding='16UC1', **kwargs):
        t = self.stamps()
        self.publish_depth(t, depth, encoding, **kwargs)
        self.client.publish_frame(self.scene.image, t, frame_id=FRAME)
        return t

    def ask(self, prompt_id, t, level=0, mode=SegmentPrompt.MODE_MULTI):
        obj = self.obj
        x, y = self.helpers.inside_point(obj.levels[level])
        result = self.client.send(self.helpers.point_prompt(prompt_id, x, y, t, mode=mode))
        assert result.status == OK, result.message
        return result

    @property
    def obj(self):
        return self.scene.objects[OBJECT]


def depth_image(depth, encoding, header):
    """Return a 16UC1 (from metres) or 32FC1 ``Image`` of (H, W) float32 ``depth``."""
    pixels = to_millimetres(depth) if encoding == '16UC1' else depth.astype(np.float32)
    msg = Image(header=header, height=depth.shape[0], width=depth.shape[1],
                encoding=encoding, is_bigendian=0, step=depth.shape[1] * pixels.itemsize)
    data = array.array('B')
    data.frombytes(np.ascontiguousarray(pixels).tobytes())
    msg.data = data
    return msg


@pytest.fixture(scope='module')
def depth_node(start_node, client, helpers):
    helpers.require_embedded_model()
    node = start_node(ros_args=helpers.node_args() + ['-r', 'depth:=/camera/depth'])
    client.wait_ready(node)
    return node


@pytest.fixture(scope='module')
def depth(depth_node, client, helpers, stamps):
    made = _Depth(client, helpers, stamps)
    made.ready()
    return made


def test_without_depth_answers_are_unchanged_and_say_no_depth(depth_node, depth):
    t = depth.stamps()
    depth.client.publish_frame(depth.scene.image, t, frame_id=FRAME)
    result = depth.ask('no-depth', t)
    assert len(result.masks) == 3
    assert result.depth_status == SegmentResult.DEPTH_NONE
    assert result.depth_message.startswith('no depth') and '/camera/depth' in \
        result.depth_message
    assert not any(m.has_3d for m in result.masks)


def test_depth_before_any_camera_info_says_so(depth_node, depth):
    t = depth.frame()
    result = depth.ask('no-info', t)
    assert result.depth_status == SegmentResult.DEPTH_NO_CAMERA_INFO, result.depth_message
    assert 'camera_info' in result.depth_message


@pytest.mark.parametrize('level', [0, 1, 2])
def test_centroid_of_each_level_is_within_1cm_of_its_visible_surface(depth_node, depth,
                                                                     level):
    if not depth.infos:
        depth.publish_info()
    t = depth.frame()
    result = depth.ask(f'level-{level}', t, level=level)
    assert result.depth_status == SegmentResult.DEPTH_OK, result.depth_message
    assert result.depth_header.stamp == depth.helpers.stamp(t)
    assert result.depth_header.frame_id == FRAME
    mask = result.masks[level]
    assert mask.has_3d and mask.depth_valid_pixels > 0 and mask.depth_valid_fraction > 0.9
    truth, _, _ = surface_truth(depth.truth.depth, depth.obj.levels[level], depth.truth.k)
    measured = np.array([mask.centroid.x, mask.centroid.y, mask.centroid.z])
    predicted = image_to_numpy(mask.mask) > 0
    gt = depth.obj.levels[level]
    iou = (predicted & gt).sum() / (predicted | gt).sum()
    assert np.abs(measured - truth).max() < 0.01 + 0.0005, (measured, truth, iou)
    z = depth.truth.level_z[depth.scene.objects.index(depth.obj)][level]
    assert mask.median_depth == pytest.approx(z, abs=0.002)
    assert mask.size.x > 0 and mask.size.y > 0
    assert mask.extent_min.x < mask.centroid.x < mask.extent_max.x


def _newest_for(depth, messages, t, what):
    """Wait for the newest message in ``messages`` stamped ``t`` (answers' order may vary)."""
    wanted = depth.helpers.stamp(t)

    def stamp_of(msg):     # a MarkerArray has no header; its markers do
        return (msg.markers[0].header if isinstance(msg, MarkerArray) else msg.header).stamp
    return depth.client.wait_for(
        lambda: next((m for m in reversed(messages) if stamp_of(m) == wanted), None), what)


def _cloud_after(depth, t):
    return _newest_for(depth, depth.clouds, t, 'a cloud')


def test_cloud_points_project_back_inside_the_best_mask_with_markers(depth_node, depth):
    if not depth.infos:
        depth.publish_info()
    t = depth.frame()
    result = depth.ask('cloud', t)
    cloud = _cloud_after(depth, t)
    assert cloud.header.stamp == depth.helpers.stamp(t) and cloud.header.frame_id == FRAME
    assert cloud.is_dense and cloud.height == 1
    points = cloud_to_numpy(cloud)
    best = result.masks[result.best_index]
    assert len(points['xyz']) == best.depth_valid_pixels
    k = depth.truth.k
    xyz = points['xyz'].astype(np.float64)
    u = np.rint(xyz[:, 0] / xyz[:, 2] * k[0] + k[2]).astype(int)
    v = np.rint(xyz[:, 1] / xyz[:, 2] * k[4] + k[5]).astype(int)
    pixels = image_to_numpy(best.mask) > 0
    assert pixels[v, u].all()
    assert np.array_equal(points['rgb'], depth.scene.image[v, u])
    markers = _newest_for(depth, depth.markers, t, 'markers')
    assert markers.markers[0].action == Marker.DELETEALL
    boxes = [m for m in markers.markers if m.type == Marker.CUBE]
    assert len(boxes) == sum(m.has_3d for m in result.masks)


def test_16uc1_and_32fc1_give_the_same_cloud(depth_node, depth):
    if not depth.infos:
        depth.publish_info()
    clouds = []
    for encoding in ('16UC1', '32FC1'):
        t = depth.frame(encoding=encoding)
        depth.ask(f'encoding-{encoding}', t)
        clouds.append(cloud_to_numpy(_cloud_after(depth, t))['xyz'])
    assert clouds[0].shape == clouds[1].shape
    assert np.abs(clouds[0] - clouds[1]).max() < 0.001


def test_a_prompt_on_an_older_frame_gets_that_frames_depth(depth_node, depth):
    if not depth.infos:
        depth.publish_info()
    t_old = depth.frame()
    t_new = depth.frame(depth=depth.truth.depth + 0.5)
    new = depth.ask('depth-new', t_new, level=2)
    old = depth.ask('depth-old', t_old, level=2)
    assert old.depth_header.stamp == depth.helpers.stamp(t_old)
    assert new.depth_header.stamp == depth.helpers.stamp(t_new)
    assert new.masks[2].median_depth - old.masks[2].median_depth == pytest.approx(0.5, abs=2e-3)


def _bad_depth(kind, depth, header):
    good = depth.truth.depth
    if kind == 'unknown encoding':
        msg = depth_image(good, '16UC1', header)
        msg.encoding = '8UC3'
        return msg, SegmentResult.DEPTH_BAD_DEPTH, 'unsupported depth encoding'
    if kind == 'data length':
        msg = depth_image(good, '16UC1', header)
        msg.data = msg.data[:-10]
        return msg, SegmentResult.DEPTH_BAD_DEPTH, 'expected step'
    if kind == 'step':
        msg = depth_image(good, '16UC1', header)
        msg.step = 100
        return msg, SegmentResult.DEPTH_BAD_DEPTH, 'smaller than width'
    values = {'all zero': 0.0, 'all NaN': np.nan, 'inf': np.inf, 'negative': -1.0}
    if kind in values:
        return (depth_image(np.full_like(good, values[kind]), '32FC1', header),
                SegmentResult.DEPTH_NO_VALID, kind.split()[-1] if kind != 'all zero'
                else 'zero')
    if kind == 'size':
        return (depth_image(good[:, :300], '16UC1', header), SegmentResult.DEPTH_SIZE_MISMATCH,
                'register depth to colour')
    if kind == 'frame':
        header.frame_id = 'other_optical'
        return (depth_image(good, '16UC1', header), SegmentResult.DEPTH_FRAME_MISMATCH,
                'register depth to colour')
    raise ValueError(kind)


@pytest.mark.parametrize('kind', ['unknown encoding', 'data length', 'step', 'all zero',
                                  'all NaN', 'inf', 'negative', 'size', 'frame'])
def test_bad_depth_gets_its_reason_and_the_node_keeps_answering(depth_node, depth, kind):
    if not depth.infos:
        depth.publish_info()
    t = depth.stamps()
    msg, status, words = _bad_depth(kind, depth, Header(stamp=depth.helpers.stamp(t),
                                                        frame_id=FRAME))
    depth.publish_depth(t, msg=msg)
    depth.client.publish_frame(depth.scene.image, t, frame_id=FRAME)
    result = depth.ask(f'bad-depth-{kind}', t)
    assert result.depth_status == status, result.depth_message
    assert words in result.depth_message
    assert len(result.masks) == 3 and not any(m.has_3d for m in result.masks)
    good = depth.ask(f'after-bad-{kind}', depth.frame())
    assert good.depth_status == SegmentResult.DEPTH_OK, good.depth_message
    assert depth_node.alive()


def test_half_resolution_depth_of_the_same_camera_is_used_with_scaled_intrinsics(
        depth_node, depth):
    import cv2
    if not depth.infos:
        depth.publish_info()
    half = cv2.resize(depth.truth.depth, (depth.scene.width // 2, depth.scene.height // 2),
                      interpolation=cv2.INTER_NEAREST)
    t = depth.frame(depth=half)
    result = depth.ask('half-depth', t, level=2)
    assert result.depth_status == SegmentResult.DEPTH_OK, result.depth_message
    whole = result.masks[2]
    truth, _, _ = surface_truth(depth.truth.depth, depth.obj.whole, depth.truth.k)
    measured = np.array([whole.centroid.x, whole.centroid.y, whole.centroid.z])
    assert np.abs(measured - truth).max() < 0.015       # one depth pixel is two colour ones
    full = depth.ask('full-depth', depth.frame(), level=2).masks[2]
    assert whole.depth_valid_pixels == pytest.approx(full.depth_valid_pixels / 4, rel=0.1)


def _set_string(client, name, value):
    request = SetParameters.Request(parameters=[Parameter(name=name, value=ParameterValue(
        type=ParameterType.PARAMETER_STRING, string_value=value))])
    service = client.node.create_client(SetParameters, '/sam/set_parameters')
    try:
        assert service.wait_for_service(timeout_sec=30)
        future = service.call_async(request)
        client.wait_for(future.done, f'set_parameters {name}')
        return future.result().results[0]
    finally:
        client.node.destroy_client(service)


def test_cloud_masks_all_publishes_every_mask_with_its_index(depth_node, depth):
    if not depth.infos:
        depth.publish_info()
    assert _set_string(depth.client, 'cloud_masks', 'all').successful
    try:
        t = depth.frame()
        result = depth.ask('cloud-all', t)
        cloud = cloud_to_numpy(_cloud_after(depth, t))
        assert 'mask_index' in cloud
        counts = np.bincount(cloud['mask_index'], minlength=len(result.masks))
        assert counts.tolist() == [m.depth_valid_pixels for m in result.masks]
        rejected = _set_string(depth.client, 'cloud_masks', 'everything')
        assert not rejected.successful and 'whole' in rejected.reason
    finally:
        assert _set_string(depth.client, 'cloud_masks', 'best').successful


def test_a_depth_stamp_far_from_the_colour_frame_does_not_match(depth_node, depth):
    if not depth.infos:
        depth.publish_info()
    t = depth.stamps()
    depth.publish_depth(t + 400_000_000)
    depth.client.publish_frame(depth.scene.image, t, frame_id=FRAME)
    result = depth.ask('far-depth', t)
    assert result.depth_status == SegmentResult.DEPTH_NO_MATCH, result.depth_message
    assert 'depth_sync_tolerance' in result.depth_message
