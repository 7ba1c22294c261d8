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

One implementation, ``SamNodeBase``, in three phases: ``configure_sam`` (read the
parameters, load and warm up the model), ``activate_sam`` (topics, service, frame
store) and ``deactivate_sam`` / ``cleanup_sam`` (their reverse). ``SamNode`` is a plain
``rclpy.node.Node`` that configures and activates itself at construction;
``SamLifecycleNode`` (lifecycle.py) runs the phases as lifecycle transitions.

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
import gc
import itertools
import threading
from typing import Any, Dict, Optional

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, PointStamped, PolygonStamped
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sam_ros.core.errors import PromptError, SamError
from sam_ros.core.frames import FrameStore
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node import conversions as conv
from sam_ros.node.answers import AnswerMixin, STATUS_NAMES, THROTTLE_S
from sam_ros.node.batch import BatchSegmenter
from sam_ros.node.bridge import backend_note as image_backend_note
from sam_ros.node.config import (apply_changes, ConfigError, declare_parameters, PARAMETERS,
                                 read_config, unknown_overrides)
from sam_ros.node.depth_output import DepthOutput
from sam_ros.node.events import subscription_events
from sam_ros.node.intake import PROMPT_QOS, PromptIntake
from sam_ros.node.limits import image_limit_error, prompt_limit_error
from sam_ros.node.model import build_predictor, warm_up
from sam_ros.node.projection import PointProjector
from sam_ros.srv import Segment
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

__all__ = ['SamNode', 'SamNodeBase']

_KINDS = ('subscriptions', 'publishers', 'services', 'clients', 'timers')


def _qos(profile: QoSProfile) -> QoSProfile:
    """Return a copy of ``profile``: rclpy writes a subscription's QoS overrides into it."""
    return QoSProfile(history=profile.history, depth=profile.depth,
                      reliability=profile.reliability, durability=profile.durability)


class SamNodeBase(AnswerMixin):
    """
    The node's implementation, mixed into a ``Node`` or a ``LifecycleNode``.

    Call ``init_sam()`` right after the node's constructor, then the phases in order.
    """

    def init_sam(self) -> None:
        """Declare the parameters (read later, by ``configure_sam``)."""
        self._lock = threading.Lock()
        self._config = None
        self._predictor = None
        self._store: Optional[FrameStore] = None
        self._intake: Optional[PromptIntake] = None
        self._batch = self._depth = None
        self._activated: Dict[str, list] = {}
        self._qos_checked = False
        self._stopping = False
        self.sam_active = False
        self.encoder_stopped = True    # set by destroy_node: the encoder thread ended
        declare_parameters(self)
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

    def configure_sam(self) -> None:
        """
        Read the parameters, load the model and warm it up.

        Raises ConfigError on a bad parameter and SamError (CheckpointError, ...) when
        the model cannot be built; the caller reports it in one line.
        """
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
        self._camera_info: Optional[CameraInfo] = None
        self._refine: 'OrderedDict[str, Any]' = OrderedDict()
        self._ids = itertools.count(1)
        self._counts: Dict[str, int] = {'prompts': 0, 'errors': 0, 'filtered': 0}
        self._counts.update({f'status_{name.lower()}': 0 for name in STATUS_NAMES.values()})
        self._decode_ms_last = 0.0
        self._decode_ms_total = 0.0
        self._decodes = 0
        self._log = {kind: self.get_logger().get_child(kind)
                     for kind in ('image', 'prompt', 'click', 'engine')}
        # typos in -p / YAML are named; qos_overrides.* once the subscriptions exist
        for line in unknown_overrides(self, qos=False):
            self.get_logger().warning(line)

    def activate_sam(self) -> None:
        """Create the subscriptions, publishers, services and timer; start the frame store."""
        before = {kind: list(getattr(self, kind)) for kind in _KINDS}
        cfg = self._config
        self._store = FrameStore(self._encode, cfg.cache_size, cfg.encode_policy,
                                 cfg.change_threshold, on_error=self._on_encode_error)
        self._projector = PointProjector(self)
        self._depth = DepthOutput(self, cfg, callback_group=MutuallyExclusiveCallbackGroup())

        frames = MutuallyExclusiveCallbackGroup()
        prompts = MutuallyExclusiveCallbackGroup()
        service = MutuallyExclusiveCallbackGroup()
        diagnostics = MutuallyExclusiveCallbackGroup()
        # image_qos_* are the defaults; qos_overrides.<topic>.subscription.* override them
        image_qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=cfg.image_qos_depth,
            reliability=(ReliabilityPolicy.BEST_EFFORT
                         if cfg.image_qos_reliability == 'best_effort'
                         else ReliabilityPolicy.RELIABLE))
        overridable = QoSOverridingOptions.with_default_policies
        reliable = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                              reliability=ReliabilityPolicy.RELIABLE)

        image_topic = self.resolve_topic_name('image')
        fix = ('match the publisher with image_qos_reliability (now '
               f'{cfg.image_qos_reliability}) or qos_overrides.<topic>.subscription.'
               'reliability')  # QoS warnings name real topics
        if cfg.image_transport == 'compressed':
            images = self.create_subscription(
                CompressedImage, image_topic + '/compressed', self._on_compressed,
                _qos(image_qos), callback_group=frames, qos_overriding_options=overridable(),
                event_callbacks=subscription_events(self, image_topic + '/compressed', fix))
        else:
            images = self.create_subscription(
                Image, 'image', self._on_image, _qos(image_qos), callback_group=frames,
                qos_overriding_options=overridable(),
                event_callbacks=subscription_events(self, 'image', fix))
        self.create_subscription(CameraInfo, 'camera_info', self._on_camera_info,
                                 _qos(image_qos), callback_group=frames,
                                 qos_overriding_options=overridable(),
                                 event_callbacks=subscription_events(self, 'camera_info', fix))
        for kind, topic, callback in ((SegmentPrompt, '~/prompt', self._on_prompt),
                                      (PointStamped, '~/point', self._on_point),
                                      (PolygonStamped, '~/box', self._on_box)):
            self.create_subscription(kind, topic, callback, _qos(PROMPT_QOS),
                                     callback_group=prompts,
                                     qos_overriding_options=overridable())
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
        results_qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=cfg.results_qos_depth,
                                 reliability=ReliabilityPolicy.RELIABLE)
        # Batched prompts, ~/detections and ~/segment_everything (their own callback group)
        self._batch = BatchSegmenter(self, self._predictor, self._store,
                                     lambda: self._config, MutuallyExclusiveCallbackGroup(),
                                     PROMPT_QOS, results_qos)
        self._results_pub = self.create_publisher(SegmentResult, '~/results', results_qos)
        self._mask_pub = self.create_publisher(Image, '~/mask', results_qos)
        self._overlay_pub = self.create_publisher(
            Image, '~/overlay', QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE))
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', reliable)
        self.create_timer(cfg.diagnostics_period, self._publish_diagnostics,
                          callback_group=diagnostics)

        self._stopping = False
        self._intake = PromptIntake(cfg.prompt_queue_size, self._answer, self._publish,
                                    self._check_prompt, self._log['prompt'],
                                    quiet=lambda: self._stopping or not self.context.ok())
        self._activated = {kind: [e for e in getattr(self, kind) if e not in before[kind]]
                           for kind in _KINDS}
        self.sam_active = True
        self._store.start()
        self.encoder_stopped = False
        if not self._qos_checked:  # the subscriptions declared their qos_overrides.*
            self._qos_checked = True
            for line in unknown_overrides(self, qos=True):
                self.get_logger().warning(line)
        reliability = images.qos_profile.reliability.name.lower()
        self.get_logger().info(
            f'ready: image {image_topic} ({cfg.image_transport}, {reliability}), '
            f'prompts on {self.resolve_topic_name("~/prompt")}, '
            f'clicks on {", ".join(self.resolve_topic_name(t) for t in click_topics)}, '
            f'encode_policy {cfg.encode_policy}')

    def deactivate_sam(self, timeout: float = 5.0) -> None:
        """Stop taking frames and prompts (queued ones are abandoned), free the embeddings."""
        self.stop_work('deactivating')
        self._intake.join(timeout)
        if self._batch is not None:
            self._batch.idle(timeout)
        self.sam_active = False
        for kind, entities in self._activated.items():
            destroy = getattr(self, 'destroy_' + kind[:-1])
            for entity in entities:
                destroy(entity)
        self._activated = {}
        self.encoder_stopped = self._store.stop(timeout=timeout)
        self._store = self._batch = self._depth = None  # the embedding cache goes with it
        gc.collect()

    def cleanup_sam(self) -> None:
        """Release the model (configure_sam loads it again)."""
        self._predictor = None
        gc.collect()
        self.get_logger().info('model released')

    def stop_work(self, why: str = 'shutting down') -> None:
        """Stop taking prompts and abandon the queued ones, with a log line (at shutdown)."""
        if not self._stopping and self._intake is not None:
            self._stopping = True
            self._intake.stop(why)

    def work_finished(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the prompt in flight; return True when none is."""
        prompts_done = self._intake is None or self._intake.join(timeout)
        return (self._batch is None or self._batch.idle(timeout)) and prompts_done

    def destroy_node(self) -> None:
        """Stop the prompt worker and the encoder thread (briefly), then destroy the node."""
        self.stop_work()
        if self._store is not None:
            self.encoder_stopped = self._store.stop(timeout=0.2)
        super().destroy_node()

    # ------------------------------------------------------------------ parameters

    def _validate_parameters(self, params) -> SetParametersResult:
        # Parameters that are not ours (use_sim_time, ...) are rclpy's business; before
        # configure_sam, read_config checks them all.
        if self._config is None:
            return SetParametersResult(successful=True)
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
        store = self._store  # deactivate may drop it meanwhile
        if store is not None:
            store.configure(cfg.encode_policy, cfg.change_threshold)
        self.get_logger().info('parameters changed: ' + ', '.join(
            f'{p.name}={p.value!r}' for p in params))

    # ---------------------------------------------------------------------- frames

    def _encode(self, image):
        return self._predictor.encode(image, image_format='RGB')

    def _on_encode_error(self, message: str) -> None:
        self._log['engine'].error(message, throttle_duration_sec=THROTTLE_S)

    def _on_image(self, msg: Image) -> None:
        self._take_frame(msg, conv.image_to_rgb)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._take_frame(msg, conv.compressed_to_rgb)

    def _take_frame(self, msg, decode) -> None:
        store = self._store
        if store is None:
            return  # deactivated while this frame was being taken
        stamp_ns = conv.stamp_to_ns(msg.header.stamp)
        with self._lock:
            too_large = image_limit_error(msg, self._config)
        try:
            if too_large is not None:
                raise SamError(too_large)
            image = decode(msg)
        except SamError as exc:
            store.add_bad(stamp_ns, msg.header, str(exc))
            self._log['image'].warning(f'dropping a bad image: {exc}',
                                       throttle_duration_sec=THROTTLE_S)
            return
        store.add(stamp_ns, msg.header, image)

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


class SamNode(SamNodeBase, Node):
    """Segment Anything on a camera stream; see docs/node.md for the interface."""

    def __init__(self, node_name: str = 'sam', **kwargs: Any) -> None:
        """
        Declare and read the parameters, load the model, create the interface.

        Raises ConfigError on a bad parameter and SamError (CheckpointError, ...) when
        the model cannot be built; the caller reports it in one line.
        """
        super().__init__(node_name, **kwargs)
        self.init_sam()
        self.configure_sam()
        self.activate_sam()
