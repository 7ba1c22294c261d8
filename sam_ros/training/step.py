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
One training step's losses for a sample: clicks, boxes, points and a correction round.

The decoder is SAM's own: ``prompt_encoder`` then ``mask_decoder.predict_masks``, which
returns all four tokens (token 0 = single mask, tokens 1..3 = the three scales).
"""

from typing import Dict

from sam_ros.training.losses import FOCAL_WEIGHT, multimask_loss, single_mask_loss
from sam_ros.training.samples import Sample
import torch


def _decode(model, embedding: torch.Tensor, points=None, boxes=None, masks=None):
    """Run the prompt encoder and mask decoder for P prompts on one image embedding."""
    sparse, dense = model.prompt_encoder(points=points, boxes=boxes, masks=masks)
    return model.mask_decoder.predict_masks(
        image_embeddings=embedding,
        image_pe=model.prompt_encoder.get_dense_pe(),
        sparse_prompt_embeddings=sparse,
        dense_prompt_embeddings=dense,
    )


def _corrections(logits: torch.Tensor, targets: torch.Tensor, scale: float,
                 generator: torch.Generator) -> tuple:
    """
    Pick one corrective click per prompt from the larger error region (low-res frame).

    Returns (xy (P, 2) input-frame pixels, labels (P,)).
    """
    pred = logits > 0
    gt = targets > 0.5
    false_neg = gt & ~pred
    false_pos = pred & ~gt
    use_neg = false_neg.flatten(1).sum(1) >= false_pos.flatten(1).sum(1)
    region = torch.where(use_neg[:, None, None], false_neg, false_pos)
    empty = ~region.flatten(1).any(1)
    region = torch.where(empty[:, None, None], gt, region)
    labels = torch.where(use_neg | empty, 1, 0)
    weights = region.flatten(1).float() + 1e-12
    idx = torch.multinomial(weights, 1, generator=generator)[:, 0]
    side = logits.shape[-1]
    xy = torch.stack([idx % side, idx // side], dim=1).float()
    jitter = torch.rand(xy.shape, generator=generator)
    return (xy + jitter) * scale - 0.5, labels


def sample_losses(model, embedding: torch.Tensor, sample: Sample,
                  generator: torch.Generator,
                  focal_weight: float = FOCAL_WEIGHT) -> Dict[str, torch.Tensor]:
    """
    Return the losses of one sample's prompts on its image embedding (1, D, G, G).

    Keys: 'click_mask', 'click_iou', 'single_mask', 'single_iou' (scalars, may be
    absent when a prompt kind has no prompts) and 'click_miou' / 'single_miou' (no grad).
    """
    out: Dict[str, torch.Tensor] = {}
    targets = sample.targets
    scale = model.image_size / targets.shape[-1]
    single_logits, single_iou, single_gt = [], [], []

    if len(sample.click_xy):
        labels = torch.ones(sample.click_xy.shape[:2], dtype=torch.long)
        logits, iou = _decode(model, embedding, points=(sample.click_xy, labels))
        valid = sample.click_targets >= 0
        level_gt = targets[sample.click_targets.clamp(min=0)] * valid[..., None, None]
        loss_m, loss_i, ious = multimask_loss(logits[:, 1:].float(), iou[:, 1:], level_gt, valid,
                                              focal_weight)
        out['click_mask'], out['click_iou'] = loss_m, loss_i
        out['click_miou'] = ious.amax(1).mean()
        # Correction round: the user meant one of the valid levels; feed back the output
        # closest to it as the mask input and click where it is wrong.
        n_valid = valid.sum(1)
        choice = (torch.rand(len(n_valid), generator=generator) * n_valid).long()
        intent = level_gt[torch.arange(len(choice)), choice]
        with torch.no_grad():
            inter = ((logits[:, 1:] > 0) & (intent[:, None] > 0.5)).flatten(2).sum(-1)
            union = ((logits[:, 1:] > 0) | (intent[:, None] > 0.5)).flatten(2).sum(-1)
            closest = (inter / union.clamp(min=1)).argmax(1) + 1
            prev = logits[torch.arange(len(closest)), closest].detach()
            xy, new_labels = _corrections(prev, intent, scale, generator)
        points = torch.cat([sample.click_xy, xy[:, None]], dim=1)
        point_labels = torch.cat([labels, new_labels[:, None]], dim=1)
        logits2, iou2 = _decode(model, embedding, points=(points, point_labels),
                                masks=prev[:, None].float())
        single_logits.append(logits2[:, 0])
        single_iou.append(iou2[:, 0])
        single_gt.append(intent)

    if len(sample.box):
        logits, iou = _decode(model, embedding, boxes=sample.box)
        single_logits.append(logits[:, 0])
        single_iou.append(iou[:, 0])
        single_gt.append(targets[sample.box_target])
    if len(sample.pts_xy):
        logits, iou = _decode(model, embedding, points=(sample.pts_xy, sample.pts_labels))
        single_logits.append(logits[:, 0])
        single_iou.append(iou[:, 0])
        single_gt.append(targets[sample.pts_target])
    if single_logits:
        loss_m, loss_i, ious = single_mask_loss(torch.cat(single_logits).float(),
                                                torch.cat(single_iou), torch.cat(single_gt),
                                                focal_weight)
        out['single_mask'], out['single_iou'] = loss_m, loss_i
        out['single_miou'] = ious.mean()
    return out
