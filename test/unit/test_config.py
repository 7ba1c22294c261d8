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

"""Tests of sam_ros.node.config: declaration, reading, validation (real rclpy, no traffic)."""

import dataclasses
from pathlib import Path

import pytest
from rcl_interfaces.msg import ParameterType
import rclpy
from rclpy.node import Node
import rclpy.parameter
from rclpy.qos import ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sam_ros.core.errors import CheckpointError
from sam_ros.node.config import (
    apply_changes, config_from_values, ConfigError, declare_parameters, NodeConfig,
    PARAMETERS, read_config, unknown_overrides)
from sam_ros.node.model import build_predictor
from std_msgs.msg import Empty
import yaml


@pytest.fixture
def make_node():
    """Return a function that makes a real rclpy node with the given --ros-args."""
    made = []

    def make(*ros_args):
        context = rclpy.Context()
        rclpy.init(args=['test_config', '--ros-args', *ros_args], context=context)
        node = Node('sam_config_test', context=context, start_parameter_services=False,
                    enable_rosout=False)
        made.append((node, context))
        return node

    yield make
    for node, context in made:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def test_defaults_make_a_valid_frozen_config(make_node):
    node = make_node()
    declare_parameters(node)
    config = read_config(node)
    assert config == NodeConfig()
    assert config.model_type == 'embedded' and config.encode_policy == 'on_change'
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.min_iou = 0.5


def test_node_config_fields_are_the_declared_parameters():
    assert [f.name for f in dataclasses.fields(NodeConfig)] == list(PARAMETERS)
    for name, spec in PARAMETERS.items():
        assert getattr(NodeConfig(), name) == spec.default, name


def test_every_parameter_has_a_descriptor_with_description_and_bounds(make_node):
    node = make_node()
    declare_parameters(node)
    for name, spec in PARAMETERS.items():
        descriptor = node.describe_parameter(name)
        assert len(descriptor.description) > 20, name
        assert descriptor.read_only == (not spec.dynamic), name
        if spec.choices:
            assert all(c in descriptor.additional_constraints for c in spec.choices), name
        if spec.low is not None:
            bounds = descriptor.integer_range or descriptor.floating_point_range
            assert bounds and bounds[0].from_value == spec.low, name
    assert node.describe_parameter('cache_size').type == ParameterType.PARAMETER_INTEGER


def test_overrides_are_read_once_into_the_config(make_node):
    node = make_node('-p', 'encode_policy:=every_frame', '-p', 'cache_size:=3',
                     '-p', 'min_iou:=0.25', '-p', 'publish_overlay:=false')
    declare_parameters(node)
    config = read_config(node)
    assert (config.encode_policy, config.cache_size, config.min_iou,
            config.publish_overlay) == ('every_frame', 3, 0.25, False)


@pytest.mark.parametrize('ros_args,match', [
    (['cache_size:=0'], "'cache_size' has an invalid value"),
    (['min_iou:=1'], "'min_iou' must be a float"),
    (['min_iou:=1'], r'in \[0.0, 1.0\] like 0.0, got 1 \(an integer\): .* write 1.0'),
    (['cache_size:=1.5'], r"'cache_size' must be an integer in \[1, 256\] like 8, got 1.5"),
    (['publish_mask:=3'], r"'publish_mask' must be a bool \(true or false\)"),
    (['max_prompt_age:=-1.0'], "'max_prompt_age' has an invalid value"),
    (['encode_policy:=sometimes'], "'encode_policy' is 'sometimes'; use one of"),
    (['image_transport:=theora'], 'use one of: raw, compressed'),
    (['device:=gpu'], 'use auto, cpu, cuda or cuda:N'),
    (['model_type:=vit_b'], 'needs a checkpoint'),
    (['model_type:=vit_x'], "'model_type' is 'vit_x'"),
    (['precision:=fp16', 'device:=cpu'], 'needs a CUDA device'),
])
def test_bad_configuration_fails_with_one_line(make_node, ros_args, match):
    node = make_node(*[arg for pair in ros_args for arg in ('-p', pair)])
    with pytest.raises(ConfigError, match=match) as info:
        declare_parameters(node)
        read_config(node)
    assert '\n' not in str(info.value)
    assert 'a int' not in str(info.value) and 'expecting type' not in str(info.value)


def test_a_missing_checkpoint_file_is_a_model_that_cannot_load_not_a_bad_parameter():
    config = config_from_values({'model_type': 'vit_t', 'checkpoint': '/no/such/file.pth'})
    with pytest.raises(CheckpointError, match='does not exist') as info:
        build_predictor(config)
    assert not isinstance(info.value, ConfigError)


def test_random_weights_need_an_empty_checkpoint(tmp_path):
    checkpoint = tmp_path / 'weights.pth'
    checkpoint.write_bytes(b'x')
    assert config_from_values({'model_type': 'vit_t',
                               'allow_random_weights': True}).random_weights
    assert config_from_values({'allow_random_weights': True}).random_weights
    assert not config_from_values({'model_type': 'vit_t',
                                   'checkpoint': str(checkpoint)}).random_weights
    with pytest.raises(ConfigError, match='contradict'):
        config_from_values({'checkpoint': str(checkpoint), 'allow_random_weights': True})


def test_runtime_change_of_a_dynamic_parameter_gives_a_new_config():
    config = NodeConfig()
    new = apply_changes(config, [('encode_policy', 'on_prompt'), ('min_iou', 0.4)])
    assert (new.encode_policy, new.min_iou) == ('on_prompt', 0.4)
    assert config.encode_policy == 'on_change'


@pytest.mark.parametrize('name,value,match', [
    ('model_type', 'vit_b', 'cannot change at runtime'),
    ('cache_size', 4, 'cannot change at runtime'),
    ('image_qos_depth', 2, 'cannot change at runtime'),
    ('encode_policy', 'never', 'use one of'),
    ('change_threshold', 2.0, 'must be in'),
    ('min_iou', 'high', 'must be a float'),
    ('publish_mask', 1, 'must be a bool'),
    ('no_such_parameter', 1, 'unknown parameter'),
])
def test_runtime_change_is_rejected_with_a_reason(name, value, match):
    with pytest.raises(ConfigError, match=match):
        apply_changes(NodeConfig(), [(name, value)])


def test_setting_a_read_only_parameter_on_a_node_is_refused(make_node):
    node = make_node()
    declare_parameters(node)
    result = node.set_parameters([rclpy.parameter.Parameter('model_type', value='vit_b')])[0]
    assert not result.successful
    assert 'read-only' in result.reason


def test_yaml_defaults_match_the_declared_defaults(repo_root: Path):
    with open(repo_root / 'config' / 'sam.yaml', encoding='utf-8') as f:
        params = yaml.safe_load(f)['/**']['ros__parameters']
    assert set(params) == set(PARAMETERS)
    for name, value in params.items():
        assert value == PARAMETERS[name].default, name
        assert type(value) is type(PARAMETERS[name].default), name


def test_docs_list_every_parameter(repo_root: Path):
    text = (repo_root / 'docs' / 'node.md').read_text(encoding='utf-8')
    for name in PARAMETERS:
        assert f'`{name}`' in text, name


def test_unknown_overrides_are_named_with_the_closest_parameter(make_node, tmp_path):
    params = tmp_path / 'p.yaml'
    params.write_text('sam_config_test:\n  ros__parameters:\n    cache_sise: 4\n')
    node = make_node('-p', 'min_iuo:=0.5', '-p', 'no_such_param:=1', '-p', 'min_iou:=0.5',
                     '--params-file', str(params))
    declare_parameters(node)
    lines = unknown_overrides(node)
    assert lines == [
        "parameter 'cache_sise' is not a parameter of this node and is ignored; did you "
        "mean 'cache_size'?",
        "parameter 'min_iuo' is not a parameter of this node and is ignored; did you mean "
        "'min_iou'?",
        "parameter 'no_such_param' is not a parameter of this node and is ignored; see "
        'docs/node.md']
    assert read_config(node).min_iou == 0.5
    assert unknown_overrides(make_node('-p', 'use_sim_time:=true')) == []


def test_qos_overrides_are_checked_once_their_subscription_declared_them(make_node):
    node = make_node('-p', 'min_iuo:=0.5',
                     '-p', 'qos_overrides./image.subscription.reliability:=best_effort',
                     '-p', 'qos_overrides./image.subscription.durability:=volatile')
    declare_parameters(node)
    assert [line.split("'")[1] for line in unknown_overrides(node, qos=False)] == ['min_iuo']
    subscription = node.create_subscription(
        Empty, 'image', lambda msg: None, 5,
        qos_overriding_options=QoSOverridingOptions.with_default_policies())
    assert subscription.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
    # reliability, history and depth are declared; durability is not overridable here.
    assert [line.split("'")[1] for line in unknown_overrides(node, qos=True)] == [
        'qos_overrides./image.subscription.durability']
