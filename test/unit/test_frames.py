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
Tests of sam_ros.core.frames.FrameStore: encode policy, no queue, lookups (no DDS).

The encoder is the real predictor (the embedded architecture with untrained weights,
which is all these tests need), behind a gate so that a test can hold an encode in
flight and send frames meanwhile.
"""

import threading

import numpy as np
import pytest
from sam_ros.core.build import build_embedded_untrained
from sam_ros.core.frames import FrameStore
from sam_ros.core.predictor import ImageEmbedding, SamPredictor

SECOND = 1_000_000_000
WAIT_S = 60.0


@pytest.fixture(scope='module')
def predictor():
    """Return a CPU fp32 predictor of the embedded architecture (untrained)."""
    return SamPredictor(build_embedded_untrained(), device='cpu', precision='fp32')


class GatedEncoder:
    """The predictor's encode, held at a gate while ``hold`` is set."""

    def __init__(self, predictor):
        self.predictor = predictor
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()
        self.calls = 0
        self.fail_next = False

    def __call__(self, image):
        self.calls += 1
        self.entered.set()
        assert self.open.wait(WAIT_S), 'the test never opened the gate'
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError('simulated engine failure (e.g. CUDA out of memory)')
        return self.predictor.encode(image)


@pytest.fixture
def encoder(predictor):
    """Return a gated encoder whose gate is open."""
    return GatedEncoder(predictor)


@pytest.fixture
def make_store(encoder):
    """Return a function that makes a started FrameStore (stopped after the test)."""
    stores = []

    def make(policy='on_change', cache_size=4, on_error=None):
        store = FrameStore(encoder, cache_size, policy, on_error=on_error)
        store.start()
        stores.append(store)
        return store

    yield make
    encoder.open.set()
    for store in stores:
        store.stop()


def _frame(seed, size=(48, 64)):
    return np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)


def _wait_stats(store, predicate):
    done = threading.Event()
    for _ in range(int(WAIT_S / 0.01)):
        stats = store.stats()
        if predicate(stats):
            return stats
        done.wait(0.01)
    raise AssertionError(f'store never reached the expected state: {store.stats()}')


def test_lookup_before_any_frame_is_no_frame(make_store):
    store = make_store()
    assert store.lookup(0, 5 * SECOND).status == 'no_frame'
    assert store.lookup(3 * SECOND, 5 * SECOND, wait_s=0.05).status == 'no_frame'


def test_latest_frame_wins_and_replaced_frames_are_dropped(make_store, encoder):
    store = make_store(policy='every_frame')
    encoder.open.clear()
    store.add(1 * SECOND, 'h1', _frame(1))
    assert encoder.entered.wait(WAIT_S)      # frame 1 is being encoded
    for k in range(2, 7):                     # five frames while the encoder is busy
        store.add(k * SECOND, f'h{k}', _frame(k))
    encoder.open.set()
    stats = _wait_stats(store, lambda s: s['encodes'] == 2)
    assert stats['dropped_frames'] == 4       # frames 2..5 never waited in a queue
    assert encoder.calls == 2
    found = store.lookup(6 * SECOND, 10 * SECOND)
    assert found.status == 'ok' and found.reused
    assert isinstance(found.encoded.embedding, ImageEmbedding)
    assert store.lookup(3 * SECOND, 10 * SECOND).status == 'stale'


def test_unchanged_frames_share_the_embedding_of_the_last_encoded_frame(make_store, encoder):
    store = make_store(policy='on_change')
    image = _frame(7)
    store.add(1 * SECOND, 'h1', image)
    first = store.lookup(1 * SECOND, 10 * SECOND)
    assert first.status == 'ok'
    for k in range(2, 20):
        store.add(k * SECOND // 10 + SECOND, f'h{k}', image.copy())
    stats = store.stats()
    assert stats['encodes'] == 1 and stats['skipped_encodes'] == 18
    again = store.lookup(SECOND + 19 * SECOND // 10, 10 * SECOND)
    assert again.status == 'ok' and again.reused
    assert again.encoded is first.encoded
    assert again.stamp_ns == SECOND + 19 * SECOND // 10
    assert encoder.calls == 1


def test_a_changed_frame_is_encoded_again(make_store):
    store = make_store(policy='on_change')
    store.add(1 * SECOND, 'h1', _frame(1))
    store.add(2 * SECOND, 'h2', _frame(2))
    stats = _wait_stats(store, lambda s: s['encodes'] + s['dropped_frames'] == 2)
    assert stats['skipped_encodes'] == 0


def test_on_prompt_encodes_only_when_asked(make_store, encoder):
    store = make_store(policy='on_prompt')
    store.add(1 * SECOND, 'h1', _frame(1))
    store.add(2 * SECOND, 'h2', _frame(2))
    assert store.stats()['encodes'] == 0 and encoder.calls == 0
    first = store.lookup(0, 10 * SECOND)
    assert first.status == 'ok' and not first.reused and first.encode_ms > 0.0
    assert first.stamp_ns == 2 * SECOND
    second = store.lookup(2 * SECOND, 10 * SECOND)
    assert second.reused and second.encoded is first.encoded
    assert encoder.calls == 1
    assert store.lookup(1 * SECOND, 10 * SECOND).status == 'stale'   # never encoded, gone


def test_prompt_on_the_retained_frame_waits_only_for_its_own_encode(make_store, encoder):
    store = make_store(policy='every_frame')
    store.add(1 * SECOND, 'h1', _frame(1))
    old = store.lookup(1 * SECOND, 10 * SECOND)
    assert old.status == 'ok'
    encoder.entered.clear()
    encoder.open.clear()
    store.add(2 * SECOND, 'h2', _frame(2))
    assert encoder.entered.wait(WAIT_S)       # frame 2 is in the encoder
    # A prompt on the cached frame 1 does not wait for the unrelated encode of frame 2.
    cached = store.lookup(1 * SECOND, 10 * SECOND)
    assert cached.status == 'ok' and cached.reused
    encoder.open.set()
    newest = store.lookup(2 * SECOND, 10 * SECOND)
    assert newest.status == 'ok'
    assert store.stats()['encodes'] == 2


def test_stale_and_missing_frames(make_store):
    store = make_store()
    store.add(1 * SECOND, 'h1', _frame(1))
    store.add(20 * SECOND, 'h20', _frame(20))
    old = store.lookup(1 * SECOND, 5 * SECOND)
    assert old.status == 'stale' and 'max_prompt_age' in old.message
    missing = store.lookup(19 * SECOND, 5 * SECOND)
    assert missing.status == 'stale' and 'cache' in missing.message
    future = store.lookup(30 * SECOND, 5 * SECOND, wait_s=0.05)
    assert future.status == 'stale' and 'newer' in future.message


def test_a_frame_arriving_after_its_prompt_is_waited_for(make_store):
    store = make_store()
    store.add(1 * SECOND, 'h1', _frame(1))
    adder = threading.Timer(0.2, store.add, args=(2 * SECOND, 'h2', _frame(2)))
    adder.start()
    found = store.lookup(2 * SECOND, 5 * SECOND, wait_s=WAIT_S)
    adder.join()
    assert found.status == 'ok' and found.stamp_ns == 2 * SECOND


def test_bad_frames_answer_bad_image(make_store):
    store = make_store()
    store.add(1 * SECOND, 'h1', _frame(1))
    store.add_bad(2 * SECOND, 'h2', 'rgb8 image data has 10 bytes')
    assert store.lookup(2 * SECOND, 5 * SECOND).status == 'bad_image'
    latest = store.lookup(0, 5 * SECOND)
    assert latest.status == 'bad_image' and '10 bytes' in latest.message
    assert store.lookup(1 * SECOND, 5 * SECOND).status == 'ok'
    store.add(3 * SECOND, 'h3', _frame(3))
    assert store.lookup(0, 5 * SECOND).status == 'ok'


def test_an_encode_failure_is_reported_and_retried(make_store, encoder):
    errors = []
    store = make_store(policy='on_prompt', on_error=errors.append)
    store.add(1 * SECOND, 'h1', _frame(1))
    encoder.fail_next = True
    failed = store.lookup(0, 5 * SECOND)
    assert failed.status == 'encode_failed'
    assert len(errors) == 1 and 'RuntimeError' in errors[0]
    assert store.lookup(0, 5 * SECOND).status == 'ok'
    assert store.stats()['encode_errors'] == 1


def test_memory_stays_flat_under_a_fast_camera(make_store, encoder):
    store = make_store(policy='every_frame', cache_size=3)
    encoder.open.clear()
    for k in range(1, 301):
        store.add(k * SECOND // 100, f'h{k}', _frame(k % 50, size=(24, 32)))
    encoder.open.set()
    stats = _wait_stats(store, lambda s: s['encodes'] + s['dropped_frames'] == 300)
    assert stats['encodes'] <= 3      # the frame in flight, the newest, and maybe one more
    assert stats['cache_entries'] <= 3


MS = 1_000_000


def test_a_never_received_frame_of_an_unchanged_scene_uses_the_nearest_held_frame(
        make_store):
    store = make_store(policy='on_change')
    image = _frame(3)
    for k in (0, 1, 3, 4):                  # frame 2 (at 1.066 s) never arrives
        store.add(SECOND + k * 33 * MS, f'h{k}', image.copy())
    missing = SECOND + 2 * 33 * MS
    exact = store.lookup(missing, 10 * SECOND)
    assert exact.status == 'stale' and 'frame_match_tolerance' in exact.message
    found = store.lookup(missing, 10 * SECOND, tolerance_ns=100 * MS)
    assert found.status == 'ok', found.message
    assert abs(found.offset_ns) == 33 * MS
    assert found.stamp_ns == missing + found.offset_ns
    too_far = store.lookup(missing, 10 * SECOND, tolerance_ns=20 * MS)
    assert too_far.status == 'stale'
    received = store.lookup(SECOND + 33 * MS, 10 * SECOND, tolerance_ns=100 * MS)
    assert received.status == 'ok' and received.offset_ns == 0


def test_a_never_received_frame_across_a_scene_change_stays_stale(make_store):
    store = make_store(policy='on_change')
    store.add(SECOND, 'h0', _frame(1))
    store.add(SECOND + 33 * MS, 'h1', _frame(1))
    store.add(SECOND + 99 * MS, 'h3', _frame(2))     # changed; frame 2 never arrived
    lookup = store.lookup(SECOND + 66 * MS, 10 * SECOND, tolerance_ns=100 * MS)
    assert lookup.status == 'stale', lookup
    newer = store.lookup(SECOND + 200 * MS, 10 * SECOND, wait_s=0.05, tolerance_ns=SECOND)
    assert newer.status == 'stale' and 'newer' in newer.message
