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

"""Runtime choices: device, precision, allocator tuning and threads."""

import platform

import pytest
from sam_ros.core import runtime
from sam_ros.core.errors import SamError
import torch

_NO_CUDA = not torch.cuda.is_available()


def test_cpu_and_auto_devices_resolve():
    assert runtime.resolve_device('cpu') == torch.device('cpu')
    expected = 'cpu' if _NO_CUDA else 'cuda'
    assert runtime.resolve_device('auto').type == expected
    assert runtime.resolve_device(' CPU ') == torch.device('cpu')


@pytest.mark.skipif(not _NO_CUDA, reason='a CUDA GPU is present')
@pytest.mark.parametrize('name', ['cuda', 'cuda:0', 'cuda:3'])
def test_asking_for_cuda_without_a_gpu_says_what_to_do(name):
    with pytest.raises(SamError, match="device='cpu'"):
        runtime.resolve_device(name)


@pytest.mark.parametrize('name, fragment', [('tpu', 'unknown device'), (3, 'string')])
def test_unknown_devices_are_rejected(name, fragment):
    with pytest.raises(SamError, match=fragment):
        runtime.resolve_device(name)


def test_fp16_on_the_cpu_is_an_error_naming_the_alternatives():
    with pytest.raises(SamError, match='bf16'):
        runtime.resolve_precision('fp16', torch.device('cpu'))


def test_explicit_cpu_precisions_are_kept_and_unknown_ones_rejected():
    assert runtime.resolve_precision('fp32', torch.device('cpu')) == 'fp32'
    assert runtime.resolve_precision('bf16', torch.device('cpu')) == 'bf16'
    with pytest.raises(SamError, match='precision'):
        runtime.resolve_precision('int8', torch.device('cpu'))


def test_auto_cpu_precision_is_bf16_only_where_it_pays():
    choice = runtime.resolve_precision('auto', torch.device('cpu'))
    if not runtime.cpu_supports_bf16():
        assert choice == 'fp32'
    elif 'amx_bf16' in runtime._cpu_flags():
        assert choice == 'bf16'
    else:
        speedup = runtime.cpu_bf16_speedup()
        assert speedup > 0
        assert choice == ('bf16' if speedup >= runtime.BF16_MIN_SPEEDUP else 'fp32')
        # The probe runs once per process: the answer is stable.
        assert runtime.resolve_precision('auto', torch.device('cpu')) == choice


def test_precision_dtypes():
    assert runtime.precision_dtype('fp32') is torch.float32
    assert runtime.precision_dtype('bf16') is torch.bfloat16
    assert runtime.precision_dtype('fp16') is torch.float16
    with pytest.raises(SamError, match='resolve_precision'):
        runtime.precision_dtype('auto')


def test_allocator_tuning_is_idempotent_and_applies_on_glibc():
    first = runtime.tune_cpu_allocator()
    assert runtime.tune_cpu_allocator() is first
    is_glibc = platform.libc_ver()[0] == 'glibc'
    assert first == is_glibc or runtime.os.environ.get('SAM_ROS_MALLOC_TUNING') == '0'


def test_release_cpu_memory_answers_a_bool():
    assert runtime.release_cpu_memory() in (True, False)


def test_set_threads_sets_and_returns_the_count():
    before = torch.get_num_threads()
    try:
        assert runtime.set_threads(1) == 1
        assert runtime.set_threads(None) >= 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(SamError, match='>= 1'):
        runtime.set_threads(0)
