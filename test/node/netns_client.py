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
The client half of test_node_netns.py, run inside the client's network namespace.

``python netns_client.py --domain D --prompts N --out result.json``: publishes jpeg
frames (5 Hz, one still scene) on /camera/image/compressed and N prompts on
/sam/prompt (a burst, then 10 Hz; every other one stamped with the frame just
published), collects /sam/results and writes {"sent": [...], "answers": {id: [status,
...]}} to --out. It uses the shared toolkit and only the node's documented interface.
"""

import argparse
import json
import sys
import threading
import time

import cv2
from geometry_msgs.msg import Point
import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sam_ros.demo.ros_session import RosSession
from sam_ros.msg import SegmentPrompt, SegmentResult
from sam_ros.node.conversions import ns_to_stamp
from sam_ros.synthetic.world import SceneGenerator
from sensor_msgs.msg import CompressedImage

KEEP_ALL = QoSProfile(history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE)
BURST = 20


def main() -> int:
    """Run the client; return 0 when it finished (the test judges the answers)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--domain', type=int, required=True)
    parser.add_argument('--prompts', type=int, default=60)
    parser.add_argument('--out', required=True)
    parser.add_argument('--timeout', type=float, default=180.0)
    args = parser.parse_args()
    session = RosSession(domain_id=args.domain)
    node = session.add(rclpy.create_node('netns_client', context=session.context))
    answers = {}
    cond = threading.Condition()

    def on_result(msg: SegmentResult) -> None:
        with cond:
            answers.setdefault(msg.prompt_id, []).append(int(msg.status))
            cond.notify_all()
    image_pub = node.create_publisher(CompressedImage, '/camera/image/compressed', KEEP_ALL)
    prompt_pub = node.create_publisher(SegmentPrompt, '/sam/prompt', KEEP_ALL)
    node.create_subscription(SegmentResult, '/sam/results', on_result, KEEP_ALL)
    session.start()
    deadline = time.monotonic() + args.timeout
    while not (image_pub.get_subscription_count() and prompt_pub.get_subscription_count()
               and node.count_publishers('/sam/results')):
        if time.monotonic() > deadline:
            print('netns_client: the node was not discovered', file=sys.stderr)
            session.close()
            return 1
        time.sleep(0.1)
    image = SceneGenerator(seed=4).scene(3, 320, 240).image
    ok, jpeg = cv2.imencode('.jpg', image[..., ::-1].copy())
    assert ok
    data = jpeg.tobytes()
    latest = [0]
    stop = threading.Event()

    def camera() -> None:
        while not stop.is_set():
            stamp_ns = time.time_ns()
            msg = CompressedImage(format='jpeg', data=data)
            msg.header.stamp = ns_to_stamp(stamp_ns)
            msg.header.frame_id = 'camera_optical'
            image_pub.publish(msg)
            latest[0] = stamp_ns
            stop.wait(0.2)
    frames = threading.Thread(target=camera, daemon=True)
    frames.start()
    while not latest[0]:
        time.sleep(0.01)
    time.sleep(1.0)
    sent = []
    for i in range(args.prompts):
        prompt = SegmentPrompt(prompt_id=f'netns/{i}', labels=[1])
        prompt.points = [Point(x=float(60 + i % 200), y=120.0)]
        if i % 2:
            prompt.header.stamp = ns_to_stamp(latest[0])
        prompt_pub.publish(prompt)
        sent.append(prompt.prompt_id)
        if i >= BURST:
            time.sleep(0.1)
    with cond:
        cond.wait_for(lambda: all(i in answers for i in sent),
                      max(1.0, deadline - time.monotonic()))
    time.sleep(2.0)     # a duplicate would arrive now
    stop.set()
    frames.join(2)
    with cond:
        report = {'sent': sent, 'answers': dict(answers)}
    with open(args.out, 'w', encoding='utf-8') as out:
        json.dump(report, out)
    session.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
