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
Shared command-line pieces of the tools: argument types and the weights check.

``frame_size`` parses ``WxH`` for argparse (a bad size is a usage error, exit code 2,
one line, no traceback). ``weights_problem`` says when a tool would run an official
model with random weights: the tools then stop unless ``--random-weights`` asks for it.
"""

import argparse
from typing import Optional, Tuple

from sam_ros.synthetic.world import MIN_FRAME_SIDE

__all__ = ['frame_size', 'frame_size_text', 'weights_problem', 'weights_source']


def frame_size(text: str) -> Tuple[int, int]:
    """Parse ``'WxH'`` (e.g. ``640x480``) into ``(width, height)`` for argparse."""
    parts = text.lower().split('x')
    try:
        width, height = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a frame size; write WIDTHxHEIGHT, e.g. 640x480') from None
    if min(width, height) < MIN_FRAME_SIDE:
        raise argparse.ArgumentTypeError(
            f'{text!r}: width and height must be at least {MIN_FRAME_SIDE} pixels')
    return width, height


def frame_size_text(text: str) -> str:
    """Check ``'WxH'`` like :func:`frame_size` and return it normalised (``'640x480'``)."""
    width, height = frame_size(text)
    return f'{width}x{height}'


def weights_source(model_type: str, checkpoint: Optional[str]) -> str:
    """Name the weights a registry build of ``model_type`` gets from ``checkpoint``."""
    if checkpoint:
        return f'checkpoint {checkpoint}'
    if model_type == 'embedded':
        return 'committed weights'
    return 'RANDOM weights'


def weights_problem(model_type: str, checkpoint: Optional[str], random_ok: bool) -> str:
    """
    Say why building ``model_type`` from ``checkpoint`` would silently use random weights.

    The embedded model without a checkpoint loads its committed weights; an official
    model (vit_t/b/l/h) without one has random weights. Returns '' when the run is fine
    (real weights, or ``random_ok`` given explicitly).
    """
    if checkpoint or model_type == 'embedded' or random_ok:
        return ''
    return (f'--model-type {model_type} needs --checkpoint FILE: without one its weights '
            'are RANDOM and the figures meaningless (add --random-weights to run on random '
            'weights anyway)')
