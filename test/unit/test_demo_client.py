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

"""How the demo client scores and prints an answer (tier 2: messages, no DDS)."""

import numpy as np
from sam_ros.demo.client import Answer, format_answer, mask_arrays, true_ious
from sam_ros.msg import SegmentMask, SegmentResult
from sam_ros.node.conversions import mask_to_image


def _mask(x0: int, x1: int) -> np.ndarray:
    mask = np.zeros((8, 10), bool)
    mask[2:6, x0:x1] = True
    return mask


def _result(masks, ious, levels, best: int) -> SegmentResult:
    result = SegmentResult(status=SegmentResult.STATUS_OK, best_index=best,
                           embedding_reused=True, decode_time_ms=12.0)
    for mask, iou, level in zip(masks, ious, levels):
        result.masks.append(SegmentMask(mask=mask_to_image(mask), predicted_iou=iou,
                                        level=level, area=int(mask.sum())))
    return result


def test_true_ious_pair_masks_with_levels_in_order():
    masks = [_mask(3, 5), _mask(2, 6), _mask(0, 10)]
    assert true_ious(masks, masks) == [1.0, 1.0, 1.0]
    swapped = true_ious(masks, masks[::-1])
    assert swapped[1] == 1.0 and swapped[0] < 0.5


def test_true_ious_take_the_best_match_when_counts_differ():
    masks = [_mask(2, 6)]
    assert true_ious(masks, [_mask(3, 5), _mask(2, 6)]) == [1.0]
    assert true_ious(masks, []) == []


def test_format_answer_shows_levels_ious_best_reuse_and_latency():
    masks = [_mask(3, 5), _mask(2, 6), _mask(0, 10)]
    result = _result(masks, [0.7, 0.9, 0.8], [SegmentMask.LEVEL_SUBPART,
                                              SegmentMask.LEVEL_PART,
                                              SegmentMask.LEVEL_WHOLE], 1)
    lines = format_answer(Answer(result, 42.4, 0.0), [0.95, 0.9, 0.85])
    assert 'status OK' in lines[0] and 'best index 1' in lines[0]
    assert 'embedding reused: yes' in lines[0] and 'latency 42 ms' in lines[0]
    assert 'subpart' in lines[1] and 'predicted IoU 0.700' in lines[1]
    assert lines[2].endswith('<- best') and 'true IoU 0.900' in lines[2]
    assert [m.sum() for m in mask_arrays(result)] == [m.sum() for m in masks]


def test_format_answer_of_an_error_shows_the_status_and_message():
    result = SegmentResult(status=SegmentResult.STATUS_STALE_FRAME, best_index=-1,
                           message='the frame is 60.000 s older')
    lines = format_answer(Answer(result, 3.0, 0.0))
    assert lines == ['status STALE_FRAME | latency 3 ms | the frame is 60.000 s older']


def test_the_refine_step_corrects_the_larger_error_and_says_how_it_went():
    from sam_ros.demo.script import _correction, _refine_note
    truth = np.zeros((40, 40), bool)
    truth[10:30, 10:30] = True
    short = truth.copy()
    short[10:30, 22:30] = False                       # missed 160 px
    points, labels, fix = _correction(truth, short, (15.0, 15.0))
    assert labels == [1, 1] and truth[int(points[1][1]), int(points[1][0])]
    assert not short[int(points[1][1]), int(points[1][0])] and '160 px it missed' in fix
    spill = truth.copy()
    spill[0:8, 0:40] = True                           # added 320 px
    points, labels, fix = _correction(truth, spill, (15.0, 15.0))
    assert labels == [1, 0] and not truth[int(points[1][1]), int(points[1][0])]
    assert 'background click on the 320 px it added' in fix
    assert _refine_note(1, fix, 0.80, 0.86).endswith('(+0.060), better')
    assert 'not better: ' in _refine_note(1, fix, 0.80, 0.78)
