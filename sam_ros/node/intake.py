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
The prompt intake: every prompt (topics and service) joins one bounded queue, in order.

Subscription callbacks and the service only *queue* prompts; one worker thread answers
them in arrival order through the node's ``answer`` (``SamNode._answer``: ``_segment``,
then ``~/results``, ``~/mask``, ``~/overlay``). So the executor's threads are never held
by a decode, and DDS never has to drop a prompt because the node reads too slowly.

Every prompt gets exactly one answer: its result; INVALID_PROMPT at once when it
exceeds a bound (``limits.prompt_limit_error``, no queueing); BUSY when it was the oldest
waiting prompt of a full queue (``prompt_queue_size``) and a newer one came; or, at
shutdown, a log line naming it as abandoned (nobody can receive an answer then).

``PROMPT_QOS``: the prompt subscriptions and the service are RELIABLE and KEEP_ALL, so
DDS holds every prompt until the node takes it (a slow reader slows a reliable writer
down instead of losing samples). A publisher must be RELIABLE to match; its own history
must hold a whole burst (KEEP_ALL, or a depth at least the burst size), else the
writer itself may overwrite prompts that were not yet delivered.

Another kind of request (a batch of prompts, ...) is queued with ``submit_job``: a
``sam_ros.core.work_queue.Job`` whose ``run`` answers it, ``refuse(waiting)`` answers
it BUSY, and ``abandon`` is called at shutdown.
"""

import threading
from typing import Callable, Dict, List, Optional

import rclpy.logging
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sam_ros.core.work_queue import Job, WorkQueue
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node import conversions as conv

__all__ = ['PROMPT_QOS', 'PromptIntake']

PROMPT_QOS = QoSProfile(history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE)
_SHUTDOWN = 'the node is shutting down; the prompt was not answered'
_IDS_LOGGED = 10


class PromptIntake:
    """Queue prompts for one worker; answer BUSY past the bound; abandon at shutdown."""

    def __init__(self, capacity: int, answer: Callable[[SegmentPrompt], SegmentResult],
                 publish: Callable[[SegmentResult], None],
                 check: Callable[[SegmentPrompt], Optional[str]], logger,
                 quiet: Callable[[], bool]) -> None:
        """
        Create the queue and start its worker.

        ``answer(prompt)``: compute and publish the result (runs in the worker).
        ``publish(result)``: publish a refusal (BUSY, INVALID_PROMPT) on ~/results.
        ``check(prompt)``: a bound's one-line reason, or None. ``quiet()``: True while
        the node shuts down (failures to publish are then expected, not logged).
        """
        self._answer = answer
        self._publish = publish
        self._check = check
        self._log = logger
        self._quiet = quiet
        self._queue = WorkQueue(capacity, on_error=self._on_error, name='sam_prompts')
        self._queue.start()

    # ------------------------------------------------------------------ intake

    def submit(self, prompt: SegmentPrompt) -> None:
        """Queue a prompt from a topic; its result goes to ~/results only."""
        if self._refused_at_once(prompt) is not None:
            return
        job = Job(prompt.prompt_id, lambda: self._answer(prompt),
                  lambda waiting: self._publish(self._busy(prompt, waiting)),
                  lambda: None)
        if not self._queue.submit(job):  # stopping: nobody can receive an answer now
            rclpy.logging.get_logger('sam_node').info(
                f'prompt {prompt.prompt_id!r} arrived while stopping: abandoned unanswered')

    def call(self, prompt: SegmentPrompt) -> SegmentResult:
        """Queue a prompt of the ~/segment service and wait for its result (also published)."""
        refused = self._refused_at_once(prompt)
        if refused is not None:
            return refused
        answered: List[SegmentResult] = []
        done = threading.Event()

        def run() -> None:
            try:
                answered.append(self._answer(prompt))
            finally:
                done.set()

        def refuse(waiting: int) -> None:
            answered.append(self._busy(prompt, waiting))
            done.set()
            self._publish(answered[0])

        def abandon() -> None:
            answered.append(conv.error_result(prompt.header, prompt.prompt_id,
                                              SegmentResult.STATUS_INTERNAL_ERROR, _SHUTDOWN))
            done.set()

        if not self._queue.submit(Job(prompt.prompt_id, run, refuse, abandon)):
            abandon()
        done.wait()
        if answered:
            return answered[0]
        return conv.error_result(prompt.header, prompt.prompt_id,
                                 SegmentResult.STATUS_INTERNAL_ERROR,
                                 'the prompt failed; see the node log')

    def submit_job(self, job: Job) -> bool:
        """Queue another kind of request; return False (call its abandon) when stopping."""
        if self._queue.submit(job):
            return True
        job.abandon()
        return False

    def _refused_at_once(self, prompt: SegmentPrompt) -> Optional[SegmentResult]:
        reason = self._check(prompt)
        if reason is None:
            return None
        result = conv.error_result(prompt.header, prompt.prompt_id,
                                   SegmentResult.STATUS_INVALID_PROMPT, reason)
        self._publish(result)
        return result

    def _busy(self, prompt: SegmentPrompt, waiting: int) -> SegmentResult:
        return conv.error_result(
            prompt.header, prompt.prompt_id, SegmentResult.STATUS_BUSY,
            f'the prompt queue is full ({waiting} prompts waiting, prompt_queue_size '
            f'{self._queue.capacity}); this, the oldest waiting prompt, was refused; '
            'send prompts more slowly or raise prompt_queue_size')

    def _on_error(self, job: Job, exc: BaseException) -> None:
        if self._quiet() or self._queue.stopped:
            return
        self._log.error(f'prompt {job.name!r}: {type(exc).__name__}: {exc}',
                        throttle_duration_sec=5.0)

    # ---------------------------------------------------------------- shutdown

    def stop(self, why: str = 'shutting down') -> None:
        """Stop taking prompts; log what is abandoned (queued, and the one in flight)."""
        abandoned = self._queue.stop()
        flight = self._queue.in_flight()
        if not abandoned and flight is None:
            rclpy.logging.get_logger('sam_node').info(
                f'{why}: no prompt was waiting or in flight')
            return
        ids = ', '.join(repr(job.name) for job in abandoned[:_IDS_LOGGED])
        if len(abandoned) > _IDS_LOGGED:
            ids += f', ... ({len(abandoned) - _IDS_LOGGED} more)'
        text = f'{why}: {len(abandoned)} waiting prompt(s) abandoned unanswered'
        if abandoned:
            text += f' ({ids})'
        if flight is not None:
            text += (f'; prompt {flight!r} is in flight and is abandoned unless it finishes '
                     'before the node exits')
        # Not the node's logger: after shutdown its copy to /rosout fails with a line of its own.
        rclpy.logging.get_logger('sam_node').warning(text)

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the worker; return True when no work is in flight."""
        return self._queue.join(timeout)

    def diagnostics(self) -> Dict[str, int]:
        """Return the /diagnostics values of the queue."""
        stats = self._queue.stats()
        return {'prompt queue length': stats['waiting'],
                'prompts queued': stats['queued'],
                'refused busy': stats['refused']}
