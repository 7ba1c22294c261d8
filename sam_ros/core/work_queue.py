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
A bounded FIFO of jobs, run in order by one worker thread; nothing is ever lost silently.

Every job submitted ends in exactly one of three ways: ``run()`` (the worker took it),
``refuse(waiting)`` (it was the oldest waiting job when the queue was full and a new job
came, ``waiting`` being the queue length then), or ``abandon()`` (the queue was stopped
before the worker took it). The callbacks run outside the queue's lock. The job in
flight when ``stop()`` is called still finishes its ``run()`` unless the process exits.

Nothing here uses ROS.
"""

import collections
import dataclasses
import threading
from typing import Any, Callable, Deque, Dict, List, Optional

__all__ = ['Job', 'WorkQueue']


@dataclasses.dataclass(eq=False)
class Job:
    """
    One unit of work and its three possible ends (each called at most once, in total once).

    ``name``: a label for logs (the prompt id). ``run``: do the work (in the worker
    thread). ``refuse``: called with the queue length when the job is pushed out of a
    full queue. ``abandon``: called when the queue stops before the job ran.
    """

    name: str
    run: Callable[[], Any]
    refuse: Callable[[int], Any]
    abandon: Callable[[], Any] = lambda: None


class WorkQueue:
    """Hold at most ``capacity`` waiting jobs; past it the oldest waiting job is refused."""

    def __init__(self, capacity: int, on_error: Optional[Callable[[Job, BaseException], None]]
                 = None, name: str = 'sam_work') -> None:
        """
        Create a stopped queue; ``start()`` runs its worker thread.

        ``on_error(job, exc)`` is called when a job's callback raises (the worker goes on).
        Raises ValueError when ``capacity`` < 1.
        """
        if capacity < 1:
            raise ValueError(f'the queue capacity must be at least 1, got {capacity}')
        self._capacity = int(capacity)
        self._on_error = on_error or (lambda job, exc: None)
        self._name = name
        self._cond = threading.Condition()
        self._waiting: Deque[Job] = collections.deque()
        self._current: Optional[Job] = None
        self._stopped = False
        self._thread: Optional[threading.Thread] = None
        self._counts = {'queued': 0, 'run': 0, 'refused': 0, 'abandoned': 0}

    @property
    def capacity(self) -> int:
        """Return the most jobs that may wait (the one in flight not counted)."""
        return self._capacity

    @property
    def stopped(self) -> bool:
        """Return True once ``stop()`` was called."""
        return self._stopped

    def start(self) -> None:
        """Start the worker thread (a daemon: it never holds the process up at exit)."""
        self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> bool:
        """
        Queue ``job``; return False (nothing called) when the queue is stopped.

        When the queue is full, the oldest waiting job is refused (its ``refuse`` is called
        here, in the caller's thread, with the queue length) to make room.
        """
        with self._cond:
            if self._stopped:
                return False
            refused = None
            if len(self._waiting) >= self._capacity:
                refused = self._waiting.popleft()
                self._counts['refused'] += 1
            self._waiting.append(job)
            self._counts['queued'] += 1
            waiting = len(self._waiting)
            self._cond.notify_all()
        if refused is not None:
            self._call(refused, refused.refuse, waiting)
        return True

    def stop(self) -> List[Job]:
        """
        Stop taking jobs, abandon every waiting job and return them (oldest first).

        The job in flight (see ``in_flight``) is not interrupted.
        """
        with self._cond:
            self._stopped = True
            abandoned = list(self._waiting)
            self._waiting.clear()
            self._counts['abandoned'] += len(abandoned)
            self._cond.notify_all()
        for job in abandoned:
            self._call(job, job.abandon)
        return abandoned

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the worker to end; return True when it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def in_flight(self) -> Optional[str]:
        """Return the name of the job the worker runs now, or None."""
        with self._cond:
            return self._current.name if self._current is not None else None

    def stats(self) -> Dict[str, int]:
        """Return counters: queued (ever), run, refused, abandoned, and waiting (now)."""
        with self._cond:
            stats = dict(self._counts)
            stats['waiting'] = len(self._waiting)
        return stats

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                job = self._current = self._waiting.popleft()
            try:
                self._call(job, job.run)
            finally:
                with self._cond:
                    self._current = None
                    self._counts['run'] += 1

    def _call(self, job: Job, callback: Callable[..., Any], *args: Any) -> None:
        try:
            callback(*args)
        except Exception as exc:  # noqa: B902 - one failing job must not stop the others
            self._on_error(job, exc)
