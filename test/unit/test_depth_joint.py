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
Equivalence tests of the shared-work depth path: ``measure_masks`` and the fast cloud.

``measure_masks`` measures an answer's masks together on the union of their boxes;
each result must equal ``measure_mask`` of that mask alone, and both a plain
full-frame reference written here, bit for bit. The cloud built from rows and grid
colours must equal ``points_to_cloud`` of the same points and pixel colours.
"""

import itertools

import cv2
import numpy as np
import pytest
from sam_ros.core.backproject import DepthOptions, Intrinsics, measure_mask, measure_masks
from sam_ros.core.depth import DepthFrame
from sam_ros.node.cloud import grid_colours, points_to_cloud, rows_to_cloud
from sam_ros.synthetic.depth import scene_depth, to_millimetres
from sam_ros.synthetic.world import SceneGenerator
from std_msgs.msg import Header


@pytest.fixture(scope='module')
def world():
    scene = SceneGenerator(seed=7).scene(3, 320, 240)
    truth = scene_depth(scene)
    rng = np.random.default_rng(2)
    noisy = truth.depth + rng.normal(0.0, 0.01, truth.depth.shape)
    noisy[rng.random(noisy.shape) < 0.05] = 0.0          # holes
    metres = noisy.astype(np.float32)
    metres[rng.random(noisy.shape) < 0.02] = np.nan
    return scene, truth, noisy, metres


def _box(mask):
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (cols[0], rows[0], cols[-1], rows[-1]) if rows.size else (0, 0, 0, 0)


def _reference(mask, frame, intrinsics, options):
    """Measure ``mask`` the plain way: whole-frame arrays, a sort for the percentiles."""
    depth = frame.depth
    (dh, dw), (h, w) = depth.shape, mask.shape
    us = np.clip(((np.arange(dw) + 0.5) * w / dw).astype(np.int64), 0, w - 1)
    vs = np.clip(((np.arange(dh) + 0.5) * h / dh).astype(np.int64), 0, h - 1)
    on_depth = mask[vs[:, None], us[None, :]] if (dh, dw) != (h, w) else mask
    e = options.erode_px
    if e:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * e + 1,) * 2)
        padded = np.pad(on_depth.astype(np.uint8), e + 1)
        on_depth = cv2.erode(padded, kernel)[e + 1:-e - 1, e + 1:-e - 1].astype(bool)
    sampled = np.zeros_like(on_depth)
    sampled[::options.stride, ::options.stride] = on_depth[::options.stride,
                                                           ::options.stride]
    z_all = frame.metres(depth)
    v, u = np.nonzero(sampled & (z_all > options.min_range) & (z_all <= options.max_range))
    z = z_all[v, u]
    x_of_u = ((np.arange(dw) - intrinsics.cx) / intrinsics.fx).astype(np.float32)
    y_of_v = ((np.arange(dh) - intrinsics.cy) / intrinsics.fy).astype(np.float32)
    xyz = np.stack([x_of_u[u] * z, y_of_v[v] * z, z])
    n = z.size
    ordered = np.sort(z)
    median = ordered[(n - 1) // 2]
    keep = np.ones(n, bool)
    if options.trim_percent > 0.0 and n > 2:
        t = options.trim_percent / 100.0
        keep = (z >= ordered[int(round((n - 1) * t))]) & \
            (z <= ordered[int(round((n - 1) * (1.0 - t)))])
    rows = [np.ascontiguousarray(row[keep]) for row in xyz]
    return {'valid_pixels': n, 'sampled_pixels': int(sampled.sum()),
            'median_depth': float(median), 'xyz': xyz,
            'uv': np.stack([u, v]).astype(np.int32),
            'centroid': np.array([r.mean() for r in rows], np.float64),
            'extent_min': np.array([r.min() for r in rows], np.float64),
            'extent_max': np.array([r.max() for r in rows], np.float64)}


def _assert_same(a, b):
    assert (a.ok, a.reason, a.valid_pixels, a.sampled_pixels) == \
        (b.ok, b.reason, b.valid_pixels, b.sampled_pixels)
    assert a.median_depth == b.median_depth
    for name in ('centroid', 'extent_min', 'extent_max', 'xyz', 'uv'):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


@pytest.mark.parametrize('frame_kind', ['16UC1', '32FC1', 'half'])
def test_masks_measured_together_equal_each_measured_alone(world, frame_kind):
    scene, truth, noisy, metres = world
    h, w = noisy.shape
    intrinsics = Intrinsics.from_k(truth.k, w, h)
    if frame_kind == '16UC1':
        frame = DepthFrame(1, 'c', to_millimetres(noisy), 0.001)
    elif frame_kind == '32FC1':
        frame = DepthFrame(1, 'c', metres)
    else:
        frame = DepthFrame(1, 'c', to_millimetres(noisy[::2, ::2]), 0.001)
        intrinsics = intrinsics.scaled_to(w // 2, h // 2)
    empty = np.zeros((h, w), bool)
    masks = [m for obj in scene.objects for m in obj.levels] + [empty]
    boxes = [_box(m) for m in masks[:-1]] + [(0, 0, 100, 100)]   # a box too big
    compared = 0
    for erode, stride, trim, max_range in itertools.product((0, 1, 4), (1, 3), (0.0, 2.0),
                                                            (20.0, 1.5)):
        options = DepthOptions(erode, stride, 0.05, max_range, trim)
        for given in (None, boxes):
            together = measure_masks(masks, frame, intrinsics, options, given)
            for i, mask in enumerate(masks):
                alone = measure_mask(mask, frame, intrinsics, options,
                                     None if given is None else given[i])
                _assert_same(alone, together[i])
                if alone.ok:
                    reference = _reference(mask, frame, intrinsics, options)
                    for name, value in reference.items():
                        assert np.array_equal(getattr(alone, name), value), name
                    compared += 1
    assert compared > 40


def test_rows_and_grid_colours_give_the_cloud_of_points_and_pixel_colours(world):
    scene, truth, noisy, _ = world
    header = Header(frame_id='cam')
    for half in (False, True):
        depth = noisy[::2, ::2] if half else noisy
        dh, dw = depth.shape
        intrinsics = Intrinsics.from_k(truth.k, 320, 240).scaled_to(dw, dh)
        frame = DepthFrame(1, 'c', to_millimetres(depth), 0.001)
        masks = list(scene.objects[0].levels)
        measured = [m for m in measure_masks(masks, frame, intrinsics,
                                             DepthOptions(1, 2)) if m.ok]
        colours = grid_colours(scene.image, measured[0].grid, (dh, dw))
        for m in measured:
            cols = np.minimum(((m.uv[0] + 0.5) * (320 / dw)).astype(np.int64), 319)
            rows = np.minimum(((m.uv[1] + 0.5) * (240 / dh)).astype(np.int64), 239)
            rgb = scene.image[rows, cols]
            index = np.arange(m.valid_pixels) % 3
            expected = points_to_cloud(header, m.points, rgb, index)
            fast = rows_to_cloud(header, m.xyz, colours[m.grid_index], index)
            assert bytes(fast.data) == bytes(expected.data)
            assert (fast.width, fast.point_step, fast.row_step) == \
                (expected.width, expected.point_step, expected.row_step)
            assert [f.name for f in fast.fields] == [f.name for f in expected.fields]
