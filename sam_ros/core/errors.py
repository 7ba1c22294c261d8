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
Exceptions of the sam_ros engine.

Every error the engine raises on bad input is a :class:`SamError`, which is a
``ValueError`` so that generic callers can catch it as one. Messages say what
was wrong and what to do about it.
"""

__all__ = ['CheckpointError', 'ImageFormatError', 'PromptError', 'SamError']


class SamError(ValueError):
    """Base class of every error raised by the sam_ros engine on bad input."""


class PromptError(SamError):
    """A prompt (points, labels, box or mask input) is malformed or out of range."""


class ImageFormatError(SamError):
    """An image has the wrong shape, dtype or colour format."""


class CheckpointError(SamError):
    """A checkpoint file is missing, unreadable, unsafe or does not match the model."""
