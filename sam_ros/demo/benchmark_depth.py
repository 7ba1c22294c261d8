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
The cost depth fusion adds to one answer, against the answer's own cost, in one run.

``python -m sam_ros.demo.benchmark_depth [--sizes 640x480,1280x720] [--repeats 30]``

In this process: the node's own code on a real rclpy node (publishers with a
subscriber each, so every message is serialised as on a robot), the embedded model on
the CPU. Per frame size, one synthetic frame with a whole-object click (3 masks) is
encoded once, then per round, alternating:

* the answer without depth: ``segment`` (the decoder, 3 masks), ``prediction_to_result``
  and publishing the ``SegmentResult``;
* what depth adds: ``DepthOutput.fill`` (match by stamp, 3D fields of the 3 masks) and
  ``DepthOutput.publish`` (``~/cloud`` of the whole-object mask, ``cloud_masks: whole``,
  and ``~/markers``).

Medians over ``--repeats`` rounds after 3 warm-up rounds; prints a Markdown table.
"""

import argparse
import datetime
import platform
import statistics
import sys
import time
from typing import List, Optional

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_ros.demo.scenes import interior_point
from sam_ros.msg import SegmentResult
from sam_ros.node import conversions as conv
from sam_ros.node.cloud import depth_to_image
from sam_ros.node.config import config_from_values
from sam_ros.node.depth_output import DepthOutput
from sam_ros.node.model import build_predictor
from sam_ros.synthetic.depth import scene_depth
from sam_ros.synthetic.world import SceneGenerator
from sensor_msgs.msg import CameraInfo, PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

__all__ = ['main']


def _ms(samples: List[float]) -> float:
    return statistics.median(samples) * 1e3


def _one_size(node, results_pub, predictor, cfg, width: int, height: int, repeats: int
              ) -> dict:
    scene = SceneGenerator(seed=4).scene(1, width, height)
    truth = scene_depth(scene)
    obj = max(scene.objects, key=lambda o: int(o.whole.sum()))
    xy = np.array([interior_point(obj.whole & ~obj.part)], np.float32)
    embedding = predictor.encode(scene.image)
    output = DepthOutput(node, cfg)
    deadline = time.monotonic() + 10.0
    while (output._cloud_pub.get_subscription_count() == 0
           or output._markers_pub.get_subscription_count() == 0
           or results_pub.get_subscription_count() == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    stamp_ns = 1_700_000_000_000_000_000
    header = Header(stamp=conv.ns_to_stamp(stamp_ns), frame_id='camera_optical')
    output._on_depth(depth_to_image(truth.depth, '16UC1', header))
    output._on_info(CameraInfo(header=header, width=width, height=height, k=list(truth.k)))
    base, added, fills = [], [], []
    for i in range(repeats + 3):
        started = time.perf_counter()
        prediction = predictor.segment(point_coords=xy, point_labels=np.array([1]),
                                       mode='multi', embedding=embedding)
        result = conv.prediction_to_result(prediction, header, 'bench')
        results_pub.publish(result)
        middle = time.perf_counter()
        output.fill(result, prediction, stamp_ns, header, cfg)
        filled = time.perf_counter()
        output.publish(result, scene.image, cfg)
        done = time.perf_counter()
        if result.depth_status != SegmentResult.DEPTH_OK:
            raise RuntimeError(f'depth did not match: {result.depth_message}')
        if i >= 3:
            base.append(middle - started)
            added.append(done - middle)
            fills.append(filled - middle)
        whole = next(m for m in result.masks if m.level == 2)
    return {'size': f'{width} x {height}', 'base_ms': _ms(base), 'added_ms': _ms(added),
            'fill_ms': _ms(fills), 'publish_ms': _ms(added) - _ms(fills),
            'ratio': (_ms(base) + _ms(added)) / _ms(base), 'points': whole.depth_valid_pixels,
            'min_added_ms': min(added) * 1e3}


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and print its Markdown table."""
    parser = argparse.ArgumentParser(prog='python -m sam_ros.demo.benchmark_depth',
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument('--sizes', default='640x480,1280x720')
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    cfg = config_from_values({'device': 'cpu', 'num_threads': args.threads,
                              'cloud_masks': 'whole'})
    predictor, note = build_predictor(cfg)
    rclpy.init()
    node = rclpy.create_node('sam_depth_bench')
    try:
        reliable = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        results_pub = node.create_publisher(SegmentResult, '~/results', reliable)
        for kind, topic in ((SegmentResult, '~/results'), (PointCloud2, '~/cloud'),
                            (MarkerArray, '~/markers')):
            node.create_subscription(kind, topic, lambda msg: None, reliable)
        rows = []
        for size in args.sizes.split(','):
            width, height = (int(v) for v in size.lower().split('x'))
            rows.append(_one_size(node, results_pub, predictor, cfg, width, height,
                                  args.repeats))
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(f'{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {platform.processor() or "cpu"}, '
          f'{note}, torch threads {args.threads}, medians of {args.repeats} rounds\n')
    print('| Frame | Answer without depth (ms) | Added by depth (ms) | of which 3D fields '
          '(ms) | of which cloud + markers (ms) | Ratio | Whole-mask cloud points |')
    print('|---|---|---|---|---|---|---|')
    for row in rows:
        print(f'| {row["size"]} | {row["base_ms"]:.2f} | {row["added_ms"]:.2f} (min '
              f'{row["min_added_ms"]:.2f}) | {row["fill_ms"]:.2f} | {row["publish_ms"]:.2f} | '
              f'{row["ratio"]:.3f} | {row["points"]} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
