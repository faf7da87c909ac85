"""A run killed without a word (SIGKILL to its runner and its kernel) leaves its record "running":
the next run and the site read it as abandoned, with the changes it made last.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from homeops.runner import processes
from homeops.site import maintenance_log, record_pages
from tests.runbooks.test_lab_stop import processes_where

pytestmark = pytest.mark.slow

OLD = "v1.11.0"
STEP_TIMEOUT = 240


def test_a_killed_run_reads_abandoned_in_the_next_runs_preflight_and_on_the_site(make_drill):
    drill = make_drill({"talos_version": OLD, "reboot_seconds": 60})
    # A short lease, so that a later apply may take it over once it expired.
    argv = drill.run_argv("worker-upgrade", "nodes=worker-1", "wait_timeout=300", apply=True) + ["--lock-seconds", "5"]
    runner = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        found = [json.loads(p.read_text()) for p in drill.records.glob("*-worker-upgrade.ipynb") if p.stat().st_size]
        text = "".join("".join(o.get("text", "")) for r in found for c in r["cells"] for o in c.get("outputs", []))
        if "RUN: talosctl" in text and found[0]["metadata"]["homeops"]["pid"] != runner.pid:
            break
        assert time.monotonic() < deadline and runner.poll() is None, f"the upgrade never started: {text}"
        time.sleep(0.2)
    (killed,) = drill.records.glob("*-worker-upgrade.ipynb")
    kernel = found[0]["metadata"]["homeops"]["pid"]
    assert found[0]["metadata"]["homeops"]["pid_started"], "the record names its writer by pid and start time"
    runner.kill()  # the runner, then its kernel (a session of its own): nobody finishes the record
    runner.communicate()
    os.kill(kernel, signal.SIGKILL)
    for line in processes_where(lambda pgrp, cmd: pgrp == kernel):  # the orphaned talosctl, which SIGKILL leaves
        os.kill(int(line.split(":")[0]), signal.SIGKILL)
    assert json.loads(killed.read_text())["metadata"]["homeops"]["outcome"] == "running"
    # SIGKILL is delivered, not awaited: on a loaded machine the kernel can still be running a moment later.
    gone_by = time.monotonic() + 30
    while processes.alive(kernel) and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert not processes.alive(kernel), "the killed kernel is still running"

    # The site, built now: abandoned, with what it may have left (its last RUN lines).
    shown = maintenance_log.read_record(killed)
    assert shown.outcome == "running" and shown.shown_outcome == "abandoned"
    assert [line.split(" ", 1)[1].split("  # ")[0] for line in shown.last_changes] == [
        "RUN: kubectl cordon worker-1",
        "RUN: kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
        f"RUN: talosctl -n 10.0.10.21 upgrade -i {drill.installer_image('v1.11.1')} --timeout 300s"]
    page = record_pages.header(shown, None)
    assert "Abandoned: the run ended without saying how" in page and "May have left in place" in page
    assert "RUN: kubectl cordon worker-1" in page

    # The next run says so before anything else it finds (here, the node the killed run left cordoned).
    plan = drill.run("worker-upgrade")
    warning = next(line for line in plan.stderr.splitlines() if "an earlier run was abandoned" in line)
    assert f"{killed.name} (worker-upgrade apply, started " in warning
    assert f"its process {kernel} on {os.uname().nodename} is gone" in warning
    assert "RUN: kubectl cordon worker-1" in warning and "check the cluster before going on" in warning
    assert json.loads(killed.read_text())["metadata"]["homeops"]["outcome"] == "running", "a plan writes no record but its own"
    nodes, flags = drill.nodes(), drill.osd_dump()
    assert nodes["worker-1"].unschedulable and "noout" in flags.host_flags["worker-1"]

    # The next apply, once it holds the lock (the dead run's Lease expired), closes the record as what it is.
    time.sleep(5)
    apply = drill.run("worker-upgrade", apply=True)
    assert "an earlier run was abandoned" in apply.stderr
    closed = json.loads(killed.read_text())["metadata"]["homeops"]
    assert closed["outcome"] == "abandoned", closed
    assert closed["reason"].startswith("its process ended without finishing the run (found by ")
    assert closed["left_in_place"].startswith("unknown: check the cluster; its last changes: ")
    assert maintenance_log.read_record(killed).shown_outcome == "abandoned"
    assert "an earlier run was abandoned" not in drill.run("worker-upgrade").stderr, "said once it is closed"
