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
Turn synthetic scenes into training samples for the embedded model.

A sample holds the resized image (the model's input frame), soft low-resolution level
masks in the decoder's output frame (4G x 4G over the padded input square), and the
sampled prompts already scaled to input-frame pixels. Preprocessing is the predictor's
own (antialiased resize of the longest side, right/bottom zero padding), so training and
inference see the same pixels.
"""

from dataclasses import dataclass
from typing import List, Sequence

import cv2
import numpy as np
from sam_ros.core.transforms import preprocess_shape, resize_image
from sam_ros.training.prompts import sample_click, sample_region_prompt
import torch

# Frame sizes drawn during training (width, height) with their weights: the default
# 640x480 camera, the sizes the evaluation also reports, and random other shapes.
_FRAME_SIZES = ((640, 480), (1280, 720), (320, 240))
_FRAME_WEIGHTS = (0.55, 0.15, 0.15)


@dataclass
class Sample:
    """One training image with its prompts (tensors on CPU)."""

    image: torch.Tensor          # (3, h, w) uint8, resized input frame (unpadded)
    targets: torch.Tensor        # (L, 4G, 4G) float32 soft level masks, all objects
    click_xy: torch.Tensor       # (Pc, 1, 2) float32 input-frame pixels
    click_targets: torch.Tensor  # (Pc, 3) int64 indices into targets, -1 = none
    box: torch.Tensor            # (Pb, 4) float32 input-frame XYXY
    box_target: torch.Tensor     # (Pb,) int64
    pts_xy: torch.Tensor         # (Pm, K, 2) float32, padded points have label -1
    pts_labels: torch.Tensor     # (Pm, K) int64
    pts_target: torch.Tensor     # (Pm,) int64


def draw_frame_size(rng: np.random.Generator) -> tuple:
    """Return a (width, height) for the next training frame."""
    u = rng.random()
    acc = 0.0
    for size, weight in zip(_FRAME_SIZES, _FRAME_WEIGHTS):
        acc += weight
        if u < acc:
            return size
    width = int(rng.integers(320, 1281))
    aspect = rng.uniform(0.5, 1.0)
    return width, max(200, int(width * aspect))


def _soft_target(mask: np.ndarray, input_hw: tuple, image_size: int, low_res: int) -> np.ndarray:
    """Resize a full-frame bool mask to the padded low-res decoder frame, as soft values."""
    h, w = input_hw
    resized = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    padded = np.zeros((image_size, image_size), np.float32)
    padded[:h, :w] = resized
    return cv2.resize(padded, (low_res, low_res), interpolation=cv2.INTER_AREA)


def build_sample(image: np.ndarray, objects: Sequence[Sequence[np.ndarray]],
                 rng: np.random.Generator, image_size: int, low_res: int,
                 n_clicks: int = 3, n_boxes: int = 2, n_points: int = 2) -> Sample:
    """
    Build one sample from an RGB frame and its objects' level masks.

    Inputs:
        image: (H, W, 3) uint8 RGB frame.
        objects: per object, its visible level masks (H, W) bool, subpart -> whole.
        rng: the random generator (the caller seeds it).
        image_size: the model's square input side S.
        low_res: the decoder's low-res mask side (4 * embedding grid).
        n_clicks: single clicks to sample (three-mask supervision).
        n_boxes: jittered boxes to sample (single-mask supervision).
        n_points: foreground/background point sets to sample (single-mask supervision).

    """
    height, width = image.shape[:2]
    new_h, new_w = preprocess_shape(height, width, image_size)
    scale = np.array([new_w / width, new_h / height], dtype=np.float32)
    resized = resize_image(image, image_size)
    flat: List[np.ndarray] = []
    offsets = []
    for levels in objects:
        offsets.append(len(flat))
        flat.extend(levels)
    targets = np.stack([_soft_target(m, (new_h, new_w), image_size, low_res) for m in flat])
    live = [i for i, levels in enumerate(objects) if levels[-1].sum() >= 16]

    clicks, click_targets = [], []
    boxes, box_targets = [], []
    pts, pts_labels, pts_targets = [], [], []
    for _ in range(n_clicks):
        obj = int(rng.choice(live))
        click = sample_click(objects[obj], rng)
        if click is None:
            continue
        clicks.append(click.xy * scale)
        ids = [offsets[obj] + t for t in click.target_levels]
        click_targets.append(ids + [-1] * (3 - len(ids)))
    for kind, count in (('box', n_boxes), ('points', n_points)):
        for _ in range(count):
            obj = int(rng.choice(live))
            prompt = sample_region_prompt(objects[obj], rng, kind)
            if prompt is None:
                continue
            target = offsets[obj] + prompt.level
            if kind == 'box':
                boxes.append(prompt.box * np.concatenate([scale, scale]))
                box_targets.append(target)
            else:
                pad = 4 - len(prompt.labels)
                pts.append(np.concatenate([prompt.points * scale, np.zeros((pad, 2), np.float32)]))
                pts_labels.append(np.concatenate([prompt.labels, -np.ones(pad, np.int64)]))
                pts_targets.append(target)
    return Sample(
        image=torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1),
        targets=torch.from_numpy(targets),
        click_xy=torch.tensor(np.array(clicks, np.float32).reshape(-1, 1, 2)),
        click_targets=torch.tensor(np.array(click_targets, np.int64).reshape(-1, 3)),
        box=torch.tensor(np.array(boxes, np.float32).reshape(-1, 4)),
        box_target=torch.tensor(np.array(box_targets, np.int64)),
        pts_xy=torch.tensor(np.array(pts, np.float32).reshape(-1, 4, 2)),
        pts_labels=torch.tensor(np.array(pts_labels, np.int64).reshape(-1, 4)),
        pts_target=torch.tensor(np.array(pts_targets, np.int64)),
    )
