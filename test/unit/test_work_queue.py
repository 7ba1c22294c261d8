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

"""Tests of sam_ros.core.work_queue: order, BUSY past the bound, abandon at stop (no ROS)."""

import threading

import pytest
from sam_ros.core.work_queue import Job, WorkQueue

WAIT_S = 30.0


class Recorder:
    """Jobs whose ends are recorded; the first job can be held at a gate."""

    def __init__(self):
        self.ends = []
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.done = threading.Condition(self.lock)

    def job(self, name, hold=False):
        def run():
            if hold:
                self.entered.set()
                assert self.gate.wait(WAIT_S)
            self._end(name, 'run')
        return Job(name, run, lambda waiting: self._end(name, f'refused/{waiting}'),
                   lambda: self._end(name, 'abandoned'))

    def _end(self, name, how):
        with self.done:
            self.ends.append((name, how))
            self.done.notify_all()

    def wait_ends(self, count):
        with self.done:
            assert self.done.wait_for(lambda: len(self.ends) >= count, WAIT_S), self.ends
            return list(self.ends)


def test_jobs_run_in_order_and_a_full_queue_refuses_the_oldest_waiting():
    rec = Recorder()
    queue = WorkQueue(3)
    queue.start()
    queue.submit(rec.job('held', hold=True))
    assert rec.entered.wait(WAIT_S)
    for i in range(6):
        queue.submit(rec.job(f'p{i}'))
    assert rec.ends == [('p0', 'refused/3'), ('p1', 'refused/3'), ('p2', 'refused/3')]
    rec.gate.set()
    ends = rec.wait_ends(7)
    assert ends[3:] == [('held', 'run'), ('p3', 'run'), ('p4', 'run'), ('p5', 'run')]
    stats = queue.stats()
    assert stats['queued'] == 7 and stats['refused'] == 3 and stats['waiting'] == 0
    queue.stop()
    assert queue.join(WAIT_S)


def test_stop_abandons_every_waiting_job_once_and_refuses_new_ones():
    rec = Recorder()
    queue = WorkQueue(10)
    queue.start()
    queue.submit(rec.job('held', hold=True))
    assert rec.entered.wait(WAIT_S)
    queue.submit(rec.job('a'))
    queue.submit(rec.job('b'))
    assert queue.in_flight() == 'held'
    abandoned = queue.stop()
    assert [job.name for job in abandoned] == ['a', 'b']
    assert rec.ends == [('a', 'abandoned'), ('b', 'abandoned')]
    assert not queue.submit(rec.job('late'))
    assert not queue.join(0.05)          # the job in flight is not interrupted
    rec.gate.set()
    assert queue.join(WAIT_S)
    assert rec.ends[-1] == ('held', 'run') and len(rec.ends) == 3


def test_a_failing_job_is_reported_and_the_worker_goes_on():
    rec = Recorder()
    errors = []

    def boom():
        raise RuntimeError('engine failure')
    queue = WorkQueue(4, on_error=lambda job, exc: errors.append((job.name, str(exc))))
    queue.start()
    queue.submit(Job('bad', boom, lambda waiting: None))
    queue.submit(rec.job('good'))
    assert rec.wait_ends(1) == [('good', 'run')]
    assert errors == [('bad', 'engine failure')]
    queue.stop()


def test_capacity_below_one_is_refused():
    with pytest.raises(ValueError, match='at least 1'):
        WorkQueue(0)
