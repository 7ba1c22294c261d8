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
SAM's training losses: focal + dice on mask logits, MSE on predicted IoU.

All functions work on low-resolution mask logits of shape (P, M, h, w) (P prompts, M
masks per prompt) against soft targets in [0, 1] of the same spatial size, and return
per-mask losses of shape (P, M) so that callers can take minima over outputs.
"""

import itertools

import torch
import torch.nn.functional as F

FOCAL_WEIGHT = 20.0
DICE_WEIGHT = 1.0
IOU_WEIGHT = 1.0

_PERMUTATIONS = torch.tensor(list(itertools.permutations(range(3))), dtype=torch.long)


def focal_loss(logits: torch.Tensor, targets: torch.Tensor,
               alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    """Return the sigmoid focal loss, averaged over pixels: (..., h, w) -> (...)."""
    prob = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = prob * targets + (1.0 - prob) * (1.0 - targets)
    loss = ce * (1.0 - p_t) ** gamma
    alpha_t = alpha * targets + (1.0 - alpha) * (1.0 - targets)
    return (alpha_t * loss).flatten(-2).mean(-1)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return 1 - soft Dice of sigmoid(logits) and targets: (..., h, w) -> (...)."""
    prob = torch.sigmoid(logits).flatten(-2)
    targets = targets.flatten(-2)
    numerator = 2.0 * (prob * targets).sum(-1)
    denominator = prob.sum(-1) + targets.sum(-1)
    return 1.0 - (numerator + 1.0) / (denominator + 1.0)


def mask_loss(logits: torch.Tensor, targets: torch.Tensor,
              focal_weight: float = FOCAL_WEIGHT) -> torch.Tensor:
    """Return SAM's mask loss, 20 * focal + dice, per mask: (..., h, w) -> (...)."""
    return focal_weight * focal_loss(logits, targets) + DICE_WEIGHT * dice_loss(logits, targets)


@torch.no_grad()
def actual_iou(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return the IoU of (logits > 0) with (targets > 0.5), per mask: (..., h, w) -> (...)."""
    pred = (logits > 0).flatten(-2)
    gt = (targets > 0.5).flatten(-2)
    inter = (pred & gt).sum(-1).float()
    union = (pred | gt).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp(min=1.0), torch.ones_like(union))


def multimask_loss(logits: torch.Tensor, iou_pred: torch.Tensor, targets: torch.Tensor,
                   valid: torch.Tensor, focal_weight: float = FOCAL_WEIGHT) -> tuple:
    """
    Supervise the three ambiguity outputs of single-point prompts.

    Each output is supervised on its best-matching valid level, one to one where the
    point has enough levels (a subpart pixel has three: subpart, part and whole), so
    the three outputs learn to cover the three scales; an output left over (a pixel
    with fewer than three levels) takes its best level. This is SAM's "supervise only
    the best of the outputs", applied to every ground-truth level of the click.

    Inputs:
        logits: (P, 3, h, w) low-res logits of tokens 1..3.
        iou_pred: (P, 3) predicted IoUs of tokens 1..3.
        targets: (P, 3, h, w) soft level masks, subpart -> whole, padded with zeros.
        valid: (P, 3) bool, which target levels exist for the clicked pixel.
        focal_weight: weight of the focal term (SAM: 20; lower during a warm-up).

    The result is (mask loss scalar, IoU loss scalar, actual IoUs (P, 3)).

    """
    pairs = logits[:, :, None].expand(-1, -1, 3, -1, -1)
    cost = mask_loss(pairs, targets[:, None, :].expand_as(pairs),
                     focal_weight)  # (P, out, target)
    big = torch.finfo(cost.dtype).max / 16
    masked = torch.where(valid[:, None, :], cost, torch.full_like(cost, big))
    best_valid = masked.min(dim=2, keepdim=True).values
    effective = torch.where(valid[:, None, :], cost, best_valid.expand_as(cost))
    perms = _PERMUTATIONS.to(logits.device)
    outputs = torch.arange(3, device=logits.device)
    totals = effective[:, outputs[None, :], perms].sum(-1)  # (P, 6)
    chosen = totals.argmin(dim=1)
    loss_mask = totals.gather(1, chosen[:, None]).mean() / 3.0
    with torch.no_grad():
        ious = actual_iou(pairs, targets[:, None, :].expand_as(pairs))  # (P, out, target)
        ious = torch.where(valid[:, None, :], ious, torch.zeros_like(ious)).amax(dim=2)
    loss_iou = F.mse_loss(iou_pred.float(), ious)
    return loss_mask, IOU_WEIGHT * loss_iou, ious


def single_mask_loss(logits: torch.Tensor, iou_pred: torch.Tensor,
                     targets: torch.Tensor, focal_weight: float = FOCAL_WEIGHT) -> tuple:
    """
    Supervise the single-mask token (boxes, several points, corrections).

    Inputs:
        logits: (P, h, w) low-res logits of token 0.
        iou_pred: (P,) predicted IoU of token 0.
        targets: (P, h, w) soft target masks.
        focal_weight: weight of the focal term (SAM: 20; lower during a warm-up).

    The result is (mask loss scalar, IoU loss scalar, actual IoUs (P,)).

    """
    loss_mask = mask_loss(logits, targets, focal_weight).mean()
    ious = actual_iou(logits, targets)
    return loss_mask, IOU_WEIGHT * F.mse_loss(iou_pred.float(), ious), ious
