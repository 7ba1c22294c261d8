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
Entry point of the sam_ros node: ``ros2 run sam_ros sam_node`` or ``python -m sam_ros.node.main``.

Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 2 for a bad parameter, 1 when
the model cannot be loaded (missing or corrupt checkpoint, unusable device). Either
failure is reported in one line.

Shutdown is prompt: on SIGINT/SIGTERM the node stops taking prompts, logs the queued
ones it abandons, gives the prompt in flight a moment, and exits within about a second
even when an encode or decode still runs (the process then ends with ``os._exit``, as
no thread can interrupt torch).
"""

import os
import sys
from typing import List, Optional

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
import rclpy.logging

from sam_ros.core.errors import SamError
from sam_ros.node.config import ConfigError
from sam_ros.node.help import help_text, wants_help

__all__ = ['main']

EXIT_OK = 0
EXIT_MODEL = 1
EXIT_CONFIG = 2
# frames, prompt intake, the service (its callback waits for its turn), diagnostics,
# and one spare so that no group ever waits for a thread.
_EXECUTOR_THREADS = 5
_STOP_EXECUTOR_S = 0.5
_STOP_WORK_S = 0.5


def _one_line(exc: BaseException) -> str:
    return ' '.join(str(exc).split())


def _check_fastdds_profile(logger) -> None:
    """Warn when FASTDDS_DEFAULT_PROFILES_FILE names no file (Fast DDS then uses defaults)."""
    path = os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE', '')
    if path and not os.path.isfile(path):
        logger.warning(
            f'FASTDDS_DEFAULT_PROFILES_FILE={path} is not a file: Fast DDS runs with its '
            'default 512 KB shared-memory segments, so results larger than that (three '
            '640x480 masks are 0.9 MB) travel as fragmented UDP. Fix the path (launch '
            'argument fastdds_profile) or unset the variable.')


def main(args: Optional[List[str]] = None, lifecycle: bool = False) -> int:
    """
    Run the node until shutdown; return the process exit code.

    ``lifecycle``: run ``SamLifecycleNode`` (sam_lifecycle_node), which starts
    unconfigured; its configure transition reports a bad parameter or checkpoint and
    fails, and the process stays up.
    """
    if wants_help(sys.argv if args is None else args):   # sam_node --help
        print(help_text(), end='')
        return EXIT_OK
    rclpy.init(args=args)
    logger = rclpy.logging.get_logger('sam_node')
    _check_fastdds_profile(logger)
    node = None
    try:
        # Imported here so that a broken install is reported like any other start failure.
        if lifecycle:
            from sam_ros.node.lifecycle import SamLifecycleNode as node_class
        else:
            from sam_ros.node.sam_node import SamNode as node_class
        try:
            node = node_class()
        except ConfigError as exc:
            logger.fatal(f'bad configuration: {_one_line(exc)}')
            return EXIT_CONFIG
        except SamError as exc:
            logger.fatal(f'cannot load the model: {_one_line(exc)}')
            return EXIT_MODEL
        except RuntimeError as exc:
            if rclpy.ok() and 'QoS override' in str(exc):  # rclpy: a qos_overrides.* value
                logger.fatal(f'bad configuration: {_one_line(exc)} (check the '
                             'qos_overrides.* parameters)')
                return EXIT_CONFIG
            if not rclpy.ok():
                return EXIT_OK  # interrupted while starting
            raise
        except Exception:
            if not rclpy.ok():
                return EXIT_OK  # interrupted while starting
            raise
        executor = MultiThreadedExecutor(num_threads=_EXECUTOR_THREADS)
        executor.add_node(node)
        try:
            executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except Exception:
            # SIGINT shuts the context down from the signal handler; an executor thread
            # that is just building its wait set then raises RCLError ("the given context
            # is not valid"). That is a normal shutdown, not a crash.
            if rclpy.ok():
                raise
        finally:
            # Queued prompts are abandoned first: that also releases service callbacks
            # waiting for their turn, so the executor's threads can end.
            node.stop_work()
            executor.shutdown(timeout_sec=_STOP_EXECUTOR_S)
        return EXIT_OK
    finally:
        finished = True
        if node is not None:
            finished = node.work_finished(_STOP_WORK_S)
            node.destroy_node()
            finished = finished and node.encoder_stopped
        rclpy.try_shutdown()
        if not finished:
            _exit_now(logger, EXIT_OK if sys.exc_info()[0] is None else EXIT_MODEL)


def _exit_now(logger, code: int) -> None:
    """End the process at once: a decode or encode still runs and cannot be stopped."""
    logger.warning('exiting with work still in flight (it is abandoned)')
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == '__main__':
    sys.exit(main())
