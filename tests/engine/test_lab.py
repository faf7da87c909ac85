"""`homeops lab`: JupyterLab on 127.0.0.1 over a working copy; the committed runbooks stay as they are."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from engine_support import COMMAND_TIMEOUT, SpiedTwin, homeops_argv

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LAB_STOP_SECONDS = 30


def test_lab_serves_a_working_copy_on_localhost_and_saving_it_leaves_runbooks_untouched(
        cluster: SpiedTwin, cluster_file: Path, tmp_path: Path):
    committed = (ROOT / "runbooks" / "worker-upgrade.ipynb").read_bytes()
    process = subprocess.Popen(homeops_argv(cluster_file, "lab", "worker-upgrade", "--twin", str(cluster.directory),
                                            "--runbooks", str(ROOT / "runbooks"), "--records", "records"),
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        copy = Path(process.stdout.readline().split("working copy: ")[1].split(" (")[0])
        url = process.stdout.readline().split("JupyterLab: ")[1].strip()
        assert url.startswith("http://127.0.0.1:")
        base, token = url.split("/lab/")[0], url.split("token=")[1]
        assert copy.parent == (tmp_path / "records").resolve() and copy.stat().st_mode & 0o777 == 0o700

        def api(path: str, data: dict | None = None) -> dict:
            request = urllib.request.Request(f"{base}/api/{path}", method="PUT" if data else "GET",
                                             data=json.dumps(data).encode() if data else None,
                                             headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.loads(answer.read())

        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            try:
                notebook = api("contents/worker-upgrade.ipynb")
                break
            except OSError:
                assert process.poll() is None, f"homeops lab exited {process.returncode} before JupyterLab answered"
                assert time.monotonic() < deadline, f"JupyterLab did not answer within {COMMAND_TIMEOUT}s"
                time.sleep(0.2)
        # What Jupyter's autosave does after a session changed the parameters:
        cells = notebook["content"]["cells"]
        parameters = next(c for c in cells if "parameters" in c["metadata"].get("tags", []))
        parameters["source"] = parameters["source"].replace("apply: bool = False", "apply: bool = True")
        api("contents/worker-upgrade.ipynb", {"type": "notebook", "format": "json", "content": notebook["content"]})
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            process.wait(timeout=LAB_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        # Whatever of its group is left (a JupyterLab it failed to stop) must not hold the pipes open.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=COMMAND_TIMEOUT)
    assert "apply: bool = True" in (copy / "worker-upgrade.ipynb").read_text()
    assert (ROOT / "runbooks" / "worker-upgrade.ipynb").read_bytes() == committed



def test_ctrl_c_while_jupyterlab_starts_stops_it_too(cluster: SpiedTwin, cluster_file: Path, tmp_path: Path):
    """The lab once exited on an early Ctrl-C with its JupyterLab still running: a signal no longer
    lands where the child escapes (it is only noted), and JupyterLab, in a session of its own, is
    stopped by the lab itself, answering or not."""
    process = subprocess.Popen(homeops_argv(cluster_file, "lab", "worker-upgrade", "--twin", str(cluster.directory),
                                            "--runbooks", str(ROOT / "runbooks"), "--records", "records"),
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        copy = process.stdout.readline().split("working copy: ")[1].split(" (")[0]
        process.stdout.readline()  # the address: JupyterLab is being started now
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, to the whole group as a terminal sends it
        assert process.wait(timeout=LAB_STOP_SECONDS + 30) == 130
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=COMMAND_TIMEOUT)
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if copy.encode() in cmdline.read_bytes():
                left.append(cmdline.parent.name)
    assert left == [], "JupyterLab (serving the copy) outlived the lab"
