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
The demo's scripted prompts, their printed answers and their figures.

The steps, in order (each prints its answer; the expected status is in brackets):

1. ``click``: one click in the middle of a nested object's subpart, stamped with the
   frame it was chosen on -> three masks, subpart / part / whole [OK]; with their 3D
   centroids and extents next to the truth, and a side view of the node's ~/cloud.
2. ``click2``: a click on another object of the same frame -> the cached embedding is
   reused [OK].
3. ``box``: a box around an object -> one mask [OK], with its 3D centroid and extent.
4. ``refine``: step 1's click plus one correction click (foreground in what step 1's
   part mask missed, or background on what it added, whichever is larger), refining
   that mask through ``refine_prompt_id`` -> one mask [OK]; it prints the true IoU
   before and after.
5. ``rqt_click``: an rqt_image_view-style click (``geometry_msgs/Point``, unstamped,
   latest frame) [OK].
6. ``rviz_point``: an RViz-style 3-D point in the camera's optical frame, projected
   by the node with camera_info [OK].
7. ``past_frame``: a click stamped with a frame from before the object moved, at the
   object's old place -> the node segments that frame, not the newest one [OK].
8. ``stale``: a click stamped 60 s in the past -> [STALE_FRAME].

Every mask is scored against the synthetic world's ground truth ("true IoU"). Step 1
also says where its frame's encode was paid (before the click: see ``_encode_note``).
"""

import dataclasses
from pathlib import Path
import time
from typing import Callable, List, Optional, Sequence, Tuple

from geometry_msgs.msg import Point
import numpy as np
from sam_ros.demo.camera import DemoCamera
from sam_ros.demo.client import (Answer, DemoClient, format_answer, LEVEL_NAMES,
                                 mask_arrays, NoAnswer, STATUS_NAMES, true_ious)
from sam_ros.demo.depth_view import cloud_figure, CloudListener, depth_lines
from sam_ros.demo.figures import crop_box, prompt_panel, result_figure, save_png
from sam_ros.demo.scenes import interior_point, View
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node.conversions import ns_to_stamp
from sam_ros.synthetic.depth import surface_truth
from sam_ros.synthetic.prompts import multi_point_prompt

__all__ = ['Outcome', 'Script']

_OK = SegmentResult.STATUS_OK
_STALE = SegmentResult.STATUS_STALE_FRAME


@dataclasses.dataclass
class Outcome:
    """What one step got: its answer, whether the status was the expected one, figures."""

    step: str
    title: str
    answer: Optional[Answer]
    expected: int
    truth_ious: List[float] = dataclasses.field(default_factory=list)
    figures: List[Path] = dataclasses.field(default_factory=list)
    note: str = ''

    @property
    def passed(self) -> bool:
        """Return True when the step got an answer with the expected status."""
        return self.answer is not None and self.answer.result.status == self.expected


def _prompt(prompt_id: str, points: Optional[np.ndarray] = None,
            labels: Optional[Sequence[int]] = None, box: Optional[Sequence[float]] = None,
            stamp_ns: int = 0, refine: str = '', refine_index: int = -1) -> SegmentPrompt:
    prompt = SegmentPrompt(prompt_id=prompt_id, mode=SegmentPrompt.MODE_AUTO)
    prompt.header.stamp = ns_to_stamp(stamp_ns)
    if points is not None:
        prompt.points = [Point(x=float(x), y=float(y)) for x, y in np.reshape(points, (-1, 2))]
        prompt.labels = [int(v) for v in labels]
    if box is not None:
        prompt.has_box = True
        prompt.box = [float(v) for v in box]
    prompt.refine_prompt_id = refine
    prompt.refine_mask_index = int(refine_index)
    return prompt


def _levels_at(view: View, obj: int, xy: Tuple[float, float]) -> List[np.ndarray]:
    col, row = int(round(xy[0])), int(round(xy[1]))
    return [m for m in view.objects[obj] if m[row, col]]


def _correction(truth: np.ndarray, mask: np.ndarray,
                click: Tuple[float, float]) -> Tuple[np.ndarray, List[int], str]:
    """
    Return step 1's click plus one correction click, as SAM's interactive training does.

    The correction goes in the larger error of ``mask`` against ``truth`` ((H, W) bool):
    a foreground click in what it missed, or a background click on what it added.
    """
    missed, added = truth & ~mask, mask & ~truth
    if not missed.any() and not added.any():
        return np.array([click]), [1], 'no correction (the mask is exact)'
    if int(missed.sum()) >= int(added.sum()):
        point, label = interior_point(missed), 1
        fix = f'a foreground click in the {int(missed.sum())} px it missed'
    else:
        point, label = interior_point(added), 0
        fix = f'a background click on the {int(added.sum())} px it added'
    return np.array([click, point]), [1, label], fix


def _refine_note(index: int, fix: str, before: float, after: float) -> str:
    """Say whether the refinement improved on the mask it refined, and why not if not."""
    head = (f'refined mask index {index} of step 1 (true IoU {before:.3f}) with its click '
            f'and {fix}: true IoU {after:.3f} ({after - before:+.3f})')
    if after > before:
        return head + ', better'
    return (head + ', not better: the embedded model makes little use of a mask input (it '
            'was trained with one correction round per click, docs/embedded_model.md), so '
            'a correction can pull the mask towards the wrong level')


class Script:
    """Run the scripted steps against a running node, printing and drawing each answer."""

    def __init__(self, client: DemoClient, camera: DemoCamera, out_dir: Path,
                 alive: Callable[[], bool], label: str, answer_timeout: float = 60.0,
                 echo: Callable[[str], None] = print, figure_height: int = 320) -> None:
        """
        Prepare a run.

        ``alive``: returns False once the node process has exited; ``label``: the model
        name shown in figure titles; ``echo``: where the printed lines go;
        ``figure_height``: the pixel height of the figures' image panels.
        """
        self.client, self.camera, self.out_dir = client, camera, Path(out_dir)
        self.alive, self.label, self.timeout, self.echo = alive, label, answer_timeout, echo
        self.figure_height = int(figure_height)
        self.outcomes: List[Outcome] = []
        self._rng = np.random.default_rng(5)
        self._since_ns = 0
        self._live_key = None
        self._probe: Optional[Answer] = None
        self._clouds = CloudListener(client, client.sam)

    # ------------------------------------------------------------------ helpers

    def _wait_hold(self, min_left: float = 1.0, max_left: Optional[float] = None,
                   timeout: float = 30.0) -> Tuple[int, View]:
        """Wait for a still scene; return the stamp of a frame the node holds, and its view."""
        world = self.camera.world
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            latest = self.camera.latest()
            left = world.hold_left(self.camera.elapsed())
            fresh = [] if latest is None else [
                s for s in self.camera.stamps_of(latest[1]) if s > self._since_ns]
            if (latest is not None and not latest[2] and left >= min_left
                    and (max_left is None or left <= max_left) and len(fresh) >= 3):
                view = self.camera.view_for(latest[0])
                stamp = None if view is None else self._held_stamp(view)
                if stamp is not None:
                    return stamp, self.camera.view_for(stamp) or view
            time.sleep(0.05)
        raise NoAnswer(f'the demo camera showed no still scene within {timeout:.0f} s')

    def _held_stamp(self, view: View) -> Optional[int]:
        """
        Return the stamp of a frame of ``view``'s still scene that the node holds, or None.

        The camera publishes faster than the node takes frames (the node keeps the newest,
        and DDS may overwrite frames the node has not taken yet), so a stamp the camera
        published may never reach the node. A probe click with a zero stamp is answered
        on the node's newest frame and carries that frame's stamp: when that frame shows
        this still scene, the node holds it (its embedding is cached by the probe).
        """
        xy = interior_point(view.actor[0])
        probe = self.client.send(_prompt('demo/frame_probe', np.array([xy]), [1]),
                                 self.timeout, self.alive)
        if probe.result.status != _OK or probe.stamp_ns <= self._since_ns:
            return None
        if self.camera.key_of(probe.stamp_ns) != (view.key, False):
            return None         # the node's newest frame is older than this scene: retry
        self._probe = probe
        return probe.stamp_ns

    def _encode_note(self) -> str:
        """Say where the encode of step 1's frame was paid: before the click, not by it."""
        probe = None if self._probe is None else self._probe.result
        if probe is not None and not probe.embedding_reused:
            return (f'embedding: this frame was encoded in {probe.encode_time_ms:.0f} ms for '
                    'the probe click that found it held; step 1 and the next prompts on it '
                    'only decode')
        deadline, last = time.monotonic() + 3.0, 0.0    # /diagnostics come once a second
        while last <= 0.0 and time.monotonic() < deadline:
            last = float(self.client.diagnostics().get('encoder latency last (ms)', 0.0))
            time.sleep(0.05)
        paid = f' in {last:.0f} ms' if last > 0.0 else ''
        return (f'embedding: the node encoded this still scene{paid} when its first frame '
                'arrived (encode_policy on_change encodes a changed frame at once), so step '
                '1, like every later prompt on it, only decodes')

    def _figure(self, name: str, answer: Answer, view: Optional[View], truth_ious,
                title: str, points=None, labels=None, box=None,
                focus: Sequence[np.ndarray] = ()) -> List[Path]:
        result = answer.result
        if view is None or result.status != _OK:
            return []
        masks = mask_arrays(result)
        crop = crop_box(list(focus) + masks, view.image.shape[:2], margin=0.3)
        figure = result_figure(
            view.image, masks, [LEVEL_NAMES.get(m.level, '?') for m in result.masks],
            [m.predicted_iou for m in result.masks], result.best_index, points, labels, box,
            truth_ious or None, f'{title} | {self.label}', crop, self.figure_height)
        return [save_png(self.out_dir / f'{name}.png', figure)]

    def _report(self, outcome: Outcome, keep: bool = True) -> Outcome:
        index = len(self.outcomes) + 1
        self.echo(f'\n[demo] {f"step {index}" if keep else "live"}: {outcome.title}')
        if outcome.answer is not None:
            for line in format_answer(outcome.answer, outcome.truth_ious or None):
                self.echo('       ' + line)
        if outcome.note:
            self.echo('       ' + outcome.note)
        if not outcome.passed:
            self.echo(f'       UNEXPECTED: wanted status {STATUS_NAMES[outcome.expected]}; see '
                      'the node log')
        for path in outcome.figures:
            self.echo(f'       figure: {path}')
        if keep:
            self.outcomes.append(outcome)
        return outcome

    def _click_step(self, step: str, title: str, view: View, stamp_ns: int, obj: int,
                    xy: Tuple[float, float], figure: Optional[str]) -> Outcome:
        answer = self.client.send(_prompt(f'demo/{step}', np.array([xy]), [1],
                                          stamp_ns=stamp_ns), self.timeout, self.alive)
        truth = _levels_at(view, obj, xy)
        scores = true_ious(mask_arrays(answer.result), truth)
        figures = []
        if figure:
            figures = self._figure(figure, answer, view, scores, title, np.array([xy]), [1],
                                   focus=view.objects[obj][-1:])
        return Outcome(step, title, answer, _OK, scores, figures)

    # -------------------------------------------------------------------- steps

    def start(self) -> None:
        """Mark the node ready: clicks go only to frames published from now on."""
        latest = self.camera.latest()
        self._since_ns = latest[0] if latest else 0

    def run(self) -> List[Outcome]:
        """Run every step once; return the outcomes (also kept in ``outcomes``)."""
        self.start()
        stamp, view = self._wait_hold(min_left=1.5)
        actor = len(view.objects) - 1
        xy = interior_point(view.actor[0])
        save_png(self.out_dir / 'click_frame.png', prompt_panel(view.image, np.array([xy]), [1]))
        first = self._click_step(
            'click', 'one click on a nested object (prompt stamped with its frame)', view,
            stamp, actor, xy, 'three_masks')
        first.note = self._encode_note()
        self._add_3d(first, view, _levels_at(view, actor, xy), 'cloud')
        first = self._report(first)
        first.figures.insert(0, self.out_dir / 'click_frame.png')
        overlay = self.client.overlay(timeout=2.0) if first.passed else None
        if overlay is not None:
            first.figures.append(save_png(self.out_dir / 'overlay.png', overlay))
        self._second_click(stamp, view)
        self._box(stamp, view)
        self._refine(stamp, view, first)
        self._rqt_click()
        self._rviz_point()
        self._past_frame()
        self._stale()
        return self.outcomes

    def _add_3d(self, outcome: Outcome, view: View, truth: Sequence[np.ndarray],
                figure: str = '') -> None:
        """Add the answer's 3D against the truth to ``outcome``, and the cloud figure."""
        if outcome.answer is None or outcome.answer.result.status != _OK:
            return
        result = outcome.answer.result
        depth, k = self.camera.depth_of(view), list(self.camera.info.k)
        lines = depth_lines(result, truth, depth, k)
        outcome.note = '\n       '.join(([outcome.note] if outcome.note else []) + lines)
        best = result.masks[result.best_index] if result.masks else None
        if not figure or best is None or not best.has_3d or result.best_index >= len(truth):
            return
        cloud = self._clouds.cloud_for(outcome.answer.stamp_ns)
        if cloud is None:
            outcome.note += '\n       no ~/cloud arrived for this answer'
            return
        gt, _, _ = surface_truth(depth, truth[result.best_index], k)
        measured = np.array([best.centroid.x, best.centroid.y, best.centroid.z])
        image = cloud_figure(view.image, depth, k, cloud, gt, measured,
                             f'~/cloud of the best mask ({cloud.width} points) over the '
                             f'scene | + truth centroid, o node centroid | {self.label}')
        outcome.figures.append(save_png(self.out_dir / f'{figure}.png', image))

    def _second_click(self, stamp: int, view: View) -> None:
        nested = [i for i, levels in enumerate(view.objects[:-1])
                  if len(levels) == 3 and levels[0].sum() > 200]
        if nested:
            obj = max(nested, key=lambda i: int(view.objects[i][0].sum()))
            xy = interior_point(view.objects[obj][0])
        else:       # no other nested object is visible: click the actor's part ring
            obj = len(view.objects) - 1
            xy = interior_point(view.actor[1] & ~view.actor[0])
        self._report(self._click_step(
            'click2', 'a click on another object of the same frame (embedding reused)',
            view, stamp, obj, xy, 'three_masks_2'))

    def _box(self, stamp: int, view: View) -> None:
        sizes = [int(levels[-1].sum()) for levels in view.objects[:-1]]
        obj = int(np.argmax(sizes)) if sizes and max(sizes) > 3000 else len(view.objects) - 1
        whole = view.objects[obj][-1]
        rows, cols = np.flatnonzero(whole.any(axis=1)), np.flatnonzero(whole.any(axis=0))
        box = [float(cols[0]), float(rows[0]), float(cols[-1]), float(rows[-1])]
        title = 'a box around an object (one mask)'
        answer = self.client.send(_prompt('demo/box', box=box, stamp_ns=stamp), self.timeout,
                                  self.alive)
        scores = true_ious(mask_arrays(answer.result), [whole])
        figures = self._figure('box', answer, view, scores, title, box=box, focus=[whole])
        outcome = Outcome('box', title, answer, _OK, scores, figures)
        self._add_3d(outcome, view, [whole])
        self._report(outcome)

    def _refine(self, stamp: int, view: View, first: Outcome) -> None:
        subpart, part, whole = view.actor
        index, base = -1, None
        if first.passed:
            levels = [m.level for m in first.answer.result.masks]
            part_level = next(k for k, v in LEVEL_NAMES.items() if v == 'part')
            if part_level in levels:
                index = levels.index(part_level)
                base = mask_arrays(first.answer.result)[index]
        if base is not None:
            points, labels, fix = _correction(part, base, interior_point(subpart))
        else:   # no part mask to refine: a plain multi-point prompt on the part
            points, labels = multi_point_prompt(part, self._rng, n_pos=2, n_neg=1,
                                                child=subpart, parent=whole)
            fix = ''
        title = 'refinement of the part mask of step 1 (refine_prompt_id, a correction click)'
        answer = self.client.send(_prompt('demo/refine', points, labels, stamp_ns=stamp,
                                          refine='demo/click', refine_index=index),
                                  self.timeout, self.alive)
        scores = true_ious(mask_arrays(answer.result), [part])
        figures = self._figure('refine', answer, view, scores, title, points, labels,
                               focus=[whole])
        note = f'refined mask index {index} of step 1'
        if base is not None and scores:
            before, after = true_ious([base], [part])[0], scores[0]
            note = _refine_note(index, fix, before, after)
        self._report(Outcome('refine', title, answer, _OK, scores, figures, note=note))

    def _rqt_click(self) -> None:
        _, view = self._wait_hold(min_left=1.0)
        xy = interior_point(view.actor[0])
        answer = self.client.click(*xy, timeout=self.timeout, alive=self.alive)
        self._latest_frame_outcome('rqt_click', 'an rqt_image_view click (unstamped: the '
                                   'latest frame)', answer, xy)

    def _rviz_point(self) -> None:
        _, view = self._wait_hold(min_left=1.0)
        u, v = interior_point(view.actor[0])
        info = self.camera.info
        fx, cx, fy, cy = info.p[0], info.p[2], info.p[5], info.p[6]
        depth = 2.0
        xyz = ((u - cx) / fx * depth, (v - cy) / fy * depth, depth)
        answer = self.client.clicked_point(xyz, self.camera.frame_id, timeout=self.timeout,
                                           alive=self.alive)
        self._latest_frame_outcome(
            'rviz_point', f'an RViz Publish Point click: ({xyz[0]:.2f}, {xyz[1]:.2f}, '
            f'{xyz[2]:.2f}) m in {self.camera.frame_id}, projected with camera_info',
            answer, (u, v))

    def _latest_frame_outcome(self, step: str, title: str, answer: Answer,
                              xy: Tuple[float, float]) -> None:
        view = self.camera.view_for(answer.stamp_ns)
        scores = []
        if view is not None:
            scores = true_ious(mask_arrays(answer.result),
                               _levels_at(view, len(view.objects) - 1, xy))
        self._report(Outcome(step, title, answer, _OK, scores))

    def _past_frame(self) -> None:
        stamp, view = self._wait_hold(min_left=0.25, max_left=0.9)
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            latest = self.camera.latest()
            if latest is not None and latest[1] != view.key and not latest[2]:
                break
            time.sleep(0.05)
        time.sleep(0.3)
        newest = self.camera.latest()
        xy = interior_point(view.actor[0])
        age = (newest[0] - stamp) / 1e9 if newest else 0.0
        title = f'a click on the frame seen {age:.1f} s ago (the object has moved since)'
        outcome = self._click_step('past_frame', title, view, stamp, len(view.objects) - 1,
                                   xy, 'past_frame')
        if newest is not None and outcome.answer is not None and outcome.answer.result.masks:
            now_view = self.camera.view_for(newest[0])
            if now_view is not None:
                best = mask_arrays(outcome.answer.result)[outcome.answer.result.best_index]
                then = true_ious([best], [view.actor[-1]])[0]
                now = true_ious([best], [now_view.actor[-1]])[0]
                outcome.note = (f'best mask vs the object in the frame clicked: IoU '
                                f'{then:.2f}; vs the object in the newest frame: {now:.2f}')
        self._report(outcome)

    def _stale(self) -> None:
        latest = self.camera.latest()
        stamp = (latest[0] if latest else 0) - 60 * 1_000_000_000
        _, view = self._wait_hold(min_left=0.0)
        xy = interior_point(view.actor[0])
        answer = self.client.send(_prompt('demo/stale', np.array([xy]), [1], stamp_ns=stamp),
                                  self.timeout, self.alive)
        self._report(Outcome('stale', 'a click stamped 60 s in the past', answer, _STALE))

    # ------------------------------------------------------------------ forever

    def live_round(self, round_index: int) -> Outcome:
        """Click the moving object's subpart once per still scene; draw live figures."""
        stamp, view = self._wait_hold(min_left=0.8)
        while view.key == self._live_key:      # already clicked this scene: wait for the next
            time.sleep(0.1)
            stamp, view = self._wait_hold(min_left=0.8)
        self._live_key = view.key
        xy = interior_point(view.actor[0])
        outcome = self._click_step(f'live/{round_index}', f'live click {round_index}', view,
                                   stamp, len(view.objects) - 1, xy, 'live_three_masks')
        return self._report(outcome, keep=False)
