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
import os
import re
from typing import Any, Dict, Iterable, Mapping, NamedTuple, Optional, Tuple

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
]

ENCODE_POLICIES = ('on_change', 'every_frame', 'on_prompt')
MODEL_TYPES = ('embedded', 'vit_t', 'vit_b', 'vit_l', 'vit_h', 'default')
_PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')
_DEVICE_RE = re.compile(r'^(auto|cpu|cuda(:\d+)?)$')


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
    # Issue 10: the prompt path under load (queue, bounds on work, nearest held frame).
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
            raise ConfigError(
                f'parameter {name!r} must be a {type(spec.default).__name__} like '
                f'{spec.default!r} ({_one_line(exc)})') from None
        except (InvalidParameterValueException, ParameterException) as exc:
            raise ConfigError(f'parameter {name!r} has an invalid value{_hint(spec)} '
                              f'({_one_line(exc)})') from None


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
        raise ConfigError(f'parameter {name!r} must be a {expected.__name__} like '
                          f'{spec.default!r}, got {value!r}')
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
    if config.checkpoint:
        path = os.path.expanduser(config.checkpoint)
        if not os.path.isfile(path):
            raise ConfigError(f'checkpoint {config.checkpoint!r} does not exist or is not a '
                              f'file; set checkpoint:=/absolute/path/to/the/{config.model_type}'
                              ' checkpoint')
    elif config.model_type != 'embedded' and not config.allow_random_weights:
        raise ConfigError(f'model_type {config.model_type!r} needs a checkpoint: set '
                          'checkpoint:=/path/to/the/file (see docs/node.md for the official '
                          'downloads), or use model_type:=embedded')
    if config.precision == 'fp16' and config.device.strip().lower() == 'cpu':
        raise ConfigError("precision 'fp16' needs a CUDA device; on the CPU use bf16, fp32 "
                          'or auto')


def _hint(spec: _Spec) -> str:
    if spec.choices:
        return f' (one of: {", ".join(spec.choices)})'
    if spec.low is not None:
        return f' (range [{spec.low}, {spec.high}])'
    return ''


def _one_line(exc: BaseException) -> str:
    return ' '.join(str(exc).split())
