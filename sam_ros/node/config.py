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
The node's parameters: declared here, in one table, and read once into a frozen config.

``PARAMETERS`` is the single source of truth: name, default, description, whether it
may change at runtime, and its choices or range. ``declare_parameters`` declares them
on a node with ``ParameterDescriptor``s, ``read_config`` reads them into a
``NodeConfig`` and validates it (``ConfigError`` with one line on a bad value), and
``apply_changes`` validates a runtime change (the set-parameters callback) and
returns the new config. ``docs/node.md`` lists the same table.
"""

import dataclasses
import difflib
import re
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import (InvalidParameterTypeException, InvalidParameterValueException,
                              ParameterException)
from rclpy.node import Node

from sam_ros.core.errors import SamError

__all__ = [
    'ConfigError',
    'ENCODE_POLICIES',
    'MODEL_TYPES',
    'NodeConfig',
    'PARAMETERS',
    'apply_changes',
    'config_from_values',
    'declare_parameters',
    'read_config',
    'unknown_overrides',
]

ENCODE_POLICIES = ('on_change', 'every_frame', 'on_prompt')
MODEL_TYPES = ('embedded', 'vit_t', 'vit_b', 'vit_l', 'vit_h', 'default')
_PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')
_DEVICE_RE = re.compile(r'^(auto|cpu|cuda(:\d+)?)$')
DEPTH_TRANSPORTS = ('raw', 'compressedDepth', 'none')
CLOUD_MASKS = ('best', 'subpart', 'part', 'whole', 'all')


class ConfigError(SamError):
    """A parameter value is invalid; the message is one line that says what to set."""


class _Spec(NamedTuple):
    default: Any
    description: str
    dynamic: bool = False
    choices: Optional[Tuple[str, ...]] = None
    low: Optional[float] = None
    high: Optional[float] = None


PARAMETERS: Dict[str, _Spec] = {
    'model_type': _Spec(
        'embedded', 'SAM variant: embedded (committed weights, no download), vit_t '
        '(MobileSAM), vit_b, vit_l, vit_h or default (= vit_h)', choices=MODEL_TYPES),
    'checkpoint': _Spec(
        '', 'Path to the checkpoint (.pth/.pt). Required for vit_t/b/l/h; empty for the '
        'embedded model means its committed weights'),
    'allow_random_weights': _Spec(
        False, 'Tests and benchmarks only: with an empty checkpoint, build the model with '
        'RANDOM weights (the embedded model too; masks are meaningless). Logged as an error'),
    'device': _Spec('auto', "Torch device: 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    'precision': _Spec(
        'auto', 'Compute precision: auto (bf16 where fast), fp32, bf16 or fp16 (CUDA only)',
        choices=_PRECISIONS),
    'num_threads': _Spec(
        0, 'CPU threads for torch; 0 keeps the torch default', low=0, high=256),
    'encode_policy': _Spec(
        'on_change', 'When frames are encoded: on_change (when the change detector says the '
        'frame differs from the last encoded one), every_frame, or on_prompt (lazily)',
        dynamic=True, choices=ENCODE_POLICIES),
    'change_threshold': _Spec(
        0.001, 'Fraction of grid cells (0..1) whose mean gray level may change by more '
        'than 8 levels while a frame still counts as unchanged (on_change, on_prompt)',
        dynamic=True, low=0.0, high=1.0),
    'cache_size': _Spec(
        8, 'Distinct image embeddings kept (about 4 MB each in fp32)', low=1, high=256),
    'max_prompt_age': _Spec(
        5.0, 'Seconds a stamped prompt may lag behind the newest frame; older -> '
        'STALE_FRAME', dynamic=True, low=0.0, high=3600.0),
    'min_iou': _Spec(
        0.0, 'Masks with a predicted IoU below this are dropped; none left -> FILTERED. '
        '0 keeps every mask',
        dynamic=True, low=0.0, high=1.0),
    'refine_memory': _Spec(
        16, 'Past results whose low-res logits are kept for refine_prompt_id', low=0,
        high=1024),
    'publish_mask': _Spec(True, 'Publish the best mask as mono8 on ~/mask', dynamic=True),
    'publish_overlay': _Spec(
        True, 'Publish ~/overlay (computed only while someone subscribes)', dynamic=True),
    'image_transport': _Spec(
        'raw', "raw: sensor_msgs/Image on 'image'; compressed: sensor_msgs/CompressedImage "
        "(jpeg/png) on '<image>/compressed'", choices=('raw', 'compressed')),
    'image_qos_reliability': _Spec(
        'best_effort', 'Reliability of the image and camera_info subscriptions',
        choices=('best_effort', 'reliable')),
    'image_qos_depth': _Spec(5, 'History depth of the image subscription', low=1, high=100),
    'click_topic': _Spec(
        '', 'rqt_image_view clicks (geometry_msgs/Point, pixels); empty = '
        "'<resolved image topic>_mouse_left'"),
    'clicked_point_topic': _Spec(
        '/clicked_point', 'RViz Publish Point (geometry_msgs/PointStamped, 3D); empty '
        'disables it'),
    'click_projection': _Spec(
        'rectified', 'How /clicked_point is projected: rectified (camera_info P, for '
        'rectified images) or raw (K and D, for raw images)', dynamic=True,
        choices=('rectified', 'raw')),
    'diagnostics_period': _Spec(
        1.0, 'Seconds between /diagnostics messages', low=0.1, high=60.0),
    # Batched prompts and segment everything
    'batch_max_per_pass': _Spec(
        64, 'Most prompts of a ~/batch (or ~/detections) decoded in one decoder pass; '
        'more are split into passes (memory: about 20 MB per prompt, official sizes, fp32)',
        dynamic=True, low=1, high=1024),
    'everything_points_per_side': _Spec(
        16, 'Segment everything: grid points per image side (n x n single-point prompts)',
        dynamic=True, low=1, high=128),
    'everything_points_per_batch': _Spec(
        64, 'Segment everything: grid points decoded in one pass', dynamic=True, low=1,
        high=1024),
    'everything_pred_iou_thresh': _Spec(
        0.3, 'Segment everything: keep masks with predicted IoU above this (upstream 0.88, '
        'tuned for ViT-H; the embedded model predicts lower IoUs)', dynamic=True, low=0.0,
        high=1.0),
    'everything_stability_score_thresh': _Spec(
        0.5, 'Segment everything: keep masks with stability score at least this (upstream '
        '0.95; the embedded model is less stable)', dynamic=True, low=0.0, high=1.0),
    'everything_box_nms_thresh': _Spec(
        0.7, 'Segment everything: box IoU above which the lower-IoU mask is dropped',
        dynamic=True, low=0.0, high=1.0),
    'everything_min_region_area': _Spec(
        0, 'Segment everything: holes and islands below this many pixels are removed; 0 '
        'keeps them', dynamic=True, low=0, high=100000000),
    'everything_period': _Spec(
        0.0, 'Seconds between segment-everything runs on the latest frame, published on '
        '~/everything; 0 disables the periodic mode (the service always works)',
        low=0.0, high=3600.0),
    # --- region clean-up of the masks (islands, holes) -------------------------------
    'min_region_area': _Spec(
        256, 'Pixels: mask islands and holes smaller than this are removed / filled '
        "(upstream's mask-generator clean-up); area and bbox describe the cleaned mask. "
        '0 disables it', dynamic=True, low=0, high=100_000_000),
    # ---- depth fusion and 3D output
    'depth_transport': _Spec(
        'raw', "raw: sensor_msgs/Image (16UC1 mm, 32FC1 m) on 'depth', registered to the "
        'colour camera; compressedDepth: sensor_msgs/CompressedImage on '
        "'<depth>/compressedDepth'; none: no depth (answers say so)",
        choices=DEPTH_TRANSPORTS),
    'depth_camera_info_topic': _Spec(
        '', 'CameraInfo with the intrinsics (K) of the depth image; empty = the colour '
        "'camera_info'"),
    'depth_sync_tolerance': _Spec(
        0.02, 'Seconds a depth stamp may differ from the stamp of the source colour frame '
        'of the answer and still match (nearest stamp wins)', dynamic=True, low=0.0, high=10.0),
    'depth_cache_size': _Spec(
        30, 'Depth frames kept by stamp (a 640x480 16UC1 frame is 0.6 MB)', low=1,
        high=1000),
    'depth_min_range': _Spec(
        0.05, 'Metres; nearer depth is invalid', dynamic=True, low=0.0, high=1000.0),
    'depth_max_range': _Spec(
        20.0, 'Metres; farther depth is invalid', dynamic=True, low=0.0, high=1000.0),
    'depth_erode_px': _Spec(
        1, 'Depth pixels eroded from each mask edge before 3D (drops flying pixels at '
        'object borders); 0 = none', dynamic=True, low=0, high=50),
    'depth_stride': _Spec(
        1, 'Use every Nth depth pixel in x and y for 3D and ~/cloud (1 = all)',
        dynamic=True, low=1, high=64),
    'depth_trim_percent': _Spec(
        2.0, 'Depth percentiles cut on each side before the centroid and extent (robust to '
        'flying pixels); 0 = none', dynamic=True, low=0.0, high=25.0),
    'cloud_masks': _Spec(
        'best', 'Masks on ~/cloud: best, subpart, part or whole (that level, else the best), '
        'or all (with a per-point mask_index field)', dynamic=True, choices=CLOUD_MASKS),
    'publish_cloud': _Spec(
        True, 'Publish ~/cloud (computed only while someone subscribes)', dynamic=True),
    'publish_markers': _Spec(
        True, 'Publish ~/markers (centroid and extent box per mask with 3D)', dynamic=True),
    # The prompt path under load (queue, bounds on work, nearest held frame).
    'prompt_queue_size': _Spec(
        32, 'Prompts (topics and service) that may wait to be decoded, in order; past it '
        'the oldest waiting prompt is answered BUSY', low=1, high=10000),
    'max_prompt_points': _Spec(
        64, 'Points one prompt may have; more -> INVALID_PROMPT before any work',
        dynamic=True, low=1, high=1000000),
    'max_prompt_id_length': _Spec(
        256, 'Characters a prompt_id (and refine_prompt_id) may have; longer -> '
        'INVALID_PROMPT', dynamic=True, low=1, high=1000000),
    'max_image_pixels': _Spec(
        16777216, 'Pixels (width x height) a camera frame may have; more -> the frame is '
        'dropped before decoding and prompts on it get BAD_IMAGE', dynamic=True, low=1,
        high=2147483647),
    'frame_match_tolerance': _Spec(
        0.2, 'Seconds: a prompt stamped with a frame the node never received is answered '
        'on the nearest held frame this close, when the scene did not change in between; '
        '0 = exact stamps only', dynamic=True, low=0.0, high=10.0),
    'results_qos_depth': _Spec(
        100, 'History depth of ~/results and ~/mask (reliable): results not yet delivered '
        'to a slow subscriber are kept up to this many, then the oldest is lost', low=1,
        high=10000),
}


@dataclasses.dataclass(frozen=True)
class NodeConfig:
    """The node's configuration, read once; runtime changes replace the whole object."""

    model_type: str = 'embedded'
    checkpoint: str = ''
    allow_random_weights: bool = False
    device: str = 'auto'
    precision: str = 'auto'
    num_threads: int = 0
    encode_policy: str = 'on_change'
    change_threshold: float = 0.001
    cache_size: int = 8
    max_prompt_age: float = 5.0
    min_iou: float = 0.0
    refine_memory: int = 16
    publish_mask: bool = True
    publish_overlay: bool = True
    image_transport: str = 'raw'
    image_qos_reliability: str = 'best_effort'
    image_qos_depth: int = 5
    click_topic: str = ''
    clicked_point_topic: str = '/clicked_point'
    click_projection: str = 'rectified'
    diagnostics_period: float = 1.0
    # Batched prompts and segment everything
    batch_max_per_pass: int = 64
    everything_points_per_side: int = 16
    everything_points_per_batch: int = 64
    everything_pred_iou_thresh: float = 0.3
    everything_stability_score_thresh: float = 0.5
    everything_box_nms_thresh: float = 0.7
    everything_min_region_area: int = 0
    everything_period: float = 0.0
    min_region_area: int = 256
    depth_transport: str = 'raw'
    depth_camera_info_topic: str = ''
    depth_sync_tolerance: float = 0.02
    depth_cache_size: int = 30
    depth_min_range: float = 0.05
    depth_max_range: float = 20.0
    depth_erode_px: int = 1
    depth_stride: int = 1
    depth_trim_percent: float = 2.0
    cloud_masks: str = 'best'
    publish_cloud: bool = True
    publish_markers: bool = True
    prompt_queue_size: int = 32
    max_prompt_points: int = 64
    max_prompt_id_length: int = 256
    max_image_pixels: int = 16777216
    frame_match_tolerance: float = 0.2
    results_qos_depth: int = 100

    @property
    def random_weights(self) -> bool:
        """Return True when the model runs with random weights (tests only)."""
        return self.allow_random_weights and not self.checkpoint


def _descriptor(name: str, spec: _Spec) -> ParameterDescriptor:
    text = spec.description
    if not spec.dynamic:
        text += ' (read at start only)'
    descriptor = ParameterDescriptor(description=text, read_only=not spec.dynamic)
    if spec.choices:
        descriptor.additional_constraints = 'one of: ' + ', '.join(spec.choices)
    if spec.low is not None and isinstance(spec.default, int):
        descriptor.integer_range = [IntegerRange(
            from_value=int(spec.low), to_value=int(spec.high), step=1)]
    elif spec.low is not None:
        descriptor.floating_point_range = [FloatingPointRange(
            from_value=float(spec.low), to_value=float(spec.high), step=0.0)]
    return descriptor


def declare_parameters(node: Node) -> None:
    """
    Declare every parameter of ``PARAMETERS`` on ``node``.

    Raises ConfigError (one line) when an override has the wrong type or is out of range.
    """
    for name, spec in PARAMETERS.items():
        try:
            node.declare_parameter(name, spec.default, _descriptor(name, spec))
        except InvalidParameterTypeException as exc:
            raise ConfigError(_type_message(name, spec, _one_line(exc))) from None
        except (InvalidParameterValueException, ParameterException) as exc:
            raise ConfigError(f'parameter {name!r} has an invalid value{_hint(spec)} '
                              f'({_one_line(exc)})') from None


def unknown_overrides(node: Node, qos: Optional[bool] = None) -> List[str]:
    """
    Return one warning line per parameter override that ``node`` never declared.

    rclpy silently ignores ``-p no_such_param:=1`` and YAML keys that match nothing (a
    typo such as ``min_iuo``). Call this after every parameter is declared (the
    subscriptions declare their QoS overrides, if any); each line names the closest
    declared parameter when there is one. ``qos``: None checks every override, False
    all but the ``qos_overrides.*`` ones (before the subscriptions exist), True only those.
    """
    # rclpy keeps the overrides of this node (command line and YAML files) here; it has
    # no public accessor for them.
    overrides = getattr(node, '_parameter_overrides', {}) or {}
    declared = sorted(node.list_parameters([], 0).names)
    lines = []
    for name in sorted(overrides):
        if node.has_parameter(name) or (
                qos is not None and name.startswith('qos_overrides.') != qos):
            continue
        close = difflib.get_close_matches(name, declared, n=1, cutoff=0.6)
        hint = f'; did you mean {close[0]!r}?' if close else '; see docs/node.md'
        lines.append(f'parameter {name!r} is not a parameter of this node and is '
                     f'ignored{hint}')
    return lines


def read_config(node: Node) -> NodeConfig:
    """Read the declared parameters of ``node`` into a validated ``NodeConfig``."""
    values = {name: node.get_parameter(name).value for name in PARAMETERS}
    return config_from_values(values)


def config_from_values(values: Mapping[str, Any]) -> NodeConfig:
    """
    Build and validate a ``NodeConfig`` from a name -> value mapping.

    Missing names take their defaults. Raises ConfigError with one line that names the
    parameter and what to set.
    """
    unknown = sorted(set(values) - set(PARAMETERS))
    if unknown:
        raise ConfigError(f'unknown parameter(s) {unknown}; known: {sorted(PARAMETERS)}')
    merged = {name: spec.default for name, spec in PARAMETERS.items()}
    merged.update(values)
    for name, value in merged.items():
        _check_value(name, value)
    config = NodeConfig(**merged)
    _check_cross_fields(config)
    return config


def apply_changes(config: NodeConfig, changes: Iterable[Tuple[str, Any]]) -> NodeConfig:
    """
    Return ``config`` with ``changes`` (name, value) applied, after validation.

    Raises ConfigError when a name is unknown, cannot change at runtime, or has a bad
    value. Used by the node's set-parameters callback.
    """
    updates = {}
    for name, value in changes:
        spec = PARAMETERS.get(name)
        if spec is None:
            raise ConfigError(f'unknown parameter {name!r}')
        if not spec.dynamic and value != getattr(config, name):
            raise ConfigError(f'parameter {name!r} cannot change at runtime; restart the '
                              f'node with {name}:=<value>')
        _check_value(name, value)
        updates[name] = value
    new = dataclasses.replace(config, **updates)
    _check_cross_fields(new)
    return new


def _check_value(name: str, value: Any) -> None:
    spec = PARAMETERS[name]
    expected = type(spec.default)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        raise ConfigError(f'parameter {name!r} must be {_kind(spec)}, got {value!r}')
    if spec.choices and value not in spec.choices:
        raise ConfigError(f'parameter {name!r} is {value!r}; use one of: '
                          f'{", ".join(spec.choices)}')
    if spec.low is not None and not spec.low <= value <= spec.high:
        raise ConfigError(f'parameter {name!r} is {value!r}; it must be in '
                          f'[{spec.low}, {spec.high}]')
    if name == 'device' and not _DEVICE_RE.match(value.strip().lower()):
        raise ConfigError(f"parameter 'device' is {value!r}; use auto, cpu, cuda or cuda:N")


def _check_cross_fields(config: NodeConfig) -> None:
    if config.checkpoint and config.allow_random_weights:
        raise ConfigError('allow_random_weights:=true and a checkpoint contradict each other; '
                          "set checkpoint:='' for random weights (tests only), or drop "
                          'allow_random_weights')
    # A checkpoint path that names no file is not checked here: it is a model that
    # cannot be loaded (CheckpointError from the loader, exit code 1), like a corrupt file.
    if (not config.checkpoint and config.model_type != 'embedded'
            and not config.allow_random_weights):
        raise ConfigError(f'model_type {config.model_type!r} needs a checkpoint: set '
                          'checkpoint:=/path/to/the/file (see docs/node.md for the official '
                          'downloads), or use model_type:=embedded')
    if config.depth_min_range >= config.depth_max_range:
        raise ConfigError(f'depth_min_range {config.depth_min_range} must be below '
                          f'depth_max_range {config.depth_max_range}')
    if config.precision == 'fp16' and config.device.strip().lower() == 'cpu':
        raise ConfigError("precision 'fp16' needs a CUDA device; on the CPU use bf16, fp32 "
                          'or auto')


_KINDS = {bool: 'a bool (true or false)', int: 'an integer', float: 'a float',
          str: 'a string'}
_ROS_TYPES = {'BOOL': 'a bool', 'INTEGER': 'an integer', 'DOUBLE': 'a float',
              'STRING': 'a string', 'BYTE_ARRAY': 'a byte array', 'BOOL_ARRAY': 'a bool array',
              'INTEGER_ARRAY': 'an integer array', 'DOUBLE_ARRAY': 'a float array',
              'STRING_ARRAY': 'a string array'}
_OVERRIDE_RE = re.compile(r"to '(?P<value>.*)' of type '(?P<type>\w+)'")


def _kind(spec: _Spec) -> str:
    """Say what a parameter takes: 'a float in [0.0, 1.0] like 0.0', 'one of: a, b'."""
    kind = _KINDS.get(type(spec.default), type(spec.default).__name__)
    if spec.choices:
        return f'{kind}, one of: {", ".join(spec.choices)}'
    if spec.low is not None:
        return f'{kind} in [{spec.low}, {spec.high}] like {_shown(spec.default)}'
    return f'{kind} like {_shown(spec.default)}'


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return repr(value) if isinstance(value, str) else str(value)


def _type_message(name: str, spec: _Spec, ros_text: str) -> str:
    """Explain an override of the wrong type; rclpy's own text names enum values."""
    match = _OVERRIDE_RE.search(ros_text)
    if not match:
        return f'parameter {name!r} must be {_kind(spec)} ({ros_text})'
    value, ros_type = match.group('value'), match.group('type')
    got = f'got {value} ({_ROS_TYPES.get(ros_type, ros_type.lower())})'
    if isinstance(spec.default, float) and ros_type == 'INTEGER':
        return (f'parameter {name!r} must be {_kind(spec)}, {got}: ROS reads {value} as an '
                f'integer, write {value}.0')
    return f'parameter {name!r} must be {_kind(spec)}, {got}'


def _hint(spec: _Spec) -> str:
    if spec.choices:
        return f' (one of: {", ".join(spec.choices)})'
    if spec.low is not None:
        return f' (range [{spec.low}, {spec.high}])'
    return ''


def _one_line(exc: BaseException) -> str:
    return ' '.join(str(exc).split())
