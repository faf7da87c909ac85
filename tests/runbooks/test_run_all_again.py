"""Run All, again and again, in one kernel: the JupyterLab way of planning, then applying.

Each Run All is a run of its own: its own record holding only its own cells, its own maintenance
lock, "completed" only once its last cell has run. A cell run again by hand after its run ended
changes nothing: it is refused, and says to Run All.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.runbooks.backup_files import AgeIdentity
from tests.runbooks.conftest import DRILL_POLL_INTERVAL, DRILL_WAIT_TIMEOUT, ROOT
from tests.runbooks.one_kernel import OneKernel

pytestmark = pytest.mark.slow

OLD, NEW = "v1.11.0", "v1.11.1"
WORKERS = ["worker-1", "worker-2", "worker-3"]
# Runbooks that stop by design with their defaults need these to run to their end.
TO_THE_END = {"ceph-maintenance": {"node": "worker-1"}, "control-plane-upgrade": {"accept_two_member_etcd_risk": True},
              "node-add": {"node": "worker-1"},  # a node that has joined: node-add confirms it and changes nothing
              "osd-replace": {"osd": "0", "accept_degraded": True},
              "node-remove": {"node": "worker-1", "accept_degraded": True}}


@pytest.fixture
def kernel_for(tmp_path: Path):
    kernels = []

    def start(drill, name: str) -> OneKernel:
        kernels.append(OneKernel.start(name, drill.directory / "lab", drill.twin, drill.records))
        return kernels[-1]

    yield start
    for kernel in kernels:
        kernel.stop()


def records_of(drill, name: str) -> list[dict]:
    """The runbook's records, oldest first: by their second, then by the `-2` suffix a second run started
    in the same second gets (which sorts before `.ipynb` as text)."""
    def started(path):
        stamp, _, rest = path.stem.partition(f"-{name}")
        return stamp, int(rest.lstrip("-") or 1)

    return [json.loads(p.read_text()) for p in sorted(drill.records.glob(f"*-{name}*.ipynb"), key=started)]


def executed(record: dict) -> list[str]:
    """The sources of the code cells the record says ran, in their order."""
    cells = [c for c in record["cells"] if c["cell_type"] == "code" and c["execution_count"] is not None]
    return ["".join(c["source"]) for c in sorted(cells, key=lambda c: c["execution_count"])]


def outputs(record: dict) -> str:
    return "".join("".join(o.get("text", "")) + o.get("evalue", "")
                   for c in record["cells"] for o in c.get("outputs", []))


def test_plan_then_apply_then_again_in_one_kernel_makes_three_runs_each_with_its_own_record_and_lock(
        make_drill, kernel_for):
    drill = make_drill({"talos_version": OLD, "reboot_seconds": 0.3})
    kernel = kernel_for(drill, "worker-upgrade")
    kernel.set_parameters(wait_timeout=DRILL_WAIT_TIMEOUT, poll_interval=DRILL_POLL_INTERVAL)
    before = drill.snapshot()

    plan = kernel.run_all()
    assert [c.error for c in plan] == [None] * 5
    assert plan[-1].text.splitlines()[-1].startswith("completed: worker-upgrade (plan) — record: ")
    assert drill.snapshot() == before

    kernel.set_parameters(apply=True)
    apply = kernel.run_all()
    assert [c.error for c in apply] == [None] * 5, [c.text for c in apply]
    # Nothing ends before the last cell: Step 1 opened the run, it did not close it.
    assert "completed" not in apply[1].text
    assert "maintenance lock taken" in apply[1].text
    # What it runs against comes first, before the lock and the mode.
    first = apply[1].text.splitlines()[0].split(" ", 1)[1]
    assert first == f"target: the twin in {drill.twin} (its kubectl, talosctl and flux first on PATH), not the cluster"
    assert apply[-1].text.splitlines()[-1].startswith("completed: worker-upgrade (apply) — record: ")
    nodes = drill.nodes()
    assert {nodes[w].talos_version for w in WORKERS} == {NEW}
    assert not any(n.unschedulable for n in nodes.values())
    flags = drill.osd_dump()
    assert not flags.maintenance_flags and not flags.host_flags
    assert drill.state().leases == {}

    upgraded = drill.snapshot()
    again = kernel.run_all()  # a second apply, every worker already on the target: skipped, lock taken again
    assert [c.error for c in again] == [None] * 5, [c.text for c in again]
    assert "maintenance lock taken" in again[1].text
    assert again[-1].text.splitlines()[-1].startswith("completed: worker-upgrade (apply) — record: ")

    first, second, third = records_of(drill, "worker-upgrade")
    cells = kernel.cells()
    for record, mode in ((first, "plan"), (second, "apply"), (third, "apply")):
        status = record["metadata"]["homeops"]
        assert (status["mode"], status["outcome"], status["exit_code"]) == (mode, "completed", 0), status
        # Its own cells, once each, in order: the parameters as that run had them, then the runbook's.
        assert executed(record) == cells if mode == "apply" else executed(record)[1:] == cells[1:]
    assert "apply: bool = False" in executed(first)[0] and "apply: bool = True" in executed(second)[0]
    assert outputs(second).count("RUN: kubectl cordon") == 3 and "RUN: " not in outputs(first)
    assert "RUN: kubectl cordon" not in outputs(third) and "already" in outputs(third)
    assert drill.snapshot() == upgraded  # the third run found nothing to do


def test_a_step_run_again_by_hand_after_its_run_ended_is_refused_and_changes_nothing(make_drill, kernel_for):
    drill = make_drill({"talos_version": OLD, "reboot_seconds": 0.3})
    kernel = kernel_for(drill, "worker-upgrade")
    kernel.set_parameters(wait_timeout=DRILL_WAIT_TIMEOUT, poll_interval=DRILL_POLL_INTERVAL, apply=True,
                          nodes="worker-1")
    assert [c.error for c in kernel.run_all()] == [None] * 5
    (record,) = drill.records.glob("*-worker-upgrade.ipynb")
    kept = record.read_bytes()
    drill.tool("kubectl", "cordon", "worker-2")  # something for a stray step to (wrongly) act on
    before = drill.snapshot()

    chosen = 'chosen = node_upgrade.select_nodes(session, "worker-2", role="worker")'
    assert kernel.run_cell(chosen).error is None
    step = kernel.run_cell(kernel.cells()[3])  # Step 3 alone: the upgrade, with the ended run's session
    assert step.error is not None and step.error["ename"] == "RunbookStopped"
    assert step.error["evalue"].startswith("this run of worker-upgrade has ended (completed) and no longer holds "
                                           "the maintenance lock; stopped before ")
    assert "Run All to start a new run" in step.error["evalue"]
    assert "RUN: " not in step.text
    assert drill.snapshot() == before and drill.state().leases == {}
    assert record.read_bytes() == kept, "an ended run's record is not written again"
    assert list(drill.records.glob("*-worker-upgrade*.ipynb")) == [record]


@pytest.mark.parametrize("name", sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "runbooks")
                                        .glob("*.ipynb")))
def test_every_runbook_run_all_twice_in_one_kernel_keeps_two_complete_records(name, make_drill, make_bootstrap,
                                                                              kernel_for):
    # The bootstrap plans against machines in maintenance mode with what it needs (repository, age key, token);
    # on a built cluster its preflight rightly stops before the last cell.
    drill = make_bootstrap({"reboot_seconds": 0.3}) if name == "bootstrap" else make_drill({"reboot_seconds": 0.3})
    if name == "apply-config":  # it refuses a project whose talos/ is not what cluster.yaml renders
        shutil.copytree(ROOT / "templates", drill.directory / "templates")
        assert drill.homeops("render").code == 0
    to_the_end = dict(TO_THE_END.get(name, {}))
    if name == "etcd-restore":  # a healthy twin has quorum and the drill has no backup: a plan of the copy, with a key
        age = AgeIdentity()
        key = drill.directory / "age.key"
        key.write_text(f"{age.identity}\n")
        key.chmod(0o600)
        to_the_end.update(identity=str(key), why="drill: plan a restore of a healthy twin", snapshot="copied")
    kernel = kernel_for(drill, name)
    kernel.set_parameters(wait_timeout=DRILL_WAIT_TIMEOUT, poll_interval=DRILL_POLL_INTERVAL, **to_the_end)
    before = drill.snapshot()
    for _ in range(2):
        ran = kernel.run_all()
        assert len(ran) == len(kernel.cells()), [c.text for c in ran]
    runs = records_of(drill, name)
    assert len(runs) == 2
    for record in runs:
        status = record["metadata"]["homeops"]
        assert status["runbook"] == name and status["outcome"] in ("completed", "stopped"), status
        assert executed(record) == kernel.cells(), f"{name}: the record holds other runs' cells"
    assert runs[0]["metadata"]["homeops"]["outcome"] == runs[1]["metadata"]["homeops"]["outcome"]
    assert drill.snapshot() == before
