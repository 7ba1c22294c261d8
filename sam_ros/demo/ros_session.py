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
The ROS client/process toolkit shared by the demo, the node benchmarks and the node tests.

``node_command()`` is the installed node executable. ``NodeProcess`` runs it (or any
command) as a child process with its output in a log file, optionally echoed with a
``[node]`` prefix, and stops it with SIGINT, then SIGKILL. ``RosSession`` is this
process's side: its own rclpy context, an executor spinning in a background thread,
and a ``close()`` that ends them in the one order that prints no "exception was never
retrieved" line (stop the executor, join its thread, only then destroy the nodes and
shut the context down).
"""

import ctypes
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
from typing import Dict, IO, List, Optional

import rclpy
from rclpy.executors import Executor, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

__all__ = ['NodeProcess', 'RosSession', 'node_command']

STOP_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1


def node_command(executable: str = 'sam_node') -> List[str]:
    """Return an installed node executable (lib/sam_ros/sam_node), run by this Python."""
    try:
        from ament_index_python.packages import get_package_prefix
        script = Path(get_package_prefix('sam_ros')) / 'lib' / 'sam_ros' / executable
        if script.is_file():
            return [sys.executable, str(script)]
    except (ImportError, LookupError, ValueError):
        pass
    if executable != 'sam_node':
        return [sys.executable, str(Path(__file__).parents[2] / 'scripts' / executable)]
    return [sys.executable, '-P', '-m', 'sam_ros.node.main']


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this (child) process when its parent dies."""
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass    # not Linux: the node outlives a killed parent; Ctrl-C still stops both


class NodeProcess:
    """A child process (the sam node) whose output goes to a log file."""

    def __init__(self, command: List[str], log_path: Path, echo: bool = False,
                 env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None) -> None:
        """
        Start ``command`` with ``env`` added to this environment; log to ``log_path``.

        ``echo``: also print each line with a ``[node]`` prefix. The child runs in its own
        session (a terminal's Ctrl-C reaches only this process, which then stops the
        child with one SIGINT) and gets SIGTERM if this process dies.
        """
        full_env = dict(os.environ, PYTHONUNBUFFERED='1')
        full_env.update(env or {})
        self.command = command
        self.log_path = Path(log_path)
        self._echo = echo
        self._reader: Optional[threading.Thread] = None
        if echo:
            self._log: IO = open(self.log_path, 'w', encoding='utf-8')
            self.proc = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env,
                cwd=cwd, text=True, errors='replace', bufsize=1, start_new_session=True,
                preexec_fn=_die_with_parent)
            self._reader = threading.Thread(target=self._copy, name='node-output', daemon=True)
            self._reader.start()
        else:
            self._log = open(self.log_path, 'wb')
            self.proc = subprocess.Popen(
                command, stdout=self._log, stderr=subprocess.STDOUT, env=full_env, cwd=cwd,
                start_new_session=True, preexec_fn=_die_with_parent)

    def _copy(self) -> None:
        for line in self.proc.stdout:
            self._log.write(line)
            self._log.flush()
            print('[node] ' + line.rstrip('\n'), flush=True)

    @property
    def pid(self) -> int:
        """Return the process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """Return True while the process runs."""
        return self.proc.poll() is None

    def output(self) -> str:
        """Return everything the process printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding='utf-8', errors='replace')

    def wait(self, timeout: float) -> int:
        """Wait for the process to end and return its exit code."""
        return self.proc.wait(timeout=timeout)

    def interrupt(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """Send SIGINT (Ctrl-C) and return the exit code (TimeoutExpired if it hangs)."""
        self.proc.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> Optional[int]:
        """Stop the process (SIGINT, SIGKILL after ``timeout`` s); return its exit code."""
        if self.alive():
            try:
                self.interrupt(timeout)
            except subprocess.TimeoutExpired:
                print(f'[node] did not stop within {timeout:.0f} s of SIGINT; killing it',
                      file=sys.stderr, flush=True)
                self.proc.kill()
                self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)
        self._log.close()
        return self.proc.returncode

    def close(self) -> None:
        """Stop the process if it still runs; keep the log."""
        self.stop()


class RosSession:
    """This process's ROS side: a context of its own and an executor in a thread."""

    def __init__(self, domain_id: Optional[int] = None, threads: int = 1) -> None:
        """
        Initialise a new context (no signal handlers: the caller owns Ctrl-C).

        ``threads``: 1 for a SingleThreadedExecutor (the leanest client), more for a
        MultiThreadedExecutor.
        """
        self.context = rclpy.Context()
        kwargs = {} if domain_id is None else {'domain_id': domain_id}
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO,
                   **kwargs)
        self.executor: Executor = (
            SingleThreadedExecutor(context=self.context) if threads <= 1
            else MultiThreadedExecutor(num_threads=threads, context=self.context))
        self._nodes: List[Node] = []
        self._thread: Optional[threading.Thread] = None

    def add(self, node: Node, spin: bool = True) -> Node:
        """Own ``node`` (destroyed by ``close``); spin it unless ``spin`` is False."""
        self._nodes.append(node)
        if spin:
            self.executor.add_node(node)
        return node

    def start(self) -> None:
        """Spin the executor in a background thread."""
        self._thread = threading.Thread(target=self._spin, name='ros-session', daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # noqa: B902 - the executor or context was shut down by close()
            pass

    def close(self) -> None:
        """Stop spinning, then destroy the nodes, then shut the context down."""
        self.executor.shutdown()
        if self._thread is not None:
            self._thread.join(5)
        for node in self._nodes:
            node.destroy_node()
        self._nodes = []
        rclpy.try_shutdown(context=self.context)
