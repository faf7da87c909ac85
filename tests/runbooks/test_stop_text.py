"""A stop says what to do next, in the interface in use: the exact command line to run again in a
terminal, "Run All again" in a notebook; a warning when the node may still be rebooting, and what
to check by hand. A plan right after shows the resume it would do instead of failing on the next
node. Driven as operators do (Ctrl-C to `homeops run`; Kernel > Interrupt on a kernel that runs
the notebook), judged by the twin's state file, the record and the lines printed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from homeops.runner.outcome import RERUN_NOTEBOOK
from homeops.twin import cluster, state

from tests.runbooks.conftest import COMMAND_TIMEOUT, ROOT
from tests.runbooks.interrupts import interrupt, typed_again
from tests.said import gate_lines, unstamped

pytestmark = pytest.mark.slow

REBOOTING = ("warning: worker-1 may still be rebooting: wait until `kubectl get node worker-1` shows it Ready before "
             "anything else; check by hand: `talosctl -n 10.0.10.21 get machinestatus`, `kubectl get node worker-1`, "
             "`kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph status`")
LEFT = "left in place: worker-1 cordoned, noout set for host worker-1"


def raw_state(drill) -> dict:
    return json.loads((drill.twin / "state.json").read_text())


def until_rebooting(drill, running, failed=lambda: "") -> None:
    """Until worker-1's reboot has begun (a bounded loop, not a timed assertion)."""
    for _ in range(1200):
        if any(n["reboot"] for n in raw_state(drill)["nodes"] if n["name"] == "worker-1") or not running():
            break
        time.sleep(0.05)
    assert running(), f"the run ended before worker-1 started its reboot: {failed()}"


def record_status(records: Path) -> list[dict]:
    return [json.loads(p.read_text())["metadata"]["homeops"] for p in sorted(records.glob("*-worker-upgrade*.ipynb"))]


def test_ctrl_c_during_a_reboot_says_the_command_to_run_again_and_a_plan_shows_the_resume(make_drill):
    drill = make_drill({"talos_version": "v1.11.0", "reboot_seconds": 30.0})
    run = drill.start("worker-upgrade", "nodes=worker-1,worker-2", apply=True)
    out, err = interrupt(run, when=lambda: until_rebooting(drill, lambda: run.poll() is None))

    assert run.returncode == 130, out + err
    command = typed_again(drill, "worker-upgrade", "nodes=worker-1,worker-2")
    last = out.strip().splitlines()[-1]
    assert last.startswith("interrupted: worker-1: stopped at step 'talosctl upgrade': interrupted (Ctrl-C, "
                           "Kernel > Interrupt or a signal) before `talosctl -n 10.0.10.21 upgrade "), last
    assert last.split(" — record: ")[0].endswith(f"answered; {REBOOTING}; run `{command}` again to finish worker-1; {LEFT}")
    (interrupted,) = record_status(drill.records)
    assert interrupted["outcome"] == "interrupted"
    # What ran before the interrupt is in the record too, and what the interrupt found in flight.
    (path,) = drill.records.glob("*-worker-upgrade*.ipynb")
    printed = "".join("".join(o.get("text", "")) for c in json.loads(path.read_text())["cells"]
                      for o in c.get("outputs", []))
    assert " RUN: talosctl -n 10.0.10.21 upgrade -i " in printed, printed
    assert ("ran, before its answer: worker-1 may be upgrading or rebooting (the request may have reached it)"
            in printed), printed
    assert interrupted["reason"].endswith(f"; {REBOOTING}; run the same command again to finish worker-1; {LEFT}")
    assert drill.nodes()["worker-1"].rebooting and drill.nodes()["worker-1"].unschedulable

    cluster.advance(str(drill.twin), 60)  # the reboot the run left behind is over
    plan = drill.run("worker-upgrade", "nodes=worker-1,worker-2")

    assert plan.code == 0, plan.stdout + plan.stderr
    lines = [unstamped(line) for line in plan.stdout.splitlines()]
    assert ("worker-1: already runs Talos v1.11.1 but is still out of service (worker-1 cordoned, noout set for host "
            "worker-1): would return worker-1 to service first") in lines
    assert any(line.startswith("worker-2: Ceph says no while worker-1 is still out of service (")
               and line.endswith("); the apply run asks again once worker-1 is back") for line in lines), plan.stdout
    assert [line.split("  # ")[0] for line in gate_lines(plan.stdout)][:4] == [
        "PLAN: kubectl uncordon worker-1",
        "PLAN: would wait for every Ceph PG active+clean (up to 3s)",
        "PLAN: kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd unset-group noout worker-1",
        "PLAN: kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd set-group noout worker-2",
    ]
    assert record_status(drill.records)[-1]["outcome"] == "completed"
    assert drill.nodes()["worker-1"].unschedulable and drill.osd_dump().host_flags == {"worker-1": frozenset({"noout"})}

    # The apply that finishes the job need not sit through another 30 s reboot: the twin's nodes
    # now reboot (and Ceph recovers) in a fraction of a second.
    with state.change(str(drill.twin)) as live:
        live["timing"].update(reboot_seconds=0.3, talos_drain_seconds=0.3, recovery_seconds=0.15, patience_seconds=1.2)
    finished = drill.run("worker-upgrade", "nodes=worker-1,worker-2", apply=True)

    assert finished.code == 0, finished.stdout + finished.stderr
    nodes = drill.nodes()
    assert [(nodes[n].talos_version, nodes[n].unschedulable) for n in ("worker-1", "worker-2")] == [("v1.11.1", False)] * 2
    assert drill.osd_dump().host_flags == {} and drill.ceph_status().pgs_clean


def test_kernel_interrupt_during_a_reboot_in_a_notebook_says_run_all_again(make_drill, tmp_path):
    """The kernel a notebook runs in (nbclient, as JupyterLab's), interrupted as Kernel > Interrupt does."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    drill = make_drill({"talos_version": "v1.11.0", "reboot_seconds": 30.0})
    notebook = nbformat.read(ROOT / "runbooks" / "worker-upgrade.ipynb", as_version=4)
    # The values go in a cell after the parameters cell, as papermill injects them.
    (at,) = [i for i, c in enumerate(notebook.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    values = nbformat.v4.new_code_cell(f"config = {str(drill.config)!r}\napply = True\nnodes = 'worker-1'\n"
                                       "wait_timeout = 60\npoll_interval = 0.1\n")
    values.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(at + 1, values)
    records = tmp_path / "records"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEOPS_")}
    env.update(PATH=f"{drill.twin / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               HOMEOPS_RECORDS=str(records), PYDEVD_DISABLE_FILE_VALIDATION="1",
               # What Jupyter's server tells the kernel of a notebook: the notebook's path.
               JPY_SESSION_NAME=str(ROOT / "runbooks" / "worker-upgrade.ipynb"))
    client = NotebookClient(notebook, timeout=COMMAND_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(drill.directory)}})
    failures: list[BaseException] = []

    def run_all() -> None:
        try:
            client.execute(env=env)
        except BaseException as exc:  # the test reads it below
            failures.append(exc)

    runner = threading.Thread(target=run_all)
    runner.start()
    try:
        until_rebooting(drill, runner.is_alive, lambda: failures)
        os.kill(client.km.provisioner.process.pid, signal.SIGINT)  # Kernel > Interrupt: SIGINT to the kernel
    finally:
        runner.join(timeout=COMMAND_TIMEOUT)
    assert not runner.is_alive()

    (failure,) = failures
    assert isinstance(failure, CellExecutionError)
    shown = str(failure)
    assert f"{REBOOTING}; {RERUN_NOTEBOOK} to finish worker-1; {LEFT}" in " ".join(shown.split())
    (status,) = record_status(records)
    assert status["outcome"] == "interrupted"
    assert status["reason"].endswith(f"; {REBOOTING}; {RERUN_NOTEBOOK} to finish worker-1; {LEFT}")
    assert "run the same command again" not in status["reason"]
    worker = drill.nodes()["worker-1"]
    assert worker.unschedulable and worker.rebooting
    assert drill.osd_dump().host_flags == {"worker-1": frozenset({"noout"})}
