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
Camera frames in, image embeddings out: the encode policy, the encoder thread, the cache.

``FrameStore.add`` is called for every received frame (cheap: a change check). Each
frame is either an *anchor* (a frame to encode) or an *alias* of the current anchor
(unchanged since it, so it shares the anchor's embedding). Only the newest anchor
waits for the encoder thread: an anchor replaced before the thread took it is dropped
and counted, so a camera faster than the encoder never builds a queue.

``FrameStore.lookup`` finds the embedding a prompt's stamp refers to: a cached one, or
the retained newest anchor encoded right now. It never waits for an unrelated encode.
A stamp the store never received (lost by DDS, or by the camera outrunning the node) is
matched to the nearest received frame within a tolerance when the frames received
just before and just after it share one anchor: the change detector saw no change
across the gap, so the frame named showed the same scene. ``Lookup.offset_ns`` then
says how far the frame used is from the one named.

Nothing here uses ROS: stamps are integer nanoseconds, headers are opaque.
"""

import bisect
from collections import OrderedDict
import dataclasses
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from sam_ros.core.cache import EmbeddingCache
from sam_ros.core.change import ChangeDetector, FrameSignature

__all__ = ['Encoded', 'Frame', 'FrameStore', 'Lookup']

NO_FRAME = 'no_frame'
STALE = 'stale'
BAD_IMAGE = 'bad_image'
ENCODE_FAILED = 'encode_failed'
OK = 'ok'

_MAX_ALIASES_PENDING = 1024
_BAD_FRAMES_KEPT = 16
_HISTORY_KEPT = 4096        # received stamps remembered for nearest-frame matching


@dataclasses.dataclass(eq=False)
class Frame:
    """
    One received camera frame.

    ``image``: (H, W, 3) uint8 RGB, None when the message could not be decoded (then
    ``error`` says why). ``header``: the message header, opaque here.
    """

    stamp_ns: int
    header: Any
    image: Optional[np.ndarray] = None
    error: Optional[str] = None
    signature: Optional[FrameSignature] = None
    anchor: Optional['Frame'] = None
    encoded: Optional['Encoded'] = None
    aliases: List[int] = dataclasses.field(default_factory=list)
    encode_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


@dataclasses.dataclass(frozen=True)
class Encoded:
    """A cached embedding: the anchor frame's header and RGB image, and its encode time."""

    embedding: Any
    header: Any
    image: np.ndarray
    encode_ms: float


@dataclasses.dataclass(frozen=True)
class Lookup:
    """
    The answer of ``FrameStore.lookup``.

    ``status``: 'ok', 'no_frame', 'stale', 'bad_image' or 'encode_failed'.
    ``stamp_ns``: the stamp of the frame used (0 when unknown); ``offset_ns``: that stamp
    minus the stamp named, non-zero only when a never-received frame was matched to
    the nearest held frame of the same scene.
    ``reused``: the embedding was ready, nothing was encoded or awaited for this prompt.
    ``encode_ms``: time spent encoding (or waiting for the encode of) that frame.
    """

    status: str
    encoded: Optional[Encoded] = None
    stamp_ns: int = 0
    reused: bool = False
    encode_ms: float = 0.0
    message: str = ''
    offset_ns: int = 0


class FrameStore:
    """Hold the newest frames, run the encode policy and answer embedding lookups."""

    def __init__(self, encode: Callable[[np.ndarray], Any], cache_size: int,
                 policy: str = 'on_change', change_threshold: float = 0.001,
                 on_error: Optional[Callable[[str], None]] = None) -> None:
        """
        Create a store; ``start()`` runs its encoder thread.

        ``encode``: image (H, W, 3) uint8 RGB -> embedding; must be thread-safe.
        ``on_error``: called with a one-line message when an encode fails.
        """
        self._encode = encode
        self._on_error = on_error or (lambda message: None)
        self._cache: EmbeddingCache[Encoded] = EmbeddingCache(cache_size)
        self._detector = ChangeDetector(threshold=change_threshold)
        self._policy = policy
        self._cond = threading.Condition()
        self._latest: Optional[Frame] = None
        self._anchor: Optional[Frame] = None
        self._pending: Optional[Frame] = None
        self._bad: 'OrderedDict[int, str]' = OrderedDict()
        # (stamp, anchor stamp or -1 for a bad frame) of received frames, sorted by stamp.
        self._history: List[int] = []
        self._history_anchor: Dict[int, int] = {}
        self._stop = False
        self._thread: Optional[threading.Thread] = None
        self._counts = {'frames': 0, 'bad_frames': 0, 'encodes': 0, 'skipped_encodes': 0,
                        'dropped_frames': 0, 'encode_errors': 0}
        self._encode_ms_last = 0.0
        self._encode_ms_total = 0.0

    # --------------------------------------------------------------------- settings

    def configure(self, policy: str, change_threshold: float) -> None:
        """Change the encode policy and the change threshold (takes effect on the next frame)."""
        with self._cond:
            self._policy = policy
            self._detector.threshold = change_threshold

    # ------------------------------------------------------------------ the thread

    def start(self) -> None:
        """Start the encoder thread."""
        self._thread = threading.Thread(target=self._run, name='sam_encoder', daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the encoder thread, waiting up to ``timeout`` s; return True once it ended."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                frame, self._pending = self._pending, None
            self._ensure_encoded(frame)

    # -------------------------------------------------------------------- frames in

    def add_bad(self, stamp_ns: int, header: Any, error: str) -> None:
        """Record a frame that could not be decoded; prompts on it get 'bad_image'."""
        with self._cond:
            self._counts['frames'] += 1
            self._counts['bad_frames'] += 1
            self._bad[stamp_ns] = error
            while len(self._bad) > _BAD_FRAMES_KEPT:
                self._bad.popitem(last=False)
            self._latest = Frame(stamp_ns, header, error=error)
            self._remember(stamp_ns, -1)
            self._cond.notify_all()

    def add(self, stamp_ns: int, header: Any, image: np.ndarray) -> None:
        """
        Take a decoded frame: (H, W, 3) uint8 RGB. Cheap; never encodes.

        Under 'on_change' and 'on_prompt' an unchanged frame becomes an alias of the
        current anchor; otherwise the frame becomes the anchor, and (except under
        'on_prompt') replaces the frame waiting for the encoder.
        """
        signature = self._detector.signature(image)
        frame = Frame(stamp_ns, header, image=image, signature=signature)
        with self._cond:
            self._counts['frames'] += 1
            anchor = self._anchor
            unchanged = (self._policy != 'every_frame' and anchor is not None
                         and not self._detector.differs(signature, anchor.signature))
            if unchanged:
                frame.anchor = anchor
                frame.image = None
                if anchor.encoded is not None:
                    self._cache.alias(stamp_ns, anchor.stamp_ns)
                elif len(anchor.aliases) < _MAX_ALIASES_PENDING:
                    anchor.aliases.append(stamp_ns)
                self._counts['skipped_encodes'] += 1
            else:
                frame.anchor = frame
                self._anchor = frame
                if self._policy != 'on_prompt':
                    if self._pending is not None:
                        self._counts['dropped_frames'] += 1
                    self._pending = frame
            self._latest = frame
            self._remember(stamp_ns, frame.anchor.stamp_ns)
            self._cond.notify_all()

    def _remember(self, stamp_ns: int, anchor_stamp_ns: int) -> None:
        # The caller holds the lock. Frames nearly always arrive in stamp order.
        if stamp_ns in self._history_anchor:
            self._history_anchor[stamp_ns] = anchor_stamp_ns
            return
        if not self._history or stamp_ns > self._history[-1]:
            self._history.append(stamp_ns)
        else:
            bisect.insort(self._history, stamp_ns)
        self._history_anchor[stamp_ns] = anchor_stamp_ns
        if len(self._history) > _HISTORY_KEPT:
            for old in self._history[:-_HISTORY_KEPT]:
                del self._history_anchor[old]
            del self._history[:-_HISTORY_KEPT]

    # ---------------------------------------------------------------- lookups

    def lookup(self, stamp_ns: int, max_age_ns: int, wait_s: float = 1.0,
               tolerance_ns: int = 0) -> Lookup:
        """
        Return the embedding for the frame ``stamp_ns`` names (0: the newest frame).

        A stamp newer than every received frame waits up to ``wait_s`` for that frame.
        Older than the newest frame by more than ``max_age_ns`` -> 'stale'. The retained
        newest anchor is encoded now when needed; any other frame must be cached. A
        stamp never received is answered on the nearest received frame at most
        ``tolerance_ns`` away when the received frames around it share one anchor.
        """
        with self._cond:
            if stamp_ns and (self._latest is None or stamp_ns > self._latest.stamp_ns):
                self._cond.wait_for(lambda: self._stop or (
                    self._latest is not None and self._latest.stamp_ns >= stamp_ns), wait_s)
            latest = self._latest
            if latest is None:
                return Lookup(NO_FRAME, message='no camera frame has been received yet')
            target = latest if stamp_ns == 0 else None
            if target is None:
                age_ns = latest.stamp_ns - stamp_ns
                if age_ns > max_age_ns:
                    return Lookup(STALE, stamp_ns=stamp_ns, message=(
                        f'the frame is {age_ns / 1e9:.3f} s older than the newest frame '
                        f'(max_prompt_age {max_age_ns / 1e9:.3f} s)'))
                if stamp_ns in self._bad:
                    return Lookup(BAD_IMAGE, stamp_ns=stamp_ns, message=self._bad[stamp_ns])
                encoded = self._cache.get(stamp_ns)
                if encoded is not None:
                    return Lookup(OK, encoded, stamp_ns, reused=True)
                target = self._find_uncached(stamp_ns, latest)
                if target is None:
                    nearest = self._nearest(stamp_ns, tolerance_ns)
                    if nearest is None:
                        return Lookup(STALE, stamp_ns=stamp_ns, message=self._why_missing(
                            stamp_ns, latest))
                    encoded = self._cache.get(nearest)
                    if encoded is not None:
                        return Lookup(OK, encoded, nearest, reused=True,
                                      offset_ns=nearest - stamp_ns)
                    target = self._find_uncached(nearest, latest)
                    if target is None:
                        return Lookup(STALE, stamp_ns=stamp_ns, message=self._why_missing(
                            stamp_ns, latest))
            if target.error is not None:
                return Lookup(BAD_IMAGE, stamp_ns=target.stamp_ns, message=target.error)
            anchor = target.anchor
            offset_ns = target.stamp_ns - stamp_ns if stamp_ns else 0
            if anchor.encoded is not None:
                return Lookup(OK, anchor.encoded, target.stamp_ns, reused=True,
                              offset_ns=offset_ns)
        started = time.perf_counter()
        encoded = self._ensure_encoded(anchor)
        waited_ms = (time.perf_counter() - started) * 1e3
        if encoded is None:
            return Lookup(ENCODE_FAILED, stamp_ns=target.stamp_ns,
                          message='the encoder failed on this frame; see the node log')
        return Lookup(OK, encoded, target.stamp_ns, reused=False, encode_ms=waited_ms,
                      offset_ns=offset_ns)

    def _nearest(self, stamp_ns: int, tolerance_ns: int) -> Optional[int]:
        """Return the received stamp standing in for never-received ``stamp_ns``, or None."""
        # The caller holds the lock.
        if tolerance_ns <= 0 or stamp_ns in self._history_anchor:
            return None         # exact stamps only, or received and since dropped
        i = bisect.bisect_left(self._history, stamp_ns)
        if i == 0 or i == len(self._history):
            return None         # no frame on one side: a change could hide there
        before, after = self._history[i - 1], self._history[i]
        anchor = self._history_anchor[before]
        if anchor < 0 or self._history_anchor[after] != anchor:
            return None         # a bad frame, or the scene changed across the gap
        nearest = before if stamp_ns - before <= after - stamp_ns else after
        return nearest if abs(nearest - stamp_ns) <= tolerance_ns else None

    def _find_uncached(self, stamp_ns: int, latest: Frame) -> Optional[Frame]:
        # The caller holds the lock. Only the newest anchor (and its aliases) is retained.
        if stamp_ns == latest.stamp_ns:
            return latest
        anchor = self._anchor
        if anchor is not None and anchor.encoded is None and (
                stamp_ns == anchor.stamp_ns or stamp_ns in anchor.aliases):
            return Frame(stamp_ns, anchor.header, anchor=anchor)
        return None

    def _why_missing(self, stamp_ns: int, latest: Frame) -> str:
        if stamp_ns > latest.stamp_ns:
            return ('no frame with this stamp was received (it is newer than the newest '
                    'frame); use a zero stamp for the latest frame')
        return ('the frame is not in the embedding cache: it was dropped while the encoder '
                f'was busy, evicted (cache_size {self._cache.capacity}), or never received '
                '(and no frame of the same unchanged scene was held within '
                'frame_match_tolerance)')

    def _ensure_encoded(self, anchor: Frame) -> Optional[Encoded]:
        with anchor.encode_lock:
            if anchor.encoded is not None:
                return anchor.encoded
            image = anchor.image
            if image is None:
                return None
            started = time.perf_counter()
            try:
                embedding = self._encode(image)
            except Exception as exc:  # noqa: B902 - the node must outlive any engine failure
                with self._cond:
                    self._counts['encode_errors'] += 1
                self._on_error(f'encoding the frame at {anchor.stamp_ns} ns failed: '
                               f'{type(exc).__name__}: {exc}')
                return None
            encode_ms = (time.perf_counter() - started) * 1e3
            encoded = Encoded(embedding, anchor.header, image, encode_ms)
            with self._cond:
                anchor.encoded = encoded
                anchor.image = None
                self._cache.put(anchor.stamp_ns, encoded)
                for alias in anchor.aliases:
                    self._cache.alias(alias, anchor.stamp_ns)
                anchor.aliases = []
                self._counts['encodes'] += 1
                self._encode_ms_last = encode_ms
                self._encode_ms_total += encode_ms
            return encoded

    # ----------------------------------------------------------------- statistics

    def stats(self) -> Dict[str, float]:
        """Return counters (frames, encodes, skipped_encodes, dropped_frames, ...) and latency."""
        with self._cond:
            stats: Dict[str, float] = dict(self._counts)
            stats['encode_ms_last'] = self._encode_ms_last
            stats['encode_ms_mean'] = (self._encode_ms_total / self._counts['encodes']
                                       if self._counts['encodes'] else 0.0)
            stats['latest_stamp_ns'] = self._latest.stamp_ns if self._latest else 0
        stats['cache_entries'] = len(self._cache)
        stats['cache_keys'] = self._cache.key_count()
        return stats
