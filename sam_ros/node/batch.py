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
The node's many-objects interface: ``~/batch``, ``~/detections``, everything.

``BatchSegmenter`` is created by ``SamNode.__init__`` and owns:

* ``~/batch`` (``SegmentBatch``) -> ``~/batch_results`` (``SegmentBatchResult``): every
  prompt of a batch is decoded on the same cached embedding in as few decoder passes as
  ``batch_max_per_pass`` allows; each object gets its own status, and the answer carries
  a mono16 instance label image.
* ``~/detections`` (``vision_msgs/Detection2DArray``, only where vision_msgs imports):
  one box prompt per detection, answered on ``~/batch_results`` like a batch.
* ``~/segment_everything`` (service, ``SegmentEverything``) and, with
  ``everything_period`` > 0, ``~/everything`` (``EverythingResult``) on the latest frame.

``answer_batch(msg)`` does lookup + decode + publish for one batch and returns the
result, so that a prompt queue can call it.
"""

import contextlib
import itertools
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Optional

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from sam_ros.core.automatic import SamAutomaticMaskGenerator
from sam_ros.core.batch import segment_prompts
from sam_ros.core.errors import SamError
from sam_ros.core.labels import label_image
from sam_ros.core.postprocess import clean_prediction
from sam_ros.msg import EverythingResult, SegmentBatch, SegmentBatchResult, SegmentResult
from sam_ros.node import batch_conversions as bconv
from sam_ros.node import conversions as conv
from sam_ros.node.answers import publish_unless_shut_down
from sam_ros.srv import SegmentEverything
from sensor_msgs.msg import Image
from std_msgs.msg import Header

__all__ = ['BatchSegmenter']

_THROTTLE_S = 5.0
_LOOKUP_STATUS = {'no_frame': SegmentResult.STATUS_NO_FRAME,
                  'stale': SegmentResult.STATUS_STALE_FRAME,
                  'bad_image': SegmentResult.STATUS_BAD_IMAGE,
                  'encode_failed': SegmentResult.STATUS_INTERNAL_ERROR}


def _import_detections() -> Optional[type]:
    try:
        from vision_msgs.msg import Detection2DArray
    except ImportError:
        return None
    return Detection2DArray


class BatchSegmenter:
    """
    Batched prompts, detections and segment-everything for a ``SamNode``.

    ``predictor``: the node's SamPredictor; ``store``: its FrameStore (``lookup``);
    ``config``: a callable returning the current NodeConfig; ``group``: the callback
    group of the prompt path; ``qos``: the reliable QoS of prompts and results.
    """

    def __init__(self, node: Any, predictor: Any, store: Any, config: Callable[[], Any],
                 group: Any, qos: Any, results_qos: Any) -> None:
        self._node = node
        self._busy = 0
        self._idle = threading.Condition()
        self._predictor = predictor
        self._store = store
        self._config = config
        self._log = node.get_logger().get_child('batch')
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._counts = {'batches answered': 0, 'batch objects': 0, 'batch objects not ok': 0,
                        'segment everything runs': 0}
        self._results_pub = node.create_publisher(SegmentBatchResult, '~/batch_results',
                                                  results_qos)
        node.create_subscription(SegmentBatch, '~/batch', self.answer_batch, qos,
                                 callback_group=group)
        node.create_service(SegmentEverything, '~/segment_everything', self._on_everything,
                            callback_group=group)
        detections = _import_detections()
        if detections is None:
            self._log.info('vision_msgs is not importable: ~/detections (Detection2DArray) '
                           'is off; install ros-<distro>-vision-msgs for it')
        else:
            node.create_subscription(detections, '~/detections', self._on_detections, qos,
                                     callback_group=group)
        self._everything_pub = None
        self._last_everything_ns = -1
        period = float(config().everything_period)
        if period > 0.0:
            self._everything_pub = node.create_publisher(EverythingResult, '~/everything',
                                                         results_qos)
            node.create_timer(period, self._on_everything_timer,
                              callback_group=MutuallyExclusiveCallbackGroup())

    # ------------------------------------------------------------------ batches

    def _on_detections(self, msg: Any) -> None:
        self.answer_batch(bconv.detections_to_batch(msg, f'detections/{next(self._ids)}'))

    @contextlib.contextmanager
    def _working(self):
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for running batches and segment-everything runs to end."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def answer_batch(self, msg: SegmentBatch) -> SegmentBatchResult:
        """Answer ``msg`` with exactly one result, published on ~/batch_results and returned."""
        with self._working():
            return self._answer_batch(msg)

    def _answer_batch(self, msg: SegmentBatch) -> SegmentBatchResult:
        try:
            result = self._segment_batch(msg)
        except Exception as exc:  # noqa: B902 - every batch gets an answer, whatever failed
            self._log.error(f'batch {msg.batch_id!r} failed: {type(exc).__name__}: {exc}\n'
                            f'{traceback.format_exc()}', throttle_duration_sec=_THROTTLE_S)
            result = self._failed_batch(msg, msg.header, SegmentResult.STATUS_INTERNAL_ERROR,
                                        f'{type(exc).__name__}: {exc}')
        refused = sum(r.status != SegmentResult.STATUS_OK for r in result.results)
        if refused:
            self._log.warning(f'batch {msg.batch_id!r}: {refused} of {len(result.results)} '
                              f'objects not OK (first: {self._first_problem(result)})',
                              throttle_duration_sec=_THROTTLE_S)
        with self._lock:
            self._counts['batches answered'] += 1
            self._counts['batch objects'] += len(result.results)
            self._counts['batch objects not ok'] += refused
        publish_unless_shut_down(self._node, self._results_pub, result)
        return result

    def stats(self) -> Dict[str, int]:
        """Return the counters for /diagnostics (name -> count)."""
        with self._lock:
            return dict(self._counts)

    @staticmethod
    def _first_problem(result: SegmentBatchResult) -> str:
        bad = next(r for r in result.results if r.status != SegmentResult.STATUS_OK)
        return f'{bad.prompt_id!r}: {bad.message}'

    def _failed_batch(self, msg: SegmentBatch, header: Header, status: int,
                      message: str) -> SegmentBatchResult:
        result = SegmentBatchResult(header=header, batch_id=msg.batch_id, status=status,
                                    message=message, label_image=Image(header=header))
        for item in msg.prompts:
            result.results.append(conv.error_result(header, item.id, status, message))
        self._carry(msg, result, [0.0] * len(msg.prompts))
        return result

    @staticmethod
    def _carry(msg: SegmentBatch, result: SegmentBatchResult, confidences: List[float]) -> None:
        result.class_ids = [str(item.class_id) for item in msg.prompts]
        result.class_scores = [float(item.class_score) for item in msg.prompts]
        result.confidences = [float(c) for c in confidences]

    def _segment_batch(self, msg: SegmentBatch) -> SegmentBatchResult:
        cfg = self._config()
        lookup = self._store.lookup(conv.stamp_to_ns(msg.header.stamp),
                                    int(cfg.max_prompt_age * 1e9))
        if lookup.status != 'ok':
            return self._failed_batch(msg, msg.header, _LOOKUP_STATUS[lookup.status],
                                      lookup.message)
        encoded = lookup.encoded
        header = Header(stamp=conv.ns_to_stamp(lookup.stamp_ns),
                        frame_id=encoded.header.frame_id)
        converted = bconv.batch_prompts(msg)
        valid = [prompt for prompt, _ in converted if prompt is not None]
        started = time.perf_counter()
        batch = segment_prompts(self._predictor, valid, embedding=encoded.embedding,
                                max_per_pass=cfg.batch_max_per_pass)
        cleaned = iter([clean_prediction(o.prediction, cfg.min_region_area) if o.ok else None
                        for o in batch.outcomes])  # region clean-up, as on ~/prompt
        decode_ms = (time.perf_counter() - started) * 1e3
        outcomes = iter(batch.outcomes)
        result = SegmentBatchResult(header=header, batch_id=msg.batch_id,
                                    status=SegmentResult.STATUS_OK,
                                    decoder_passes=batch.passes,
                                    embedding_reused=lookup.reused,
                                    encode_time_ms=float(lookup.encode_ms),
                                    decode_time_ms=float(decode_ms))
        masks, scores = [], []
        for item, (prompt, error) in zip(msg.prompts, converted):
            outcome = next(outcomes) if prompt is not None else None
            prediction = next(cleaned) if prompt is not None else None
            if outcome is None or not outcome.ok:
                why = error if outcome is None else outcome.error
                one = conv.error_result(header, item.id, SegmentResult.STATUS_INVALID_PROMPT,
                                        why)
                mask, score = None, 0.0
            else:
                one = conv.prediction_to_result(prediction, header, item.id, cfg.min_iou)
                mask, score = bconv.best_kept_mask(prediction, cfg.min_iou)
            one.embedding_reused = lookup.reused
            result.results.append(one)
            masks.append(mask)
            scores.append(score)
        height, width = encoded.embedding.original_size
        labels = label_image(masks, scores, (height, width))
        result.label_image = bconv.labels_to_image(labels.labels, header)
        self._carry(msg, result, labels.confidence.tolist())
        return result

    # --------------------------------------------------------------- everything

    def _on_everything(self, request: SegmentEverything.Request,
                       response: SegmentEverything.Response) -> SegmentEverything.Response:
        response.result = self.answer_everything(request.header)
        return response

    def _on_everything_timer(self) -> None:
        stats_latest = self._store.lookup(0, 0, wait_s=0.0)
        if stats_latest.status != 'ok' or stats_latest.stamp_ns == self._last_everything_ns:
            return
        self._last_everything_ns = stats_latest.stamp_ns
        result = self.answer_everything(Header(stamp=conv.ns_to_stamp(stats_latest.stamp_ns)))
        publish_unless_shut_down(self._node, self._everything_pub, result)

    def answer_everything(self, header: Header) -> EverythingResult:
        """Segment the whole frame ``header.stamp`` names; return one EverythingResult."""
        with self._lock:
            self._counts['segment everything runs'] += 1
        try:
            with self._working():
                return self._everything(header)
        except Exception as exc:  # noqa: B902 - every request gets an answer
            self._log.error(f'segment_everything failed: {type(exc).__name__}: {exc}\n'
                            f'{traceback.format_exc()}', throttle_duration_sec=_THROTTLE_S)
            return EverythingResult(header=header, status=SegmentResult.STATUS_INTERNAL_ERROR,
                                    message=f'{type(exc).__name__}: {exc}')

    def _everything(self, header: Header) -> EverythingResult:
        cfg = self._config()
        lookup = self._store.lookup(conv.stamp_to_ns(header.stamp),
                                    int(cfg.max_prompt_age * 1e9))
        if lookup.status != 'ok':
            return EverythingResult(header=header, status=_LOOKUP_STATUS[lookup.status],
                                    message=lookup.message)
        encoded = lookup.encoded
        frame = Header(stamp=conv.ns_to_stamp(lookup.stamp_ns),
                       frame_id=encoded.header.frame_id)
        try:
            generator = SamAutomaticMaskGenerator(
                self._predictor, points_per_side=cfg.everything_points_per_side,
                points_per_batch=cfg.everything_points_per_batch,
                pred_iou_thresh=cfg.everything_pred_iou_thresh,
                stability_score_thresh=cfg.everything_stability_score_thresh,
                box_nms_thresh=cfg.everything_box_nms_thresh,
                min_mask_region_area=cfg.everything_min_region_area)
            records = generator.generate_from_embedding(encoded.embedding)
        except (SamError, ValueError) as exc:
            return EverythingResult(header=frame, status=SegmentResult.STATUS_INTERNAL_ERROR,
                                    message=str(exc))
        timings = generator.last_timings
        labels = label_image([r['segmentation'] for r in records],
                             [r['predicted_iou'] for r in records],
                             encoded.embedding.original_size)
        return EverythingResult(
            header=frame, status=SegmentResult.STATUS_OK,
            label_image=bconv.labels_to_image(labels.labels, frame),
            regions=[bconv.record_to_region(r, k + 1) for k, r in enumerate(records)],
            embedding_reused=lookup.reused, encode_time_ms=float(lookup.encode_ms),
            decode_time_ms=timings['decode'] * 1e3, filter_time_ms=timings['filter'] * 1e3,
            nms_time_ms=timings['nms'] * 1e3)
