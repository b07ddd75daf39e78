"""Server processes a harness started: tracked, stopped with their whole group, never outliving
the run.

The compatibility and consumer harnesses start real servers (gunicorn forks workers) in their own
session; a test that fails, or a pytest that is interrupted, must not leave one listening.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from typing import Any, List


class Processes:
    """The server processes one harness started and has not stopped yet."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        """Seconds a process gets after SIGTERM (and again after SIGKILL)."""
        self._running: List[subprocess.Popen[Any]] = []
        self._lock = threading.Lock()
        # Whatever way the run ends (an interrupted pytest included), no server outlives it.
        atexit.register(self.stop_all)

    def add(self, proc: subprocess.Popen[Any]) -> None:
        """Track ``proc``, started with ``start_new_session=True`` (its own process group)."""
        with self._lock:
            self._running.append(proc)

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers: forked workers go too."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(self.timeout)
        # The leader may be gone while a worker it forked lingers in the group: kill the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(self.timeout)
        with self._lock:
            if proc in self._running:
                self._running.remove(proc)

    def stop_all(self) -> None:
        """Stop every process still tracked."""
        with self._lock:
            procs = list(self._running)
        for proc in procs:
            self.stop(proc)
