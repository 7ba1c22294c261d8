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
Strict and safe checkpoint loading.

Files are read with ``torch.load(path, map_location='cpu', weights_only=True)``, so a
checkpoint can never run code. Accepted layouts:

* a flat state_dict ``{key: tensor}`` (the official SAM and MobileSAM files);
* the same wrapped as ``{'model': sd}`` or ``{'state_dict': sd}`` (common in fine-tuning
  code), and keys that all start with ``module.`` (saved from DataParallel/DDP), which
  is stripped.

Matching is strict: every model key must be present with the model's shape and no
extra key may remain. Two exceptions only, because neither affects the output:
MobileSAM's unused classifier ``image_encoder.head.*`` / ``image_encoder.norm_head.*``
(dropped when the model has none, left at init when the model has one and the file
does not), and missing BatchNorm ``*.num_batches_tracked`` counters. Floating tensors
are cast to the dtype of the model's tensors. Every problem raises
:class:`~sam_ros.core.errors.CheckpointError` with a message that says what to do.
"""

import os
import pickle
import re
from typing import Dict, List, Mapping, Optional, Union
import warnings

from sam_ros.core.errors import CheckpointError
import torch
from torch import nn


__all__ = ['guess_model_type', 'load_checkpoint', 'load_state_dict_into', 'read_state_dict']

PathLike = Union[str, 'os.PathLike[str]']

_HEAD_PREFIXES = ('image_encoder.head.', 'image_encoder.norm_head.')
_WRAPPER_KEYS = ('model', 'state_dict')
_SHOW = 8


def _tolerated_missing(key: str) -> bool:
    return key.endswith('.num_batches_tracked') or key.startswith(_HEAD_PREFIXES)


def _listing(keys: List[str]) -> str:
    shown = ', '.join(keys[:_SHOW])
    return shown + (f', ... ({len(keys) - _SHOW} more)' if len(keys) > _SHOW else '')


def _all_finite(tensor: torch.Tensor) -> bool:
    """Return whether ``tensor`` has no NaN/Inf (a fast sum first; meta tensors pass)."""
    if tensor.is_meta or bool(torch.isfinite(tensor.sum())):
        return True
    return bool(torch.isfinite(tensor).all())  # the sum may have overflowed


def guess_model_type(state_dict: Mapping[str, torch.Tensor]) -> Optional[str]:
    """Guess which official model a state_dict belongs to ('vit_b', ..., 'vit_t') or None."""
    if 'image_encoder.patch_embed.seq.0.c.weight' in state_dict:
        return 'vit_t'
    proj = state_dict.get('image_encoder.patch_embed.proj.weight')
    if isinstance(proj, torch.Tensor) and proj.ndim == 4:
        return {768: 'vit_b', 1024: 'vit_l', 1280: 'vit_h'}.get(int(proj.shape[0]))
    return None


def read_state_dict(path: PathLike) -> Dict[str, torch.Tensor]:
    """
    Read a checkpoint file safely and return its flat state_dict (tensors on the CPU).

    Raises CheckpointError if the file is missing, unreadable or corrupt, holds Python
    objects beyond tensors (refused for safety), or is not a mapping of names to tensors.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(f'checkpoint {path!r} does not exist; check the path or '
                              'download the official weights')
    if not os.path.isfile(path):
        raise CheckpointError(f'checkpoint {path!r} is not a file')
    try:
        # torch warns about pickle protocols of raw pickles; the error below says it all.
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            data = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as exc:
        if 'weights only load failed' in str(exc).lower():
            raise CheckpointError(
                f'checkpoint {path!r} is not a plain state_dict of tensors: it contains '
                'Python objects that could run code when unpickled, so it was refused for '
                'safety. Re-save only the tensors, e.g. torch.save(model.state_dict(), path), '
                'from a trusted environment') from exc
        raise CheckpointError(f'checkpoint {path!r} is corrupt or not a torch file '
                              f'({_first_sentence(str(exc))}); download it again') from exc
    except Exception as exc:  # noqa: B902 - torch raises many types for a damaged file
        raise CheckpointError(
            f'checkpoint {path!r} could not be read ({type(exc).__name__}: '
            f'{_first_sentence(str(exc)) or "no detail"}); the file is probably truncated '
            'or corrupt: download it again') from exc
    return _unwrap(data, path)


def _first_sentence(text: str, limit: int = 200) -> str:
    """Return the first sentence of ``text`` on one line, never cut inside a word."""
    text = ' '.join(text.split())
    match = re.search(r'[.!?](\s|$)', text)
    if match:
        text = text[:match.start() + 1]
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(' ', 1)[0] + ' ...'


def _unwrap(data: object, path: str) -> Dict[str, torch.Tensor]:
    """Return the flat state_dict inside ``data`` (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise CheckpointError(f'checkpoint {path!r} holds a {type(data).__name__}, not a '
                              'state_dict (a dict of name -> tensor)')
    for wrapper in _WRAPPER_KEYS:
        inner = data.get(wrapper)
        if isinstance(inner, Mapping) and not any(isinstance(v, torch.Tensor)
                                                  for v in data.values()):
            data = inner
            break
    keys = list(data.keys())
    if keys and all(isinstance(k, str) and k.startswith('module.') for k in keys):
        data = {k[len('module.'):]: v for k, v in data.items()}
    bad = [str(k) for k, v in data.items()
           if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f'checkpoint {path!r} is not a state_dict: these entries are '
                              f'not tensors: {_listing(bad)}')
    if not data:
        raise CheckpointError(f'checkpoint {path!r} is empty')
    return dict(data)


def load_state_dict_into(model: nn.Module, state_dict: Mapping[str, torch.Tensor],
                         source: str = 'state_dict', model_name: Optional[str] = None) -> None:
    """
    Load ``state_dict`` into ``model`` strictly (see the module docstring for tolerances).

    Floating tensors are cast to the dtype (and moved to the device) of the model's
    tensors. Raises CheckpointError listing missing, unexpected and mis-shaped keys.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict and not _tolerated_missing(k)]
    unexpected = [k for k in state_dict
                  if k not in expected and not k.startswith(_HEAD_PREFIXES)]
    misshaped = [f'{k} expected {tuple(expected[k].shape)} got {tuple(v.shape)}'
                 for k, v in state_dict.items()
                 if k in expected and tuple(v.shape) != tuple(expected[k].shape)]
    mistyped = [f'{k} expected {expected[k].dtype} got {v.dtype}'
                for k, v in state_dict.items()
                if k in expected and v.is_floating_point() != expected[k].is_floating_point()]
    if missing or unexpected or misshaped or mistyped:
        name = f' model {model_name!r}' if model_name else ' model'
        lines = [f'{source} does not match the{name}:']
        if missing:
            lines.append(f'  {len(missing)} missing keys: {_listing(missing)}')
        if unexpected:
            lines.append(f'  {len(unexpected)} unexpected keys: {_listing(unexpected)}')
        if misshaped:
            lines.append(f'  {len(misshaped)} mis-shaped keys: {_listing(misshaped)}')
        if mistyped:
            lines.append(f'  {len(mistyped)} keys of the wrong kind: {_listing(mistyped)}')
        guess = guess_model_type(state_dict)
        if guess and guess != model_name:
            lines.append(f'  the file looks like a {guess!r} checkpoint: build that model type')
        else:
            lines.append('  check that the checkpoint matches the model type')
        raise CheckpointError('\n'.join(lines))
    nonfinite = [k for k, v in state_dict.items()
                 if k in expected and v.is_floating_point() and not _all_finite(v)]
    if nonfinite:
        raise CheckpointError(f'{source} has NaN or Inf values in {_listing(nonfinite)}; '
                              'the file is corrupt: download it again')
    ready = {k: v.to(device=expected[k].device, dtype=expected[k].dtype)
             for k, v in state_dict.items() if k in expected}
    result = model.load_state_dict(ready, strict=False)
    leftover = [k for k in result.missing_keys if not _tolerated_missing(k)]
    if leftover or result.unexpected_keys:
        raise CheckpointError(f'{source} did not load completely: missing '
                              f'{_listing(leftover)}, unexpected '
                              f'{_listing(list(result.unexpected_keys))}')


def load_checkpoint(model: nn.Module, path: PathLike, model_name: Optional[str] = None) -> None:
    """Read ``path`` safely and load it strictly into ``model`` (see the module docstring)."""
    state_dict = read_state_dict(path)
    load_state_dict_into(model, state_dict, source=f'checkpoint {os.fspath(path)!r}',
                         model_name=model_name)
