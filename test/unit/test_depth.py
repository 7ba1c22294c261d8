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
Tests of the ROS-free depth side: decoding, the stamp-matched store, back-projection.

Ground truth comes from the synthetic world's depth (sam_ros.synthetic.depth).
"""

import struct
import threading

import cv2
import numpy as np
import pytest
from sam_ros.core.backproject import DepthOptions, Intrinsics, measure_mask
from sam_ros.core.depth import (decode_compressed_depth, decode_depth, DepthError,
                                DepthFrame, DepthStore)
from sam_ros.synthetic.depth import RAISE_M, scene_depth, surface_truth, to_millimetres
from sam_ros.synthetic.world import SceneGenerator

MS = 1_000_000


@pytest.fixture(scope='module')
def world():
    scene = SceneGenerator(seed=4).scene(30, 320, 240)
    return scene, scene_depth(scene)


def _intrinsics(truth, shape):
    return Intrinsics.from_k(truth.k, shape[1], shape[0])


# ----------------------------------------------------------------------------- decoding

def test_16uc1_and_32fc1_decode_to_the_same_metres_with_padding_and_byte_order():
    metres = np.array([[0.5, 1.25, 0.0], [2.0, 0.001, 3.5]], np.float32)
    mm = to_millimetres(metres)
    padded = np.zeros((2, 8), np.uint8)
    padded[:, :6] = mm.astype('>u2').view(np.uint8).reshape(2, 6)
    big, scale16 = decode_depth('16UC1', 2, 3, 8, True, padded.tobytes())
    assert big.dtype == np.uint16 and np.array_equal(big, mm) and scale16 == 0.001
    little, _ = decode_depth('mono16', 2, 3, 6, False, mm.astype('<u2').tobytes())
    assert np.array_equal(little, mm)
    floats, scale32 = decode_depth('32FC1', 2, 3, 12, False, metres.tobytes())
    assert scale32 == 1.0 and np.array_equal(floats, metres)
    assert np.allclose(big * scale16, floats, atol=5e-4)


@pytest.mark.parametrize('args, words', [
    (('8UC3', 2, 3, 9, False, bytes(18)), 'unsupported depth encoding'),
    (('16UC1', 2, 3, 6, False, bytes(11)), 'expected step'),
    (('32FC1', 2, 3, 8, False, bytes(16)), 'smaller than width'),
    (('16UC1', 0, 3, 6, False, b''), 'no pixels'),
])
def test_bad_raw_depth_raises_a_depth_error_that_says_why(args, words):
    with pytest.raises(DepthError, match=words):
        decode_depth(*args)


def _compressed(encoding, pixels, quant=(0.0, 0.0)):
    ok, png = cv2.imencode('.png', pixels)
    assert ok
    return (f'{encoding}; compressedDepth png',
            struct.pack('<iff', 0, *quant) + png.tobytes())


def test_compressed_depth_16uc1_decodes_the_png_after_the_header():
    mm = np.array([[0, 1000, 1500], [65535, 2, 3]], np.uint16)
    depth, scale = decode_compressed_depth(*_compressed('16UC1', mm))
    assert scale == 0.001 and np.array_equal(depth, mm)


def test_compressed_depth_32fc1_inverts_the_quantisation_and_zero_is_nan():
    quant_a, quant_b = 100.0, -10.0      # depth = a / (v - b)
    values = np.array([[0, 40, 90]], np.uint16)
    depth, scale = decode_compressed_depth(*_compressed('32FC1', values, (quant_a, quant_b)))
    assert scale == 1.0 and np.isnan(depth[0, 0])
    assert np.allclose(depth[0, 1:], [100.0 / 50.0, 100.0 / 100.0])


@pytest.mark.parametrize('fmt, data, words', [
    ('png', bytes(20), 'not compressedDepth'),
    ('16UC1; compressedDepth rvl', bytes(20), 'RVL'),
    ('8UC1; compressedDepth png', bytes(20), 'not supported'),
    ('16UC1; compressedDepth png', bytes(12), 'no image'),
    ('16UC1; compressedDepth png', bytes(40), '16-bit PNG'),
])
def test_bad_compressed_depth_raises_a_depth_error(fmt, data, words):
    with pytest.raises(DepthError, match=words):
        decode_compressed_depth(fmt, data)


# -------------------------------------------------------------------------------- store

def _frame(stamp_ns, value=1.0, error=None):
    if error is not None:
        return DepthFrame(stamp_ns, 'cam', error=error)
    return DepthFrame(stamp_ns, 'cam', np.full((2, 2), value, np.float32))


def test_store_matches_the_nearest_stamp_within_tolerance_not_the_newest():
    store = DepthStore(capacity=8, tolerance_ns=10 * MS)
    for i, t in enumerate((100, 150, 200, 250)):
        store.add(_frame(t * MS, value=float(i)))
    match = store.match(153 * MS)
    assert match.status == 'ok' and match.frame.stamp_ns == 150 * MS
    assert match.offset_ns == -3 * MS
    assert store.match(100 * MS).frame.stamp_ns == 100 * MS     # older frame, its depth
    far = store.match(175 * MS)
    assert far.status == 'no_match' and 'depth_sync_tolerance' in far.message


def test_store_accepts_out_of_order_frames_and_evicts_the_oldest_stamp():
    store = DepthStore(capacity=3, tolerance_ns=0)
    for t in (300, 100, 200, 400):
        store.add(_frame(t * MS))
    assert store.match(100 * MS).status == 'no_match'
    assert [store.match(t * MS).status for t in (200, 300, 400)] == ['ok'] * 3
    assert store.stats() == {'depth_frames': 4, 'bad_depth_frames': 0, 'depth_held': 3}


def test_store_without_frames_says_none_and_a_bad_frame_says_its_error():
    store = DepthStore(capacity=4, tolerance_ns=5 * MS)
    assert store.match(0).status == 'none'
    store.add(_frame(50 * MS, error='unsupported depth encoding'))
    bad = store.match(52 * MS)
    assert bad.status == 'bad_depth' and 'unsupported depth encoding' in bad.message


def test_store_rejects_bad_settings_and_is_thread_safe():
    with pytest.raises(DepthError):
        DepthStore(0, 0)
    with pytest.raises(DepthError):
        DepthStore(4, -1)
    store = DepthStore(capacity=16, tolerance_ns=0)

    def add(offset):
        for t in range(offset, 2000, 4):
            store.add(_frame(t))
            store.match(t)
    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.stats()['depth_held'] == 16 and store.stats()['depth_frames'] == 2000


# --------------------------------------------------------------------- back-projection

@pytest.mark.parametrize('level', [0, 1, 2])
def test_centroid_and_extent_of_each_level_match_the_visible_surface(world, level):
    scene, truth = world
    obj = next(o for o in scene.objects if o.num_levels == 3 and o.subpart.any())
    mask = obj.levels[level]
    frame = DepthFrame(1, 'cam', to_millimetres(truth.depth), 0.001)
    measured = measure_mask(mask, frame, _intrinsics(truth, mask.shape),
                            DepthOptions(trim_percent=0.0))
    centroid, low, high = surface_truth(truth.depth, mask, truth.k)
    assert measured.ok, measured.reason
    assert np.abs(measured.centroid - centroid).max() < 1e-3   # + 0.5 mm quantisation
    assert np.abs(measured.extent_min - low).max() < 1e-3
    assert np.abs(measured.extent_max - high).max() < 1e-3
    assert measured.valid_pixels == int(mask.sum()) and measured.valid_fraction == 1.0


@pytest.mark.parametrize('trim', [0.0, 2.0, 10.0])
def test_16uc1_and_the_same_depth_in_32fc1_measure_the_same(world, trim):
    scene, truth = world
    mm = to_millimetres(truth.depth + np.random.default_rng(1).normal(0, 0.01, truth.depth.shape))
    metres = mm.astype(np.float32) * np.float32(0.001)
    options = DepthOptions(trim_percent=trim)
    for obj in scene.objects:
        for mask in obj.levels:
            if not mask.any():
                continue
            a = measure_mask(mask, DepthFrame(1, 'c', mm, 0.001), _intrinsics(truth, mask.shape),
                             options)
            b = measure_mask(mask, DepthFrame(1, 'c', metres), _intrinsics(truth, mask.shape),
                             options)
            assert a.median_depth == b.median_depth and a.valid_pixels == b.valid_pixels
            assert np.array_equal(a.centroid, b.centroid)
            assert np.array_equal(a.extent_min, b.extent_min)
            assert np.array_equal(a.extent_max, b.extent_max)


def test_nested_levels_are_raised_towards_the_camera(world):
    scene, truth = world
    obj = next(o for o in scene.objects if o.num_levels == 3 and o.subpart.any())
    frame = DepthFrame(1, 'cam', truth.depth)
    medians = [measure_mask(m, frame, _intrinsics(truth, m.shape)).median_depth
               for m in obj.levels]
    assert medians[0] < medians[1] < medians[2]
    assert medians[2] - medians[1] == pytest.approx(RAISE_M, abs=1e-4)


def test_a_given_box_gives_the_same_measurement_as_none(world):
    scene, truth = world
    frame = DepthFrame(1, 'cam', truth.depth)
    obj = next(o for o in scene.objects if o.num_levels == 3 and o.subpart.any())
    for mask in obj.levels:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (cols[0], rows[0], cols[-1], rows[-1])
        for erode in (0, 2):
            options = DepthOptions(erode_px=erode)
            a = measure_mask(mask, frame, _intrinsics(truth, mask.shape), options)
            b = measure_mask(mask, frame, _intrinsics(truth, mask.shape), options, box)
            assert a.valid_pixels == b.valid_pixels and np.array_equal(a.centroid, b.centroid)
    empty = np.zeros_like(scene.objects[0].whole)
    gone = measure_mask(empty, frame, _intrinsics(truth, empty.shape), box=(0, 0, 0, 0))
    assert not gone.ok and gone.reason == 'the mask is empty'


def test_every_point_projects_back_inside_the_mask(world):
    scene, truth = world
    mask = scene.objects[0].whole
    intrinsics = _intrinsics(truth, mask.shape)
    measured = measure_mask(mask, DepthFrame(1, 'cam', truth.depth), intrinsics)
    p = measured.points.astype(np.float64)
    u = np.rint(p[:, 0] / p[:, 2] * intrinsics.fx + intrinsics.cx).astype(int)
    v = np.rint(p[:, 1] / p[:, 2] * intrinsics.fy + intrinsics.cy).astype(int)
    assert len(p) == int(mask.sum()) and mask[v, u].all()


def test_flying_pixels_inflate_neither_extent_nor_centroid():
    depth = np.full((100, 100), 1.0, np.float32)
    mask = np.zeros((100, 100), bool)
    mask[20:80, 20:80] = True
    k = (100.0, 0.0, 49.5, 0.0, 100.0, 49.5, 0.0, 0.0, 1.0)
    intrinsics = Intrinsics.from_k(k, 100, 100)
    clean = measure_mask(mask, DepthFrame(1, 'c', depth), intrinsics)
    flying = depth.copy()
    rng = np.random.default_rng(0)
    border = np.argwhere(mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3))).astype(bool))
    chosen = border[rng.choice(len(border), 40, replace=False)]
    flying[chosen[:, 0], chosen[:, 1]] = rng.uniform(1.5, 4.0, 40)   # 1.1 % of the mask
    noisy = measure_mask(mask, DepthFrame(1, 'c', flying), intrinsics)
    assert np.allclose(noisy.size, clean.size, atol=1e-6)
    assert np.abs(noisy.centroid - clean.centroid).max() < 1e-3   # the 40 pixels are gone
    untrimmed = measure_mask(mask, DepthFrame(1, 'c', flying), intrinsics,
                             DepthOptions(trim_percent=0.0))
    assert untrimmed.size[2] > 0.4       # the test would catch an untrimmed extent ...
    assert untrimmed.centroid[2] - clean.centroid[2] > 5e-3    # ... and centroid


def test_erosion_stride_and_range_limits_select_the_pixels():
    depth = np.full((60, 60), 1.0, np.float32)
    depth[:, 30:] = 5.0
    mask = np.zeros((60, 60), bool)
    mask[10:50, 10:50] = True
    intrinsics = Intrinsics(60.0, 60.0, 29.5, 29.5, 60, 60)
    frame = DepthFrame(1, 'c', depth)
    assert measure_mask(mask, frame, intrinsics).valid_pixels == 1600
    assert measure_mask(mask, frame, intrinsics, DepthOptions(erode_px=2)).valid_pixels == \
        36 * 36
    strided = measure_mask(mask, frame, intrinsics, DepthOptions(stride=4))
    assert strided.valid_pixels == 100 and (strided.pixels % 4 == 0).all()
    near = measure_mask(mask, frame, intrinsics, DepthOptions(max_range=2.0))
    assert near.valid_pixels == 800 and near.valid_fraction == 0.5
    assert near.extent_max[2] == pytest.approx(1.0)
    gone = measure_mask(mask, frame, intrinsics, DepthOptions(erode_px=25))
    assert not gone.ok and 'eroding 25 px' in gone.reason


@pytest.mark.parametrize('value, words', [
    (0.0, '1600 zero'), (np.nan, '1600 NaN'), (np.inf, '1600 inf'),
    (-1.0, '1600 negative'), (50.0, '1600 out of range'),
])
def test_a_mask_without_valid_depth_gets_a_reason_that_counts_each_kind(value, words):
    depth = np.full((60, 60), value, np.float32)
    mask = np.zeros((60, 60), bool)
    mask[10:50, 10:50] = True
    measured = measure_mask(mask, DepthFrame(1, 'c', depth),
                            Intrinsics(60.0, 60.0, 29.5, 29.5, 60, 60))
    assert not measured.ok and words in measured.reason
    assert measured.valid_pixels == 0 and measured.sampled_pixels == 1600


def test_half_resolution_depth_scales_the_mask_and_the_intrinsics(world):
    scene, truth = world
    mask = scene.objects[0].whole
    full = measure_mask(mask, DepthFrame(1, 'c', truth.depth), _intrinsics(truth, mask.shape))
    half_depth = cv2.resize(truth.depth, (160, 120), interpolation=cv2.INTER_NEAREST)
    half_k = Intrinsics.from_k(truth.k, 320, 240).scaled_to(160, 120)
    half = measure_mask(mask, DepthFrame(1, 'c', half_depth), half_k)
    assert half.ok and abs(half.valid_pixels - full.valid_pixels / 4) < 0.1 * full.valid_pixels
    assert np.abs(half.centroid - full.centroid).max() < 0.01


def test_depth_of_another_aspect_ratio_is_refused_with_register_advice(world):
    scene, truth = world
    mask = scene.objects[0].whole
    with pytest.raises(DepthError, match='register depth to colour'):
        measure_mask(mask, DepthFrame(1, 'c', np.ones((240, 300), np.float32)),
                     Intrinsics(1.0, 1.0, 0.0, 0.0, 300, 240))
    with pytest.raises(DepthError, match='no scale'):
        Intrinsics.from_k(truth.k, 320, 240).scaled_to(300, 240)


def test_uncalibrated_k_is_refused():
    with pytest.raises(DepthError, match='focal length'):
        Intrinsics.from_k([0.0] * 9, 640, 480)
    with pytest.raises(DepthError, match='9 finite'):
        Intrinsics.from_k([1.0] * 4, 640, 480)


def test_bad_options_are_refused():
    for kwargs in ({'stride': 0}, {'erode_px': -1}, {'min_range': 3.0, 'max_range': 2.0},
                   {'trim_percent': 30.0}):
        with pytest.raises(DepthError):
            DepthOptions(**kwargs)
