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
A bounded, thread-safe cache of image embeddings keyed by frame stamp.

Keys are frame stamps in integer nanoseconds. One *entry* holds one value (an
image embedding and whatever travels with it); several stamps may name the same
entry, so that frames which did not change since the last encode share that
encode's embedding at no memory cost (``alias``).

Two bounds keep memory flat however fast frames come:

* ``capacity``: distinct entries (the expensive part). The least recently used
  entry is evicted, together with all the stamps that name it.
* ``max_keys``: stamps over all entries. The oldest stamp (by insertion) is
  forgotten first; an entry left with no stamp is evicted.

Nothing here knows about ROS; stamps are plain integers.
"""

from collections import OrderedDict
import numbers
import threading
from typing import Any, Dict, Generic, Iterator, List, Optional, Tuple, TypeVar

from sam_ros.core.errors import SamError

__all__ = ['EmbeddingCache']

V = TypeVar('V')


class _Entry(Generic[V]):

    __slots__ = ('value', 'keys')

    def __init__(self, value: V) -> None:
        self.value = value
        self.keys: List[int] = []


class EmbeddingCache(Generic[V]):
    """
    Bounded least-recently-used map from frame stamp (ns) to a cached value.

    All methods are safe to call from several threads at once.
    """

    def __init__(self, capacity: int, max_keys: Optional[int] = None) -> None:
        """
        Create an empty cache.

        ``capacity`` (>= 1) bounds the number of distinct values; ``max_keys``
        (>= capacity) bounds the number of stamps over all values, by default
        ``64 * capacity``.
        """
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise SamError(f'cache capacity must be an integer >= 1, got {capacity!r}')
        if max_keys is None:
            max_keys = 64 * capacity
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < capacity:
            raise SamError(f'max_keys must be an integer >= capacity ({capacity}), '
                           f'got {max_keys!r}')
        self._capacity = capacity
        self._max_keys = max_keys
        self._lock = threading.Lock()
        # entry id -> entry, least recently used first.
        self._entries: 'OrderedDict[int, _Entry[V]]' = OrderedDict()
        # stamp -> entry id, oldest insertion first.
        self._keys: 'OrderedDict[int, int]' = OrderedDict()
        self._next_id = 0
        self._evictions = 0

    @property
    def capacity(self) -> int:
        """Return the maximum number of distinct values."""
        return self._capacity

    @property
    def max_keys(self) -> int:
        """Return the maximum number of stamps over all values."""
        return self._max_keys

    @property
    def evictions(self) -> int:
        """Return how many distinct values were evicted so far."""
        with self._lock:
            return self._evictions

    def __len__(self) -> int:
        """Return the number of distinct values held."""
        with self._lock:
            return len(self._entries)

    def key_count(self) -> int:
        """Return the number of stamps held (aliases included)."""
        with self._lock:
            return len(self._keys)

    def __contains__(self, stamp_ns: object) -> bool:
        """Return True when ``stamp_ns`` names a cached value (does not touch LRU order)."""
        with self._lock:
            return stamp_ns in self._keys

    def put(self, stamp_ns: int, value: V) -> None:
        """
        Store ``value`` under ``stamp_ns`` as a new most recently used entry.

        A stamp that already named a value is moved to the new one. May evict the
        least recently used entry.
        """
        stamp_ns = _check_stamp(stamp_ns)
        with self._lock:
            self._drop_key(stamp_ns)
            entry_id = self._next_id
            self._next_id += 1
            self._entries[entry_id] = _Entry(value)
            self._add_key(stamp_ns, entry_id)
            while len(self._entries) > self._capacity:
                oldest_id = next(iter(self._entries))
                self._evict(oldest_id)

    def alias(self, stamp_ns: int, existing_stamp_ns: int) -> bool:
        """
        Make ``stamp_ns`` name the value already cached under ``existing_stamp_ns``.

        Marks that value as most recently used. Returns False (and changes nothing)
        when ``existing_stamp_ns`` is not cached.
        """
        stamp_ns = _check_stamp(stamp_ns)
        existing_stamp_ns = _check_stamp(existing_stamp_ns)
        with self._lock:
            entry_id = self._keys.get(existing_stamp_ns)
            if entry_id is None:
                return False
            if stamp_ns == existing_stamp_ns:
                self._entries.move_to_end(entry_id)
                return True
            self._drop_key(stamp_ns)
            self._entries.move_to_end(entry_id)
            self._add_key(stamp_ns, entry_id)
            return True

    def get(self, stamp_ns: int) -> Optional[V]:
        """Return the value named by ``stamp_ns`` (marking it most recently used), or None."""
        stamp_ns = _check_stamp(stamp_ns)
        with self._lock:
            entry_id = self._keys.get(stamp_ns)
            if entry_id is None:
                return None
            self._entries.move_to_end(entry_id)
            return self._entries[entry_id].value

    def newest_stamp(self) -> Optional[int]:
        """Return the largest stamp held, or None when empty."""
        with self._lock:
            return max(self._keys) if self._keys else None

    def items(self) -> Iterator[Tuple[int, V]]:
        """Return a snapshot of (stamp, value) pairs, oldest insertion first."""
        with self._lock:
            pairs = [(stamp, self._entries[entry_id].value)
                     for stamp, entry_id in self._keys.items()]
        return iter(pairs)

    def clear(self) -> None:
        """Forget every value and stamp."""
        with self._lock:
            self._entries.clear()
            self._keys.clear()

    def stats(self) -> Dict[str, Any]:
        """Return entries, keys, capacity, max_keys and evictions as a dict."""
        with self._lock:
            return {'entries': len(self._entries), 'keys': len(self._keys),
                    'capacity': self._capacity, 'max_keys': self._max_keys,
                    'evictions': self._evictions}

    # Private helpers; the caller holds the lock.

    def _add_key(self, stamp_ns: int, entry_id: int) -> None:
        self._keys[stamp_ns] = entry_id
        self._entries[entry_id].keys.append(stamp_ns)
        while len(self._keys) > self._max_keys:
            oldest_stamp = next(iter(self._keys))
            self._drop_key(oldest_stamp)

    def _drop_key(self, stamp_ns: int) -> None:
        entry_id = self._keys.pop(stamp_ns, None)
        if entry_id is None:
            return
        entry = self._entries[entry_id]
        entry.keys.remove(stamp_ns)
        if not entry.keys:
            del self._entries[entry_id]
            self._evictions += 1

    def _evict(self, entry_id: int) -> None:
        entry = self._entries.pop(entry_id)
        for stamp in entry.keys:
            del self._keys[stamp]
        self._evictions += 1


def _check_stamp(stamp_ns: object) -> int:
    if isinstance(stamp_ns, bool) or not isinstance(stamp_ns, numbers.Integral):
        raise SamError(f'a cache key is a stamp in integer nanoseconds, got {stamp_ns!r}')
    return int(stamp_ns)
