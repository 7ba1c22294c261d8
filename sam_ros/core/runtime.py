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
Runtime choices for the engine: device, precision, CPU allocator and threads.

Nothing here runs at import; every setting is applied by an explicit call.
"""

import ctypes
import ctypes.util
import logging
import os
import platform
import threading
import time
from typing import Dict, Optional

from sam_ros.core.errors import SamError
import torch

__all__ = [
    'BF16_MIN_SPEEDUP',
    'PRECISIONS',
    'cpu_bf16_speedup',
    'cpu_model',
    'cpu_supports_bf16',
    'precision_dtype',
    'resolve_device',
    'release_cpu_memory',
    'resolve_precision',
    'set_threads',
    'tune_cpu_allocator',
]

_LOG = logging.getLogger(__name__)

PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')
_DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}

# glibc mallopt() parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4

#: Minimum measured bf16/fp32 matmul speed ratio for 'auto' to pick bf16 without AMX.
BF16_MIN_SPEEDUP = 1.3

_ALLOCATOR_LOCK = threading.Lock()
_ALLOCATOR_STATE: Dict[str, object] = {}
_PROBE_LOCK = threading.Lock()
_PROBE: Dict[str, float] = {}


def resolve_device(device: str = 'auto') -> torch.device:
    """
    Return the torch device for 'auto', 'cpu', 'cuda' or 'cuda:N'.

    'auto' is the first CUDA device when one is usable, else the CPU. Asking for
    CUDA on a machine without a usable GPU raises SamError.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise SamError(f"device must be a string such as 'auto', 'cpu' or 'cuda:0', "
                       f'got {device!r}')
    name = device.strip().lower()
    if name == 'auto':
        return torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')
    if name == 'cpu':
        return torch.device('cpu')
    if name == 'cuda' or name.startswith('cuda:'):
        if not torch.cuda.is_available():
            raise SamError(
                f'device {device!r} was requested but no CUDA GPU is usable here '
                f'(torch {torch.__version__}, built with CUDA '
                f'{torch.version.cuda or "none"}); use device=\'cpu\' or \'auto\', or '
                'install a CUDA build of torch and check nvidia-smi')
        index = 0
        if name != 'cuda':
            try:
                index = int(name.split(':', 1)[1])
            except ValueError:
                raise SamError(f'cannot parse the GPU index in device {device!r}; '
                               "write e.g. 'cuda:0'") from None
        count = torch.cuda.device_count()
        if not 0 <= index < count:
            raise SamError(f'device {device!r} does not exist: {count} CUDA device(s) '
                           f'visible (cuda:0..cuda:{count - 1}); check '
                           'CUDA_VISIBLE_DEVICES')
        return torch.device('cuda', index)
    raise SamError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")


def _cpuinfo_field(name: str) -> Optional[str]:
    try:
        with open('/proc/cpuinfo', encoding='ascii', errors='replace') as f:
            for line in f:
                if line.startswith(name):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_flags() -> set:
    return set((_cpuinfo_field('flags') or '').split())


def cpu_model() -> str:
    """Return the CPU's model name (/proc/cpuinfo), for benchmark and report headers."""
    return _cpuinfo_field('model name') or platform.processor() or 'unknown CPU'


def cpu_supports_bf16() -> bool:
    """
    Return True when this CPU has native bf16 matmul (AVX-512 BF16 or AMX).

    Requires both the CPU flag (``avx512_bf16`` or ``amx_bf16`` in /proc/cpuinfo)
    and a torch build that dispatches AVX-512 or AMX kernels. Without them bf16
    is emulated and slower than fp32.
    """
    capability = str(torch.backends.cpu.get_cpu_capability()).upper()
    if 'AVX512' not in capability and 'AMX' not in capability:
        return False
    flags = _cpu_flags()
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


def _time_matmul(dtype: torch.dtype, rounds: int) -> float:
    """Return the best time of one (1024 x 768) @ (768 x 768) matmul in ``dtype``."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(1024, 768, generator=gen).to(dtype)
    b = torch.randn(768, 768, generator=gen).to(dtype)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(rounds):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return best


def cpu_bf16_speedup(rounds: int = 5) -> float:
    """
    Measure how much faster bf16 matmul is than fp32 on this CPU (once per process).

    Native bf16 support does not imply a speed-up: with AMX bf16 is many times faster
    than fp32; with AVX-512 BF16 alone it ranges from about 5x (where fp32 BLAS is weak)
    to slower than fp32 (where MKL fp32 runs at the FMA peak, e.g. Xeons without
    AMX). Takes about 50 ms. Returns t_fp32 / t_bf16 (> 1: bf16 is faster).
    """
    with _PROBE_LOCK:
        if 'bf16_speedup' not in _PROBE:
            with torch.inference_mode():
                fp32, bf16 = [], []
                for _ in range(2):  # alternate to share any background load fairly
                    fp32.append(_time_matmul(torch.float32, rounds))
                    bf16.append(_time_matmul(torch.bfloat16, rounds))
            _PROBE['bf16_speedup'] = min(fp32) / max(min(bf16), 1e-9)
        return float(_PROBE['bf16_speedup'])


def resolve_precision(precision: str, device: torch.device) -> str:
    """
    Return the concrete precision 'fp32', 'bf16' or 'fp16' for ``device``.

    'auto': on CUDA, bf16 where the GPU supports it, else fp16. On the CPU: bf16 with
    AMX; with AVX-512 BF16 alone, bf16 only if :func:`cpu_bf16_speedup` measures it at
    least ``BF16_MIN_SPEEDUP`` times faster than fp32 (bf16 costs a little accuracy,
    so it has to pay for itself); otherwise fp32. fp16 on the CPU raises SamError
    (no fast kernels everywhere; use bf16 or fp32).
    """
    if precision not in PRECISIONS:
        raise SamError(f'precision must be one of {PRECISIONS}, got {precision!r}')
    device = torch.device(device)
    if device.type == 'cuda':
        if precision == 'auto':
            return 'bf16' if torch.cuda.is_bf16_supported() else 'fp16'
        return precision
    if device.type != 'cpu':
        if precision == 'auto':
            return 'fp32'
        return precision
    if precision == 'fp16':
        raise SamError("precision 'fp16' is not supported on the CPU; use 'bf16' (fast on "
                       "CPUs with AVX-512 BF16 / AMX), 'fp32' or 'auto'")
    if precision != 'auto':
        return precision
    if not cpu_supports_bf16():
        return 'fp32'
    if 'amx_bf16' in _cpu_flags():
        _LOG.info("precision 'auto' -> bf16 (AMX)")
        return 'bf16'
    speedup = cpu_bf16_speedup()
    choice = 'bf16' if speedup >= BF16_MIN_SPEEDUP else 'fp32'
    _LOG.info("precision 'auto' -> %s (AVX-512 BF16 without AMX; bf16 matmul measured "
              '%.2fx the speed of fp32)', choice, speedup)
    return choice


def precision_dtype(precision: str) -> torch.dtype:
    """Return the torch dtype of a concrete precision ('fp32', 'bf16', 'fp16')."""
    try:
        return _DTYPES[precision]
    except KeyError:
        raise SamError(f"precision must be 'fp32', 'bf16' or 'fp16' here, got "
                       f'{precision!r}; call resolve_precision first') from None


def _glibc() -> Optional[ctypes.CDLL]:
    """Return the C library when it is glibc (it has mallopt and malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def tune_cpu_allocator() -> bool:
    """
    Keep glibc malloc from handing large activation buffers back to the OS.

    By default glibc serves every allocation above a (dynamic) threshold with its
    own mmap() and unmaps it on free, and shrinks the heap whenever more than
    128 KiB is free at its top, so every encoder forward page-faults its hundreds
    of MB of activations in again; that about doubles CPU encoder time. This sets,
    through ``mallopt``, M_MMAP_MAX = 0 (large buffers come from the heap and are
    reused) and M_TRIM_THRESHOLD = -1 (never shrink the heap). M_MMAP_MAX = 0 alone
    (upstream's MALLOC_MMAP_MAX_=0) is not enough: the heap is still trimmed after
    each forward. Measured page faults per encoder forward (docs/benchmarks.md):
    vit_t 320 k -> 0, vit_b 2.1 M -> 25 k. The price: the process keeps its peak
    heap (about one encoder forward of activations); :func:`release_cpu_memory`
    gives free memory back on demand.

    Process-wide, idempotent and thread-safe; a no-op (returns False) off glibc
    or when ``SAM_ROS_MALLOC_TUNING=0``. Returns True when the settings are in
    effect.
    """
    with _ALLOCATOR_LOCK:
        if 'applied' in _ALLOCATOR_STATE:
            return bool(_ALLOCATOR_STATE['applied'])
        applied = False
        libc = _glibc()
        if os.environ.get('SAM_ROS_MALLOC_TUNING', '1') == '0':
            _LOG.info('CPU allocator tuning disabled by SAM_ROS_MALLOC_TUNING=0')
        elif libc is None:
            _LOG.info('CPU allocator tuning skipped: the C library is not glibc')
        else:
            applied = (libc.mallopt(_M_MMAP_MAX, 0) == 1
                       and libc.mallopt(_M_TRIM_THRESHOLD, -1) == 1)
            if applied:
                _LOG.info('glibc %s malloc tuned for large tensors: M_MMAP_MAX=0, '
                          'M_TRIM_THRESHOLD=-1', libc.gnu_get_libc_version().decode())
            else:
                _LOG.warning('glibc mallopt refused the allocator settings; CPU inference '
                             'may be up to 2x slower')
        _ALLOCATOR_STATE['applied'] = applied
        return applied


def release_cpu_memory() -> bool:
    """
    Return free heap memory to the OS (glibc ``malloc_trim``); e.g. after a model switch.

    Returns True when memory was released, False when none was or off glibc.
    """
    libc = _glibc()
    return bool(libc is not None and libc.malloc_trim(0) == 1)


def set_threads(num_threads: Optional[int] = None) -> int:
    """
    Set torch's intra-op thread count and return it.

    ``None`` uses the number of CPU cores this process may run on
    (``os.sched_getaffinity``), which is the fastest setting for the encoder.
    """
    if num_threads is None:
        try:
            num_threads = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            num_threads = os.cpu_count() or 1
    if int(num_threads) < 1:
        raise SamError(f'num_threads must be >= 1, got {num_threads}')
    torch.set_num_threads(int(num_threads))
    return torch.get_num_threads()
