"""`homeops lab` as an operator starts it, run by a test: on 127.0.0.1, over a twin, always stopped.

The lab runs in its own process group (JupyterLab, its kernels' launcher), and leaving the `with`
block stops that whole group, whatever the test did. JupyterLab's own per-user state (settings,
workspaces, runtime files) goes to the test's directory: a workspace saved by another lab would
otherwise reopen its notebooks here, and nothing is written to the home directory.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180  # seconds until the lab answers: a JupyterLab start on a loaded 2-core machine
STOP_TIMEOUT = 30  # seconds for JupyterLab to shut its kernels down after SIGTERM
REQUEST_TIMEOUT = 10  # seconds for one request to the lab's REST API


@dataclass
class Lab:
    url: str  # the address `homeops lab` printed: the notebook's page, with the token
    copy: Path  # the working copy it serves
    log: Path  # JupyterLab's own log (its stderr)
    process: subprocess.Popen | None = None  # `homeops lab` itself, in a process group of its own
    runtime: Path | None = None  # JupyterLab's runtime directory: its kernels' connection files

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def token(self) -> str:
        return self.url.split("token=", 1)[1]

    def get(self, path: str) -> dict:
        """GET one of the server's JSON resources (`api/status`, `lab/api/settings/...`)."""
        return self.call(path)

    def call(self, path: str, data: dict | None = None) -> dict:
        """GET a JSON resource, or POST `data` to one (`api/sessions`)."""
        request = urllib.request.Request(f"{self.base}/{path}", method="POST" if data is not None else "GET",
                                         data=json.dumps(data).encode() if data is not None else None,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:
            return json.loads(answer.read())

    def open_kernel(self, notebook: str) -> Path:
        """A session for `notebook` with its kernel, as opening it in the page starts one: its connection file."""
        session = self.call("api/sessions", {"path": notebook, "type": "notebook", "name": notebook,
                                             "kernel": {"name": "python3"}})
        return self.runtime / f"kernel-{session['kernel']['id']}.json"


@contextmanager
def running_lab(config: Path, name: str, twin: Path, records: Path, state: Path) -> Iterator[Lab]:
    """`homeops --config CONFIG lab NAME --twin TWIN --records RECORDS`, answering, until the block ends."""
    state.mkdir(parents=True, exist_ok=True)
    env = {**os.environ,
           "JUPYTERLAB_SETTINGS_DIR": str(state / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(state / "runtime")}
    log = state / "jupyterlab.log"
    argv = [sys.executable, "-m", "homeops", "--config", str(config), "lab", name, "--twin", str(twin),
            "--runbooks", str(ROOT / "runbooks"), "--records", str(records)]
    with log.open("w") as log_file:
        process = subprocess.Popen(argv, cwd=config.parent, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=log_file, text=True, start_new_session=True)
    lines, reader = _lines_of(process.stdout)
    try:
        copy = Path(_next_line(lines, process, log).split("working copy: ", 1)[1].split(" (", 1)[0])
        lab = Lab(_next_line(lines, process, log).split("JupyterLab: ", 1)[1].strip(), copy, log, process,
                  state / "runtime")
        _wait_until_answering(lab, process)
        yield lab
    finally:
        _stop(process)
        # The kernels, in sessions of their own, hold the same stdout: its end means they are gone too.
        reader.join(timeout=STOP_TIMEOUT)
        process.stdout.close()


def _lines_of(stream) -> tuple[queue.Queue, threading.Thread]:
    """The stream's lines as they come, from a reader thread: a read that waits for them can time out."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _next_line(lines: queue.Queue, process: subprocess.Popen, log: Path) -> str:
    try:
        line = lines.get(timeout=START_TIMEOUT)
    except queue.Empty:
        raise AssertionError(f"homeops lab printed nothing in {START_TIMEOUT}s:\n{log.read_text()}") from None
    assert line is not None, f"homeops lab exited {process.wait(timeout=STOP_TIMEOUT)}:\n{log.read_text()}"
    return line


def _wait_until_answering(lab: Lab, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            lab.get("api/status")
            return
        except OSError:  # not listening yet (URLError), or cut off while starting
            assert process.poll() is None, f"homeops lab exited {process.returncode}:\n{lab.log.read_text()}"
            assert time.monotonic() < deadline, f"the lab did not answer in {START_TIMEOUT}s:\n{lab.log.read_text()}"
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the lab's process group, then SIGKILL to what is left of it.

    `homeops lab` dies at once on SIGTERM; JupyterLab, in the same group, takes a moment to shut
    its kernels down (they run in sessions of their own and end with it): wait for the group.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + STOP_TIMEOUT
        while _group_alive(process) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _group_alive(process):
            break


def _group_alive(process: subprocess.Popen) -> bool:
    """Whether any process of the lab's group still runs (zombies waiting for their parent do not count)."""
    process.poll()  # reaps `homeops lab` itself once it has exited
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == process.pid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return True
    return False
