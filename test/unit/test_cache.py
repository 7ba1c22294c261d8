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

"""Tests of sam_ros.core.cache.EmbeddingCache (tier 1, no ROS)."""

import threading

import numpy as np
import pytest

from sam_ros.core.cache import EmbeddingCache
from sam_ros.core.errors import SamError


def test_get_returns_the_value_stored_under_a_stamp():
    cache = EmbeddingCache(4)
    cache.put(10, 'a')
    cache.put(20, 'b')
    assert cache.get(10) == 'a'
    assert cache.get(20) == 'b'
    assert cache.get(30) is None


def test_least_recently_used_entry_is_evicted_at_capacity():
    cache = EmbeddingCache(2)
    cache.put(1, 'a')
    cache.put(2, 'b')
    assert cache.get(1) == 'a'  # 1 is now more recent than 2
    cache.put(3, 'c')
    assert cache.get(2) is None
    assert cache.get(1) == 'a'
    assert cache.get(3) == 'c'
    assert len(cache) == 2
    assert cache.evictions == 1


def test_alias_shares_one_entry_and_does_not_count_against_capacity():
    cache = EmbeddingCache(2)
    value = object()
    cache.put(100, value)
    for stamp in range(101, 150):
        assert cache.alias(stamp, 100)
    assert len(cache) == 1
    assert cache.key_count() == 50
    assert cache.get(149) is value
    cache.put(200, 'other')
    assert cache.get(120) is value


def test_alias_of_unknown_stamp_changes_nothing():
    cache = EmbeddingCache(2)
    assert not cache.alias(5, 4)
    assert 5 not in cache
    assert cache.key_count() == 0


def test_evicting_an_entry_forgets_all_its_aliases():
    cache = EmbeddingCache(1)
    cache.put(1, 'a')
    cache.alias(2, 1)
    cache.put(3, 'b')
    assert cache.get(1) is None
    assert cache.get(2) is None
    assert cache.key_count() == 1


def test_key_bound_forgets_oldest_stamps_and_keeps_memory_flat():
    cache = EmbeddingCache(2, max_keys=8)
    cache.put(0, 'a')
    for stamp in range(1, 1000):
        cache.alias(stamp, stamp - 1)
    assert cache.key_count() == 8
    assert len(cache) == 1
    assert cache.get(999) == 'a'
    assert cache.get(0) is None


def test_entry_left_without_stamps_is_dropped():
    cache = EmbeddingCache(4, max_keys=4)
    cache.put(1, 'a')
    cache.put(2, 'b')
    for stamp in range(3, 7):
        cache.alias(stamp, 2)
    assert cache.get(1) is None
    assert len(cache) == 1


def test_put_on_an_existing_stamp_moves_it_to_the_new_value():
    cache = EmbeddingCache(4)
    cache.put(1, 'a')
    cache.alias(2, 1)
    cache.put(1, 'b')
    assert cache.get(1) == 'b'
    assert cache.get(2) == 'a'


def test_numpy_integer_stamps_are_accepted():
    cache = EmbeddingCache(2)
    cache.put(np.int64(7), 'a')
    assert cache.get(7) == 'a'
    assert cache.newest_stamp() == 7


@pytest.mark.parametrize('capacity', [0, -1, 1.5, True, '3'])
def test_bad_capacity_raises_sam_error(capacity):
    with pytest.raises(SamError, match='capacity'):
        EmbeddingCache(capacity)


@pytest.mark.parametrize('stamp', [1.0, '1', None, False])
def test_non_integer_stamp_raises_sam_error(stamp):
    cache = EmbeddingCache(2)
    with pytest.raises(SamError, match='nanoseconds'):
        cache.put(stamp, 'a')


def test_concurrent_puts_and_gets_keep_the_bounds():
    cache = EmbeddingCache(4, max_keys=16)
    errors = []

    def writer(offset):
        try:
            for i in range(2000):
                stamp = offset + i
                if i % 3:
                    cache.alias(stamp, stamp - 1)
                else:
                    cache.put(stamp, stamp)
                cache.get(stamp - 2)
        except Exception as exc:  # noqa: B902 - report any failure of a thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k * 100000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(cache) <= 4
    assert cache.key_count() <= 16
    stats = cache.stats()
    assert stats['entries'] == len(cache)
