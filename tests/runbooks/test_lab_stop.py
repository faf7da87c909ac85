"""`homeops lab` stopped while a kernel applies a runbook: the run ends first, then the lab, and
nothing is left running.

The lab is started as an operator starts it (`homeops lab worker-upgrade --twin DIR`), the notebook's
kernel is the one JupyterLab starts for it (a session through the server's API, then driven with
jupyter_client over its connection file), and Run All is sent to it with `apply = True`. While the
first worker reboots (the twin takes a minute), the lab's process group gets the signal a terminal
sends: SIGINT for Ctrl-C (without a terminal, to the whole group), SIGHUP when it closes.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.runbooks.lab_server import running_lab
from tests.runbooks.one_kernel import OneKernel

pytestmark = pytest.mark.slow

OLD, NEW = "v1.11.0", "v1.11.1"
WORKERS = ["worker-1", "worker-2", "worker-3"]
STEP_TIMEOUT = 240  # seconds until the upgrade of the first worker is under way, on a loaded machine
STOP_TIMEOUT = 200  # seconds for the lab to end the run and stop: well within its own bounds (120 + 30 + 20)


def record_of(records: Path) -> dict | None:
    found = sorted(records.glob("*-worker-upgrade.ipynb"))
    try:
        return json.loads(found[-1].read_text()) if found else None
    except ValueError:
        return None


def printed(record: dict) -> str:
    return "".join("".join(o.get("text", "")) + o.get("evalue", "") for c in record["cells"] for o in c.get("outputs", []))


def processes_where(test) -> list[str]:
    """The command lines of the live processes (zombies aside) for which test(pgrp, cmdline) holds."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and test(int(fields[2]), cmdline):
            found.append(f"{stat.parent.name}: {cmdline}")
    return found


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGHUP, signal.SIGTERM], ids=["SIGINT", "SIGHUP", "SIGTERM"])
def test_stopping_the_lab_during_an_apply_ends_the_run_as_interrupted_then_leaves_nothing_running(
        sent, make_drill, tmp_path: Path):
    drill = make_drill({"talos_version": OLD, "reboot_seconds": 60})
    with running_lab(drill.config, "worker-upgrade", drill.twin, drill.records, tmp_path / "jupyter") as lab:
        kernel = OneKernel.attach(lab.copy / "worker-upgrade.ipynb", lab.open_kernel("worker-upgrade.ipynb"))
        kernel.set_parameters(apply=True, wait_timeout=600, poll_interval=0.5)
        kernel.send_all()  # Run All
        deadline = time.monotonic() + STEP_TIMEOUT
        while not ((record := record_of(drill.records)) and "RUN: talosctl" in printed(record)
                   and drill.nodes()["worker-1"].rebooting):
            assert time.monotonic() < deadline, f"the upgrade never started: {record and printed(record)}"
            time.sleep(0.2)
        kernel_pid = record["metadata"]["homeops"]["pid"]
        assert drill.state().leases, "the run holds the maintenance lock"

        os.killpg(lab.process.pid, sent)
        exit_code = lab.process.wait(timeout=STOP_TIMEOUT)
        kernel.client.stop_channels()
        said = lab.log.read_text()

    name = signal.Signals(sent).name
    assert exit_code == 130, said
    assert f"homeops lab stopped by {name}: interrupting 1 running kernel(s) first" in said

    # The run ended before the lab did, and says so: interrupted by the lab, where, and what it left.
    status = record_of(drill.records)["metadata"]["homeops"]
    assert (status["outcome"], status["exit_code"]) == ("interrupted", 130), status
    assert status["reason"].startswith(f"homeops lab stopped by {name}: worker-1: stopped at step 'talosctl upgrade'"), \
        status["reason"]
    assert status["reason"].endswith("left in place: worker-1 cordoned, noout set for host worker-1"), status["reason"]
    (step,) = [c for c in record_of(drill.records)["cells"] if "upgrade_nodes" in "".join(c["source"])]
    assert [o["ename"] for o in step["outputs"] if o["output_type"] == "error"] == ["RunbookStopped"]
    assert drill.state().leases == {}, "the lock was released"

    # What it left is what it named: worker-1 out of service (cordoned, noout), the others untouched.
    nodes, flags = drill.nodes(), drill.osd_dump()
    assert nodes["worker-1"].unschedulable and "noout" in flags.host_flags.get("worker-1", ())
    for worker in WORKERS[1:]:
        assert (nodes[worker].talos_version, nodes[worker].unschedulable) == (OLD, False)
        assert worker not in flags.host_flags

    # Nothing of the lab is left: its process group, the kernel (a session of its own), its tools.
    assert processes_where(lambda pgrp, cmd: pgrp == lab.process.pid) == []
    assert processes_where(lambda pgrp, cmd: pgrp == kernel_pid or str(drill.twin) in cmd) == []


def test_stopping_the_lab_between_two_cells_of_an_open_run_ends_it_on_the_kernels_way_out(make_drill, tmp_path: Path):
    drill = make_drill({"talos_version": OLD, "reboot_seconds": 0.3})
    with running_lab(drill.config, "worker-upgrade", drill.twin, drill.records, tmp_path / "jupyter") as lab:
        kernel = OneKernel.attach(lab.copy / "worker-upgrade.ipynb", lab.open_kernel("worker-upgrade.ipynb"))
        kernel.set_parameters(apply=True)
        for source in kernel.cells()[:2]:  # the parameters, then Step 1 (the lock taken); the operator stops there
            assert kernel.run_cell(source).error is None
        assert drill.state().leases and record_of(drill.records)["metadata"]["homeops"]["outcome"] == "running"
        before = drill.snapshot()

        os.killpg(lab.process.pid, signal.SIGINT)
        exit_code = lab.process.wait(timeout=STOP_TIMEOUT)
        kernel.client.stop_channels()
        said = lab.log.read_text()

    assert exit_code == 130, said
    assert "interrupting" not in said  # no kernel was busy
    status = record_of(drill.records)["metadata"]["homeops"]
    assert (status["outcome"], status["exit_code"]) == ("interrupted", 130), status
    assert status["reason"] == "homeops lab stopped by SIGINT at the kernel's exit, between two cells"
    assert drill.state().leases == {}
    assert drill.snapshot() == before
    assert processes_where(lambda pgrp, cmd: pgrp == lab.process.pid or str(drill.twin) in cmd) == []
