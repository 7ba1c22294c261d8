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


"""Middleware event callbacks of the node's subscriptions, named by their resolved topics."""

from rclpy.event_handler import qos_policy_name_from_kind, SubscriptionEventCallbacks
from rclpy.node import Node

__all__ = ['subscription_events']

_THROTTLE_S = 5.0


def subscription_events(node: Node, topic: str, fix: str) -> SubscriptionEventCallbacks:
    """
    Return event callbacks for a subscription to ``topic`` (as given to rclpy).

    rclpy's default incompatible-QoS warning names the topic as the code spells it
    (``'image'``), not as remapped (``/camera/image``); this one names the resolved
    topic, the policy that does not match, and ``fix`` (what to set).
    """
    resolved = node.resolve_topic_name(topic)
    logger = node.get_logger()

    def incompatible(event) -> None:
        policy = qos_policy_name_from_kind(event.last_policy_kind)
        logger.warning(
            f'a publisher on {resolved} offers an incompatible QoS ({policy}): no message '
            f'from it is received; {fix}', throttle_duration_sec=_THROTTLE_S)

    return SubscriptionEventCallbacks(incompatible_qos=incompatible)
