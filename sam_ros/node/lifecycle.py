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
The sam_ros node as a lifecycle (managed) node: ``ros2 run sam_ros sam_lifecycle_node``.

The same implementation as ``SamNode`` (``SamNodeBase``), run as transitions:

- configure: read the parameters, load the model, warm it up (a bad parameter or
  checkpoint fails the transition with one line; the node stays unconfigured);
- activate: create the subscriptions, publishers, services and the /diagnostics timer,
  start the frame store;
- deactivate: stop taking frames and prompts (queued prompts are abandoned with a log
  line, as at shutdown), destroy those entities, free the embedding cache;
- cleanup: release the model;
- shutdown and errors: undo whatever was done, from any state.
"""

from typing import Any

from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from sam_ros.core.errors import SamError
from sam_ros.node.config import ConfigError
from sam_ros.node.sam_node import SamNodeBase

__all__ = ['SamLifecycleNode']


def _one_line(exc: BaseException) -> str:
    return ' '.join(str(exc).split())


class SamLifecycleNode(SamNodeBase, LifecycleNode):
    """Segment Anything as a managed node; see docs/node.md for the states."""

    def __init__(self, node_name: str = 'sam', **kwargs: Any) -> None:
        """Declare the parameters; the node starts unconfigured."""
        super().__init__(node_name, **kwargs)
        self.init_sam()
        self.get_logger().info('unconfigured: waiting for the configure transition')

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Read the parameters, load and warm up the model."""
        try:
            self.configure_sam()
        except ConfigError as exc:
            self.get_logger().error(f'configure failed: bad configuration: {_one_line(exc)}')
            return TransitionCallbackReturn.FAILURE
        except SamError as exc:
            self.get_logger().error(f'configure failed: cannot load the model: '
                                    f'{_one_line(exc)}')
            self._predictor = None
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info('configured (inactive)')
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Create the interface and start the frame store."""
        self.activate_sam()
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Stop taking frames and prompts; free the embedding cache."""
        self.deactivate_sam()
        self.get_logger().info('deactivated (inactive): no topics, the model stays loaded')
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Release the model."""
        self.cleanup_sam()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Undo what the earlier transitions did (from any primary state)."""
        self._tear_down()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: State) -> TransitionCallbackReturn:
        """Tear down after a transition raised; the node goes back to unconfigured."""
        self.get_logger().error(f'a transition from {state.label} raised; tearing down')
        try:
            self._tear_down()
        except Exception as exc:  # noqa: B902 - then the node goes to finalized
            self.get_logger().error(f'tear-down failed: {type(exc).__name__}: {exc}')
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def _tear_down(self) -> None:
        if self.sam_active:
            self.deactivate_sam(timeout=0.5)
        if self._predictor is not None:
            self.cleanup_sam()
