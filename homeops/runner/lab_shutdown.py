"""Stopping the JupyterLab of `homeops lab` without leaving a run, a lock or a process behind.

A kernel busy with a runbook holds the maintenance lock and may be halfway through a node. Killed
with the server (its kernels end themselves with `os._exit` once their parent is gone), it would
leave its record "running", the Lease held until it expires, and its talosctl orphaned. So the lab
stops in this order, whatever asked it to (Ctrl-C, SIGTERM, the terminal closing):

1. It says why in the stop file (`STOP_FILE_ENV`), which a kernel's guard reads to name the interrupt.
2. Each busy kernel is interrupted through the server's API (Kernel > Interrupt): the running cell
   stops naming what it left in place, the run ends "interrupted", its lock released, its record
   written. The lab waits for every kernel to be idle again, up to RUNS_END_SECONDS.
3. JupyterLab shuts itself down (`POST /api/shutdown`: its kernels are asked to shut down, and a
   run still open between two cells is ended by its guard on the kernel's way out).
4. What is still alive after SHUTDOWN_SECONDS (the server's process group, each kernel's own
   session, with whatever tool it started) is sent SIGTERM, then SIGKILL.

A second signal while waiting for the runs to end cuts the wait short and goes on to step 3.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from homeops.runner.processes import children_of, group_alive

STOP_FILE_ENV = "HOMEOPS_LAB_STOP_FILE"  # the file a kernel's guard reads to name why it was interrupted
RUNS_END_SECONDS = 120.0  # for interrupted runs to end: a tool killed, the lock released, the record written
SHUTDOWN_SECONDS = 30.0  # for JupyterLab to shut its kernels down (5 s each by default) and exit
TERMINATE_SECONDS = 10.0  # after SIGTERM, before SIGKILL
REQUEST_SECONDS = 5.0
POLL_SECONDS = 0.2


def stop_reason(environ=os.environ) -> str | None:
    """Inside a kernel: why its lab is stopping ("homeops lab stopped by SIGINT"), or None."""
    path = environ.get(STOP_FILE_ENV)
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class LabServer:
    """The JupyterLab process `homeops lab` started, and how to reach its API."""

    def __init__(self, process, base_url: str, token: str, stop_file: Path, say: Callable[[str], None]):
        self.process = process
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.stop_file = stop_file
        self.say = say

    def _request(self, path: str, method: str = "GET", timeout: float = REQUEST_SECONDS):
        request = urllib.request.Request(f"{self.base_url}/{path}", method=method, data=b"" if method == "POST" else None,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def kernels(self) -> list[dict]:
        try:
            found = self._request("api/kernels")
        except (OSError, ValueError):  # not answering (yet, or any more)
            return []
        return found if isinstance(found, list) else []

    def stop(self, why: str, stopping_early: Callable[[], bool]) -> None:
        """Stop JupyterLab as the module says; `stopping_early()` turns true on a second signal."""
        try:
            self.stop_file.write_text(why + "\n", encoding="utf-8")
        except OSError:
            pass
        kernel_pids = children_of(self.process.pid)
        busy = [k for k in self.kernels() if k.get("execution_state") == "busy"]
        if busy:
            self.say(f"{why}: interrupting {len(busy)} running kernel(s) first, so that their runs end "
                     "(lock released, record written, what was left in place named)")
            for kernel in busy:
                try:
                    self._request(f"api/kernels/{kernel['id']}/interrupt", method="POST")
                except (OSError, ValueError):
                    pass
            deadline = time.monotonic() + RUNS_END_SECONDS
            while time.monotonic() < deadline and not stopping_early() and self.process.poll() is None:
                if not any(k.get("execution_state") == "busy" for k in self.kernels()):
                    break
                time.sleep(POLL_SECONDS)
            else:
                if self.process.poll() is None:
                    self.say("the runs did not end in time; shutting JupyterLab down anyway")
        self.say("shutting JupyterLab down")
        try:
            # The server answers once its kernels are shut down, or drops the connection as it stops.
            self._request("api/shutdown", method="POST", timeout=SHUTDOWN_SECONDS)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):  # not listening (yet): its own SIGTERM stop
                _signal_group(self.process.pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        if not _exited(self.process, SHUTDOWN_SECONDS):
            self.say(f"JupyterLab did not stop within {SHUTDOWN_SECONDS:g}s: ending it")
        # What is left of its process group, and of each kernel's own session with the tools it
        # started, is ended too: nothing of the lab outlives the command.
        _end_groups([self.process.pid, *kernel_pids])
        self.process.wait()


def _end_groups(leaders: list[int]) -> None:
    """SIGTERM, then SIGKILL, to each process group still alive (a kernel's, with the tools it started)."""
    for number in (signal.SIGTERM, signal.SIGKILL):
        left = [pid for pid in leaders if group_alive(pid)]
        for pid in left:
            _signal_group(pid, number)
        deadline = time.monotonic() + TERMINATE_SECONDS
        while left and any(group_alive(pid) for pid in left) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)


def _exited(process, seconds: float) -> bool:
    try:
        process.wait(timeout=seconds)
        return True
    except Exception:  # noqa: BLE001  subprocess.TimeoutExpired
        return False


def _signal_group(pid: int, number: int) -> None:
    if not group_alive(pid):  # the group is gone: its number may belong to another process by now
        return
    try:
        os.killpg(pid, number)
    except (ProcessLookupError, PermissionError):
        pass
