"""Where a run begins and ends, in process: which cells of a long-lived kernel belong to a run, when
its last cell has run, and when a record left "running" was abandoned by a process now gone.

The end-to-end behaviour (JupyterLab's kernel, several Run Alls, a lab stopped mid-apply, a killed
run) is in tests/runbooks/test_run_all_again.py, test_lab_stop.py and test_abandoned_runs.py; these
are the rules those rest on, called directly (and so seen by the mutation run).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from homeops.runner import processes
from homeops.runner.records import (RunStatus, abandoned_runs, judged_outcome, last_changes, mark_abandoned,
                                    write_record)
from homeops.runner.run_cells import declared_parameters, own_cells
from homeops.runner.transcript import Transcript

PARAMETERS = 'config: str = "cluster.yaml"  # c\napply: bool = False  # a\nnodes: str = ""  # n\n'
OPEN = "session = open_session(config, runbook='r', apply=apply)"
STEP = "upgrade(session)"
LAST = "print(summary)"
TEMPLATE = {"cells": [
    {"cell_type": "markdown", "metadata": {}, "source": "# R\n\nWhat it does."},
    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": PARAMETERS, "outputs": [],
     "execution_count": None},
    {"cell_type": "markdown", "metadata": {}, "source": "## Step 1: Open"},
    {"cell_type": "code", "metadata": {}, "source": OPEN, "outputs": [], "execution_count": None},
    {"cell_type": "markdown", "metadata": {}, "source": "## Step 2: Upgrade"},
    {"cell_type": "code", "metadata": {}, "source": STEP, "outputs": [], "execution_count": None},
    {"cell_type": "code", "metadata": {}, "source": LAST, "outputs": [], "execution_count": None},
], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
EDITED = PARAMETERS.replace("apply: bool = False", "apply: bool = True")
INJECTED = "# Parameters\nconfig = '/x/cluster.yaml'\napply = True\nnodes = 'a'\n"


def test_a_parameters_cell_is_one_that_declares_names_with_types_not_papermills_injected_one():
    assert declared_parameters(PARAMETERS) == {"config", "apply", "nodes"}
    assert declared_parameters(EDITED) == {"config", "apply", "nodes"}
    assert declared_parameters(INJECTED) == frozenset()
    assert declared_parameters("x: int\ny: int = 2") == {"y"}  # a bare annotation declares no value
    assert declared_parameters("a.b: int = 1") == frozenset()
    assert declared_parameters("def broken(:") == frozenset()
    assert Transcript(TEMPLATE).parameter_names == {"config", "apply", "nodes"}
    assert Transcript(None).parameter_names == frozenset()


def test_a_run_owns_the_cells_from_its_last_parameters_cell_to_the_one_opening_it():
    names = frozenset({"config", "apply", "nodes"})
    # The first run in a kernel: everything since it started.
    assert own_cells([PARAMETERS, OPEN], names) == [PARAMETERS, OPEN]
    # papermill: the parameters, its injected cell, then the session.
    assert own_cells([PARAMETERS, INJECTED, OPEN], names) == [PARAMETERS, INJECTED, OPEN]
    # Cells typed between two runs, then Run All with new values: from the parameters on.
    assert own_cells(["print(1)", EDITED, OPEN], names) == [EDITED, OPEN]
    # Two Run Alls whose first ended early (before the run could mark its end): the later one.
    assert own_cells([PARAMETERS, OPEN, STEP, EDITED, OPEN], names) == [EDITED, OPEN]
    # The cell opening the run is never taken for its parameters, even when it declares the same names.
    assert own_cells([PARAMETERS], names) == [PARAMETERS]
    assert own_cells(["x = 1", OPEN], names) == ["x = 1", OPEN]
    assert own_cells(["x = 1", OPEN], frozenset()) == ["x = 1", OPEN]
    assert own_cells(["x = 1", PARAMETERS], names) == ["x = 1", PARAMETERS], "the cell being run is not looked at"
    # Every earlier cell is looked at, the nearest first.
    assert own_cells(["x = 1", PARAMETERS, "y = 2", OPEN], names) == [PARAMETERS, "y = 2", OPEN]
    assert own_cells([PARAMETERS, "a", EDITED, "b", OPEN], names) == [EDITED, "b", OPEN]


def test_the_operators_edited_parameters_fill_the_parameters_cell_and_the_run_ends_at_its_last_cell():
    transcript = Transcript(TEMPLATE)
    for source in (EDITED, OPEN, STEP):
        cell = transcript.cell_started(source)
        assert not transcript.is_last_code_cell(cell)
    last = transcript.cell_started(LAST)
    assert transcript.is_last_code_cell(last)
    cells = transcript.notebook()["cells"]
    assert len(cells) == len(TEMPLATE["cells"]), "nothing inserted: every cell ran in its own place"
    assert cells[1]["source"] == EDITED and cells[1]["execution_count"] == 1
    assert [c["execution_count"] for c in cells if c["cell_type"] == "code"] == [1, 2, 3, 4]


def test_parameters_that_are_not_the_runbooks_are_a_cell_of_their_own():
    transcript = Transcript(TEMPLATE)
    transcript.cell_started('config: str = "x"')  # other names: not the parameters cell edited
    transcript.cell_started(EDITED)
    cells = transcript.notebook()["cells"]
    assert cells[0]["source"] == 'config: str = "x"' and cells[0]["execution_count"] == 1  # where it ran
    assert cells[2]["source"] == EDITED and cells[2]["execution_count"] == 2
    # A parameters cell already run is not run into again: a second one is inserted.
    again = Transcript(TEMPLATE)
    again.cell_started(PARAMETERS)
    again.cell_started(OPEN)
    inserted = again.cell_started(EDITED)
    assert inserted is not again.cells[1] and again.cells[1]["source"] == PARAMETERS
    # Only the next code cell may be the parameters cell: one after the session is not.
    late = Transcript(TEMPLATE)
    late.cell_started(OPEN)
    late.cell_started(EDITED)
    assert late.cells[1]["execution_count"] is None


def test_a_process_is_named_by_its_pid_and_start_time():
    here = processes.started(os.getpid())
    assert here is not None and here == processes.started(os.getpid())
    moment = datetime.fromisoformat(here)
    booted = datetime.fromtimestamp(processes._boot_time(), timezone.utc)
    assert booted <= moment <= datetime.now(timezone.utc), (booted, moment)
    assert processes.alive(os.getpid()) and processes.alive(os.getpid(), here)
    # The same pid with another start time is another process (the number was given again).
    later = (moment + timedelta(seconds=processes.SAME_START_SECONDS + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    near = (moment + timedelta(seconds=processes.SAME_START_SECONDS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not processes.alive(os.getpid(), later)
    assert processes.alive(os.getpid(), near), "the boot time /proc gives may move by a second"
    assert processes.alive(os.getpid(), "not a time")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not processes.alive(dead.pid) and processes.started(dead.pid) is None
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for_zombie(zombie)
    assert not processes.alive(zombie.pid), "a zombie runs nothing"
    zombie.wait()


def wait_for_zombie(child: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while (processes._stat(child.pid) or ["Z"])[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_process_named_with_a_parenthesis_is_read_right(tmp_path: Path):
    """/proc/PID/stat puts the command name in parentheses, and a name may hold one itself."""
    odd = tmp_path / "x) y"
    odd.symlink_to(sys.executable)
    child = subprocess.Popen([str(odd), "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(1.5)
        assert processes._stat(child.pid)[0] in "RSD" and child.pid in processes.children_of(os.getpid())
        began = datetime.fromisoformat(processes.started(child.pid))
        assert began <= datetime.now(timezone.utc) - timedelta(seconds=1), "its own start, not now"
    finally:
        child.kill()
        child.wait()


def test_without_proc_a_pid_is_taken_at_its_word(tmp_path: Path, monkeypatch):
    """Asked with signal 0 (which sends nothing): gone, alive, or alive but someone else's."""
    monkeypatch.setattr(processes, "PROC", tmp_path / "no-proc")
    asked = []
    answers = {100: None, 200: ProcessLookupError(), 300: PermissionError()}

    def kill(pid: int, number: int) -> None:
        asked.append((pid, number))
        if answers[pid] is not None:
            raise answers[pid]

    monkeypatch.setattr(processes.os, "kill", kill)
    assert processes.alive(100) and processes.alive(100, "1999-01-01T00:00:00Z")
    assert not processes.alive(200)
    assert processes.alive(300), "a process of another user is alive"
    assert asked == [(100, 0), (100, 0), (200, 0), (300, 0)]
    assert processes.started(100) is None


def test_children_and_groups_are_found_by_their_parent_and_group():
    sleeping = [sys.executable, "-c", "import time; time.sleep(30)"]
    child = subprocess.Popen(sleeping, start_new_session=True)
    # A group that is not a session of its own: its number is the group's, not the session's.
    grouped = subprocess.Popen(sleeping, process_group=0)
    try:
        assert child.pid in processes.children_of(os.getpid())
        assert os.getpid() not in processes.children_of(os.getpid())
        assert processes.group_alive(child.pid) and processes.group_alive(grouped.pid)
        assert not processes.group_alive(child.pid + 10_000_000)
    finally:
        for each in (child, grouped):
            each.kill()
            each.wait()
    assert child.pid not in processes.children_of(os.getpid())
    assert not processes.group_alive(child.pid)
    # An exited child not yet waited for (a zombie) is no child that runs, and its group is gone.
    zombie = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    wait_for_zombie(zombie)
    try:
        assert zombie.pid not in processes.children_of(os.getpid())
        assert not processes.group_alive(zombie.pid)
    finally:
        zombie.wait()


def status(**values) -> dict:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"outcome": "running", "pid": os.getpid(), "pid_started": processes.started(os.getpid()),
            "host": socket.gethostname(), "heartbeat": now, **values}


def test_a_running_record_is_abandoned_once_its_process_is_gone_or_is_another_one():
    assert judged_outcome(status()) == "running"
    assert judged_outcome(status(pid_started=None)) == "running"
    assert judged_outcome(status(pid_started="1999-01-01T00:00:00Z")) == "abandoned"  # the pid given again
    assert judged_outcome(status(pid_started="1999-01-01T00:00:00Z", host="elsewhere")) == "running"
    assert judged_outcome(status(outcome="interrupted", pid_started="1999-01-01T00:00:00Z")) == "interrupted"
    assert judged_outcome(status(heartbeat="garbage", host="elsewhere")) == "abandoned"


def test_a_new_status_names_its_writer_by_pid_start_time_and_host():
    written = RunStatus("r", "apply", twin=False)
    assert (written.pid, written.pid_started, written.host) == (os.getpid(), processes.started(os.getpid()),
                                                                 socket.gethostname())


def run_record(lines: list[str]) -> dict:
    return {"cells": [{"cell_type": "code", "source": "x", "execution_count": 1, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "".join(f"{line}\n" for line in lines)},
        {"output_type": "error", "ename": "E", "evalue": "09:00:09 RUN: not printed", "traceback": []}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_the_last_changes_of_a_record_are_its_last_run_lines():
    lines = ["09:00:01 target: the twin", "09:00:02 RUN: kubectl cordon w1", "PLAN: kubectl drain w1",
             "  09:00:03 RUN: kubectl drain w1", "09:00:04 waiting for w1: NotReady", "09:00:05 RUN: talosctl upgrade"]
    assert last_changes(run_record(lines)) == ["09:00:02 RUN: kubectl cordon w1", "09:00:03 RUN: kubectl drain w1",
                                               "09:00:05 RUN: talosctl upgrade"]
    assert last_changes(run_record(lines), count=1) == ["09:00:05 RUN: talosctl upgrade"]
    assert last_changes(None) == [] and last_changes({"cells": ["junk", {"outputs": ["junk"]}]}) == []
    assert last_changes({"cells": [{"outputs": [{"output_type": "stream", "text": ["RUN: a\n", "b\n"]}]}]}) == ["RUN: a"]


def test_abandoned_apply_runs_are_found_said_and_closed_once(tmp_path: Path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()

    def record(name: str, mode: str, pid: int, twin: bool = False) -> Path:
        path = tmp_path / name
        written = RunStatus("worker-upgrade", mode, twin=twin)
        written.pid, written.pid_started = pid, None
        write_record(path, run_record(["09:00:02 RUN: kubectl cordon w1"]), written)
        return path

    killed = record("a.ipynb", "apply", gone.pid)
    record("b.ipynb", "plan", gone.pid)  # a plan changes nothing: nothing to warn about
    record("c.ipynb", "apply", os.getpid())  # running, alive
    record("d.ipynb", "apply", gone.pid, twin=True)  # a rehearsal: not the cluster's
    (tmp_path / "e.ipynb").write_text("not json, but \"running\"")
    mine = record("f.ipynb", "apply", gone.pid)  # this run's own claimed record
    found = abandoned_runs(tmp_path, twin=False, besides=mine)
    assert [f.path for f in found] == [killed]
    said = found[0].describe()
    assert said.startswith(f"a.ipynb (worker-upgrade apply, started ")
    assert f"its process {gone.pid} on {socket.gethostname()} is gone): its last changes: 09:00:02 RUN: kubectl cordon w1" in said
    assert [f.path.name for f in abandoned_runs(tmp_path, twin=True)] == ["d.ipynb"]
    assert abandoned_runs(tmp_path / "none", twin=False) == []

    mark_abandoned(found[0], by=mine)
    closed = json.loads(killed.read_text())["metadata"]["homeops"]
    assert closed["outcome"] == "abandoned" and closed["exit_code"] is None
    assert closed["reason"] == ("its process ended without finishing the run (found by f.ipynb); "
                                "its last changes: 09:00:02 RUN: kubectl cordon w1")
    assert closed["left_in_place"] == "unknown: check the cluster; its last changes: 09:00:02 RUN: kubectl cordon w1"
    assert abandoned_runs(tmp_path, twin=False, besides=mine) == []
    before = killed.read_bytes()
    mark_abandoned(found[0], by=mine)  # already closed: left as it is
    assert killed.read_bytes() == before
