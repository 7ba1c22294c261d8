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
How the node answers a prompt, and its /diagnostics: shared by both node kinds.

``AnswerMixin`` is mixed into ``SamNodeBase`` (sam_node.py); it uses the state that
class creates (``_config``, ``_predictor``, ``_store``, ``_intake``, the publishers).
"""

import time
import traceback

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from sam_ros.core.errors import PromptError
from sam_ros.core.postprocess import clean_prediction
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node import conversions as conv
from sam_ros.node.limits import prompt_limit_error
from sam_ros.node.overlay import draw_overlay
from std_msgs.msg import Header

__all__ = ['AnswerMixin', 'STATUS_NAMES', 'THROTTLE_S', 'publish_unless_shut_down']

THROTTLE_S = 5.0
STATUS_NAMES = {getattr(SegmentResult, 'STATUS_' + name): name for name in (
    'OK', 'NO_FRAME', 'STALE_FRAME', 'INVALID_PROMPT', 'BAD_IMAGE', 'UNKNOWN_REFERENCE',
    'INTERNAL_ERROR', 'FILTERED', 'BUSY')}
_LOOKUP_STATUS = {'no_frame': SegmentResult.STATUS_NO_FRAME,
                  'stale': SegmentResult.STATUS_STALE_FRAME,
                  'bad_image': SegmentResult.STATUS_BAD_IMAGE,
                  'encode_failed': SegmentResult.STATUS_INTERNAL_ERROR}


class AnswerMixin:
    """Answer prompts (decode, results, mask, overlay, depth) and publish /diagnostics."""

    def _answer(self, prompt: SegmentPrompt) -> SegmentResult:
        """Answer ``prompt`` with exactly one result, published on ~/results and returned."""
        try:
            result, extras = self._segment(prompt)
        except Exception as exc:  # noqa: B902 - every prompt gets an answer, whatever failed
            self._log['engine'].error(
                f'prompt {prompt.prompt_id!r} failed: {type(exc).__name__}: {exc}\n'
                f'{traceback.format_exc()}', throttle_duration_sec=THROTTLE_S)
            result, extras = conv.error_result(
                prompt.header, prompt.prompt_id, SegmentResult.STATUS_INTERNAL_ERROR,
                f'{type(exc).__name__}: {exc}'), None
        if result.status not in (SegmentResult.STATUS_OK, SegmentResult.STATUS_FILTERED):
            self._log['prompt'].warning(
                f'prompt {prompt.prompt_id!r}: {STATUS_NAMES[result.status]}: '
                f'{result.message}', throttle_duration_sec=THROTTLE_S)
        self._publish(result)
        if extras is not None:
            self._publish_images(result, *extras)
        return result

    def _reject(self, header: Header, prompt_id: str, status: int, message: str) -> None:
        self._log['prompt'].warning(f'prompt {prompt_id!r}: {STATUS_NAMES[status]}: {message}',
                                    throttle_duration_sec=THROTTLE_S)
        self._publish(conv.error_result(header, prompt_id, status, message))

    def _publish(self, result: SegmentResult) -> None:
        with self._lock:
            self._counts['prompts'] += 1
            self._counts['status_' + STATUS_NAMES[result.status].lower()] += 1
            if result.status == SegmentResult.STATUS_FILTERED:
                self._counts['filtered'] += 1
            elif result.status != SegmentResult.STATUS_OK:
                self._counts['errors'] += 1
        publish_unless_shut_down(self, self._results_pub, result)

    def _segment(self, prompt: SegmentPrompt):
        """Return (result, overlay extras or None) for ``prompt``; publishes nothing."""
        with self._lock:
            cfg = self._config
        fail = conv.error_result
        too_much = prompt_limit_error(prompt, cfg)
        if too_much is not None:
            return fail(prompt.header, prompt.prompt_id,
                        SegmentResult.STATUS_INVALID_PROMPT, too_much), None
        try:
            arrays = conv.prompt_to_arrays(prompt)
        except PromptError as exc:
            return fail(prompt.header, prompt.prompt_id,
                        SegmentResult.STATUS_INVALID_PROMPT, str(exc)), None
        mask_input = None
        if prompt.refine_prompt_id:
            with self._lock:
                remembered = self._refine.get(prompt.refine_prompt_id)
            if remembered is None:
                return fail(prompt.header, prompt.prompt_id,
                            SegmentResult.STATUS_UNKNOWN_REFERENCE,
                            f'no result {prompt.refine_prompt_id!r} is kept (the last '
                            f'{cfg.refine_memory} results with an id are)'), None
            logits, best = remembered
            index = best if prompt.refine_mask_index == -1 else prompt.refine_mask_index
            if not 0 <= index < len(logits):
                return fail(prompt.header, prompt.prompt_id,
                            SegmentResult.STATUS_INVALID_PROMPT,
                            f'refine_mask_index {prompt.refine_mask_index} is out of range: '
                            f'result {prompt.refine_prompt_id!r} has {len(logits)} masks '
                            '(-1 = its best)'), None
            mask_input = logits[index][None]

        lookup = self._store.lookup(conv.stamp_to_ns(prompt.header.stamp),
                                    int(cfg.max_prompt_age * 1e9),
                                    tolerance_ns=int(cfg.frame_match_tolerance * 1e9))
        if lookup.status != 'ok':
            header = prompt.header
            return fail(header, prompt.prompt_id, _LOOKUP_STATUS[lookup.status],
                        lookup.message), None
        encoded = lookup.encoded
        header = Header(stamp=conv.ns_to_stamp(lookup.stamp_ns),
                        frame_id=encoded.header.frame_id)
        started = time.perf_counter()
        try:
            prediction = self._predictor.segment(
                point_coords=arrays.point_coords, point_labels=arrays.point_labels,
                box=arrays.box, mask_input=mask_input, mode=arrays.mode,
                embedding=encoded.embedding)
        except PromptError as exc:
            return fail(header, prompt.prompt_id, SegmentResult.STATUS_INVALID_PROMPT,
                        str(exc)), None
        prediction = clean_prediction(prediction, cfg.min_region_area)  # region clean-up
        decode_ms = (time.perf_counter() - started) * 1e3
        result = conv.prediction_to_result(prediction, header, prompt.prompt_id, cfg.min_iou)
        self._depth.fill(result, prediction, lookup.stamp_ns, header, cfg)
        result.embedding_reused = lookup.reused
        result.encode_time_ms = float(lookup.encode_ms)
        result.decode_time_ms = float(decode_ms)
        result.frame_offset_ns = int(lookup.offset_ns)
        with self._lock:
            self._decodes += 1
            self._decode_ms_last = decode_ms
            self._decode_ms_total += decode_ms
            if prompt.prompt_id and cfg.refine_memory > 0:
                self._refine[prompt.prompt_id] = (prediction.low_res_logits,
                                                  int(prediction.best_index))
                self._refine.move_to_end(prompt.prompt_id)
                while len(self._refine) > cfg.refine_memory:
                    self._refine.popitem(last=False)
        return result, (prediction, encoded.image, arrays, cfg)

    def _publish_images(self, result: SegmentResult, prediction, image, arrays, cfg) -> None:
        if result.status != SegmentResult.STATUS_OK:
            return
        if cfg.publish_mask:
            self._mask_pub.publish(result.masks[result.best_index].mask)
        if cfg.publish_overlay and self._overlay_pub.get_subscription_count() > 0:
            kept = conv.kept_indices(prediction.iou, cfg.min_iou)
            overlay = draw_overlay(
                image, [prediction.masks[i] for i in kept],
                [prediction.levels[i] for i in kept],
                [float(prediction.iou[i]) for i in kept], result.best_index,
                arrays.point_coords, arrays.point_labels, arrays.box)
            self._overlay_pub.publish(conv.rgb_to_image(overlay, result.header))
        self._depth.publish(result, image, cfg)

    # ----------------------------------------------------------------- diagnostics

    def _publish_diagnostics(self) -> None:
        store, intake, batch, depth = self._store, self._intake, self._batch, self._depth
        if store is None or batch is None or depth is None:
            return  # deactivated while the timer fired
        stats = store.stats()
        with self._lock:
            counts = dict(self._counts)
            decode_last = self._decode_ms_last
            decode_mean = self._decode_ms_total / self._decodes if self._decodes else 0.0
            cfg = self._config
        status = DiagnosticStatus(name=f'{self.get_fully_qualified_name()}: segmenter',
                                  hardware_id=str(self._predictor.device))
        if stats['frames'] == 0:
            status.level = DiagnosticStatus.WARN
            status.message = f'waiting for images on {self.resolve_topic_name("image")}'
        elif stats['encode_errors']:
            status.level = DiagnosticStatus.ERROR
            status.message = f'{stats["encode_errors"]} encode(s) failed; see the log'
        else:
            status.level = DiagnosticStatus.OK
            status.message = 'ok'
        values = {
            'encoder latency last (ms)': f'{stats["encode_ms_last"]:.1f}',
            'encoder latency mean (ms)': f'{stats["encode_ms_mean"]:.1f}',
            'decoder latency last (ms)': f'{decode_last:.1f}',
            'decoder latency mean (ms)': f'{decode_mean:.1f}',
            'frames received': stats['frames'],
            'bad frames': stats['bad_frames'],
            'encodes': stats['encodes'],
            'skipped encodes': stats['skipped_encodes'],
            'dropped frames': stats['dropped_frames'],
            'encode errors': stats['encode_errors'],
            'prompts answered': counts['prompts'],
            'errors': counts['errors'],
            'filtered': counts['filtered'],
            'cache entries': stats['cache_entries'],
            'cache stamps': stats['cache_keys'],
            'encode policy': cfg.encode_policy,
            'model': cfg.model_type,
        }
        values.update({key: value for key, value in counts.items()
                       if key.startswith('status_')})
        values.update(intake.diagnostics())
        values.update(batch.stats())  # batches and segment everything
        values.update(depth.stats())
        status.values = [KeyValue(key=key, value=str(value)) for key, value in values.items()]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        publish_unless_shut_down(self, self._diag_pub, array)


def publish_unless_shut_down(node: Node, publisher, msg) -> None:
    """Publish ``msg``; after shutdown or deactivation nobody can receive it: drop it quietly."""
    try:
        publisher.publish(msg)
    except Exception:  # noqa: B902 - rclpy raises RCLError / InvalidHandle after shutdown
        if node.context.ok() and getattr(node, 'sam_active', True):
            raise  # a deactivated lifecycle node destroyed its publishers: drop it too
