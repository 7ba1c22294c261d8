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
The sam_ros node: camera frames and prompts in, masks with their IoUs out.

Threads: image and camera_info callbacks share one mutually exclusive group (cheap:
decode + change check); prompts and clicks share one mutually exclusive group that only
queues them, in arrival order (``PromptIntake``); the service has its own group (its
callback waits for its prompt's turn); one worker thread decodes the queued prompts in
order; the encoder runs in its own thread (``FrameStore``); /diagnostics has its own
group. Spin the node with a ``MultiThreadedExecutor`` (see ``main.py``) and call
``stop_work()`` when it stops. Topics, services and parameters are listed in
docs/node.md.
"""

from collections import OrderedDict
import itertools
import threading
import time
import traceback
from typing import Any, Dict, Optional

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, PointStamped, PolygonStamped
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sam_ros.core.errors import PromptError, SamError
from sam_ros.core.frames import FrameStore
from sam_ros.core.postprocess import clean_prediction
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node import conversions as conv
from sam_ros.node.batch import BatchSegmenter
from sam_ros.node.bridge import backend_note as image_backend_note
from sam_ros.node.config import (apply_changes, ConfigError, declare_parameters, PARAMETERS,
                                 read_config, unknown_overrides)
from sam_ros.node.depth_output import DepthOutput
from sam_ros.node.events import subscription_events
from sam_ros.node.intake import PROMPT_QOS, PromptIntake
from sam_ros.node.limits import image_limit_error, prompt_limit_error
from sam_ros.node.model import build_predictor, warm_up
from sam_ros.node.overlay import draw_overlay
from sam_ros.node.projection import PointProjector
from sam_ros.srv import Segment
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

__all__ = ['SamNode']

_THROTTLE_S = 5.0
_STATUS_NAMES = {getattr(SegmentResult, 'STATUS_' + name): name for name in (
    'OK', 'NO_FRAME', 'STALE_FRAME', 'INVALID_PROMPT', 'BAD_IMAGE', 'UNKNOWN_REFERENCE',
    'INTERNAL_ERROR', 'FILTERED', 'BUSY')}
_LOOKUP_STATUS = {'no_frame': SegmentResult.STATUS_NO_FRAME,
                  'stale': SegmentResult.STATUS_STALE_FRAME,
                  'bad_image': SegmentResult.STATUS_BAD_IMAGE,
                  'encode_failed': SegmentResult.STATUS_INTERNAL_ERROR}


class SamNode(Node):
    """Segment Anything on a camera stream; see docs/node.md for the interface."""

    def __init__(self, node_name: str = 'sam', **kwargs: Any) -> None:
        """
        Declare and read the parameters, load the model, create the interface.

        Raises ConfigError on a bad parameter and SamError (CheckpointError, ...) when
        the model cannot be built; the caller reports it in one line.
        """
        super().__init__(node_name, **kwargs)
        declare_parameters(self)
        self._config = read_config(self)
        cfg = self._config
        self._predictor, model_note = build_predictor(cfg)
        if cfg.random_weights:
            self.get_logger().error(
                f'RUNNING {cfg.model_type} WITH RANDOM WEIGHTS (allow_random_weights:=true): '
                'masks are meaningless; use this for tests and benchmarks only')
        self.get_logger().info(model_note)
        self.get_logger().info(image_backend_note())  # cv_bridge, or the own conversion
        encode_ms, decode_ms = warm_up(self._predictor)  # warm-up, before 'ready'
        self.get_logger().info(f'warmed up on a blank frame: encode {encode_ms:.0f} ms, '
                               f'decode {decode_ms:.0f} ms')

        self._lock = threading.Lock()
        self._camera_info: Optional[CameraInfo] = None
        self._refine: 'OrderedDict[str, Any]' = OrderedDict()
        self._ids = itertools.count(1)
        self._counts: Dict[str, int] = {'prompts': 0, 'errors': 0, 'filtered': 0}
        self._counts.update({f'status_{name.lower()}': 0 for name in _STATUS_NAMES.values()})
        self._decode_ms_last = 0.0
        self._decode_ms_total = 0.0
        self._decodes = 0
        self._log = {kind: self.get_logger().get_child(kind)
                     for kind in ('image', 'prompt', 'click', 'engine')}

        self._store = FrameStore(self._encode, cfg.cache_size, cfg.encode_policy,
                                 cfg.change_threshold, on_error=self._on_encode_error)
        self._projector = PointProjector(self)
        self._depth = DepthOutput(self, cfg, callback_group=MutuallyExclusiveCallbackGroup())

        frames = MutuallyExclusiveCallbackGroup()
        prompts = MutuallyExclusiveCallbackGroup()
        service = MutuallyExclusiveCallbackGroup()
        diagnostics = MutuallyExclusiveCallbackGroup()
        image_qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=cfg.image_qos_depth,
            reliability=(ReliabilityPolicy.BEST_EFFORT
                         if cfg.image_qos_reliability == 'best_effort'
                         else ReliabilityPolicy.RELIABLE))
        reliable = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                              reliability=ReliabilityPolicy.RELIABLE)

        image_topic = self.resolve_topic_name('image')
        fix = ('match the publisher with image_qos_reliability (now '
               f'{cfg.image_qos_reliability})')  # QoS warnings name real topics
        if cfg.image_transport == 'compressed':
            self.create_subscription(CompressedImage, image_topic + '/compressed',
                                     self._on_compressed, image_qos, callback_group=frames,
                                     event_callbacks=subscription_events(
                                         self, image_topic + '/compressed', fix))
        else:
            self.create_subscription(Image, 'image', self._on_image, image_qos,
                                     callback_group=frames,
                                     event_callbacks=subscription_events(self, 'image', fix))
        self.create_subscription(CameraInfo, 'camera_info', self._on_camera_info, image_qos,
                                 callback_group=frames,
                                 event_callbacks=subscription_events(self, 'camera_info', fix))
        self.create_subscription(SegmentPrompt, '~/prompt', self._on_prompt, PROMPT_QOS,
                                 callback_group=prompts)
        self.create_subscription(PointStamped, '~/point', self._on_point, PROMPT_QOS,
                                 callback_group=prompts)
        self.create_subscription(PolygonStamped, '~/box', self._on_box, PROMPT_QOS,
                                 callback_group=prompts)
        click_topics = [cfg.click_topic or image_topic + '_mouse_left',
                        '~/overlay_mouse_left']
        for topic in click_topics:
            self.create_subscription(Point, topic, self._on_click, PROMPT_QOS,
                                     callback_group=prompts)
        if cfg.clicked_point_topic:
            self.create_subscription(PointStamped, cfg.clicked_point_topic,
                                     self._on_clicked_point, PROMPT_QOS,
                                     callback_group=prompts)
            if not self._projector.has_tf2:
                self.get_logger().warning(
                    f'tf2_ros is not importable: points on {cfg.clicked_point_topic} are '
                    'accepted only when already in the camera optical frame '
                    '(camera_info.header.frame_id); install tf2_ros for any frame')
        self.create_service(Segment, '~/segment', self._on_segment, qos_profile=PROMPT_QOS,
                            callback_group=service)
        # Batched prompts, ~/detections and ~/segment_everything (their own callback group)
        self._batch = BatchSegmenter(self, self._predictor, self._store,
                                     lambda: self._config, MutuallyExclusiveCallbackGroup(),
                                     PROMPT_QOS)

        results_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=cfg.results_qos_depth,
                                 reliability=ReliabilityPolicy.RELIABLE)
        self._results_pub = self.create_publisher(SegmentResult, '~/results', results_qos)
        self._mask_pub = self.create_publisher(Image, '~/mask', results_qos)
        self._overlay_pub = self.create_publisher(
            Image, '~/overlay', QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE))
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', reliable)
        self.create_timer(cfg.diagnostics_period, self._publish_diagnostics,
                          callback_group=diagnostics)

        self._stopping = False
        self.encoder_stopped = False    # set by destroy_node: the encoder thread ended
        self._intake = PromptIntake(cfg.prompt_queue_size, self._answer, self._publish,
                                    self._check_prompt, self._log['prompt'],
                                    quiet=lambda: self._stopping or not self.context.ok())
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self._store.start()
        for line in unknown_overrides(self):  # typos in -p / YAML are named
            self.get_logger().warning(line)
        self.get_logger().info(
            f'ready: image {image_topic} ({cfg.image_transport}, '
            f'{cfg.image_qos_reliability}), prompts on {self.resolve_topic_name("~/prompt")}, '
            f'clicks on {", ".join(self.resolve_topic_name(t) for t in click_topics)}, '
            f'encode_policy {cfg.encode_policy}')

    def stop_work(self) -> None:
        """Stop taking prompts and abandon the queued ones, with a log line (at shutdown)."""
        if not self._stopping:
            self._stopping = True
            self._intake.stop()

    def work_finished(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the prompt in flight; return True when none is."""
        return self._intake.join(timeout)

    def destroy_node(self) -> None:
        """Stop the prompt worker and the encoder thread (briefly), then destroy the node."""
        self.stop_work()
        self.encoder_stopped = self._store.stop(timeout=0.2)
        super().destroy_node()

    # ------------------------------------------------------------------ parameters

    def _validate_parameters(self, params) -> SetParametersResult:
        # Parameters that are not ours (use_sim_time, ...) are rclpy's business.
        try:
            apply_changes(self._config, [(p.name, p.value) for p in params
                                         if p.name in PARAMETERS])
        except ConfigError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        params = [p for p in params if p.name in PARAMETERS]
        if not params:
            return
        with self._lock:
            self._config = apply_changes(self._config, [(p.name, p.value) for p in params])
            cfg = self._config
        self._store.configure(cfg.encode_policy, cfg.change_threshold)
        self.get_logger().info('parameters changed: ' + ', '.join(
            f'{p.name}={p.value!r}' for p in params))

    # ---------------------------------------------------------------------- frames

    def _encode(self, image):
        return self._predictor.encode(image, image_format='RGB')

    def _on_encode_error(self, message: str) -> None:
        self._log['engine'].error(message, throttle_duration_sec=_THROTTLE_S)

    def _on_image(self, msg: Image) -> None:
        self._take_frame(msg, conv.image_to_rgb)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._take_frame(msg, conv.compressed_to_rgb)

    def _take_frame(self, msg, decode) -> None:
        stamp_ns = conv.stamp_to_ns(msg.header.stamp)
        with self._lock:
            too_large = image_limit_error(msg, self._config)
        try:
            if too_large is not None:
                raise SamError(too_large)
            image = decode(msg)
        except SamError as exc:
            self._store.add_bad(stamp_ns, msg.header, str(exc))
            self._log['image'].warning(f'dropping a bad image: {exc}',
                                       throttle_duration_sec=_THROTTLE_S)
            return
        self._store.add(stamp_ns, msg.header, image)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        with self._lock:
            self._camera_info = msg

    # --------------------------------------------------------------------- prompts

    def _check_prompt(self, prompt: SegmentPrompt):
        with self._lock:
            return prompt_limit_error(prompt, self._config)

    def _on_prompt(self, msg: SegmentPrompt) -> None:
        self._intake.submit(msg)

    def _on_segment(self, request: Segment.Request,
                    response: Segment.Response) -> Segment.Response:
        response.result = self._intake.call(request.prompt)
        return response

    def _on_point(self, msg: PointStamped) -> None:
        self._intake.submit(conv.point_prompt(msg, f'point/{next(self._ids)}'))

    def _on_box(self, msg: PolygonStamped) -> None:
        prompt_id = f'box/{next(self._ids)}'
        try:
            prompt = conv.box_prompt(msg, prompt_id)
        except PromptError as exc:
            self._reject(msg.header, prompt_id, SegmentResult.STATUS_INVALID_PROMPT, str(exc))
            return
        self._intake.submit(prompt)

    def _on_click(self, msg: Point) -> None:
        self._intake.submit(conv.click_prompt(msg, f'click/{next(self._ids)}'))

    def _on_clicked_point(self, msg: PointStamped) -> None:
        prompt_id = f'clicked_point/{next(self._ids)}'
        with self._lock:
            info, model = self._camera_info, self._config.click_projection
        try:
            x, y = self._projector.to_pixel(msg, info, model)
        except PromptError as exc:
            self._reject(Header(), prompt_id, SegmentResult.STATUS_INVALID_PROMPT, str(exc))
            return
        self._intake.submit(conv.click_prompt(Point(x=x, y=y), prompt_id))

    def _answer(self, prompt: SegmentPrompt) -> SegmentResult:
        """Answer ``prompt`` with exactly one result, published on ~/results and returned."""
        try:
            result, extras = self._segment(prompt)
        except Exception as exc:  # noqa: B902 - every prompt gets an answer, whatever failed
            self._log['engine'].error(
                f'prompt {prompt.prompt_id!r} failed: {type(exc).__name__}: {exc}\n'
                f'{traceback.format_exc()}', throttle_duration_sec=_THROTTLE_S)
            result, extras = conv.error_result(
                prompt.header, prompt.prompt_id, SegmentResult.STATUS_INTERNAL_ERROR,
                f'{type(exc).__name__}: {exc}'), None
        if result.status not in (SegmentResult.STATUS_OK, SegmentResult.STATUS_FILTERED):
            self._log['prompt'].warning(
                f'prompt {prompt.prompt_id!r}: {_STATUS_NAMES[result.status]}: '
                f'{result.message}', throttle_duration_sec=_THROTTLE_S)
        self._publish(result)
        if extras is not None:
            self._publish_images(result, *extras)
        return result

    def _reject(self, header: Header, prompt_id: str, status: int, message: str) -> None:
        self._log['prompt'].warning(f'prompt {prompt_id!r}: {_STATUS_NAMES[status]}: {message}',
                                    throttle_duration_sec=_THROTTLE_S)
        self._publish(conv.error_result(header, prompt_id, status, message))

    def _publish(self, result: SegmentResult) -> None:
        with self._lock:
            self._counts['prompts'] += 1
            self._counts['status_' + _STATUS_NAMES[result.status].lower()] += 1
            if result.status == SegmentResult.STATUS_FILTERED:
                self._counts['filtered'] += 1
            elif result.status != SegmentResult.STATUS_OK:
                self._counts['errors'] += 1
        _publish_unless_shut_down(self, self._results_pub, result)

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
        stats = self._store.stats()
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
        values.update(self._intake.diagnostics())
        values.update(self._batch.stats())  # batches and segment everything
        values.update(self._depth.stats())
        status.values = [KeyValue(key=key, value=str(value)) for key, value in values.items()]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        _publish_unless_shut_down(self, self._diag_pub, array)


def _publish_unless_shut_down(node: Node, publisher, msg) -> None:
    """Publish ``msg``; after shutdown (SIGINT) nobody can receive it, so drop it quietly."""
    try:
        publisher.publish(msg)
    except Exception:  # noqa: B902 - rclpy raises RCLError / InvalidHandle after shutdown
        if node.context.ok():
            raise
