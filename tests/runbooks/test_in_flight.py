"""A change in flight when the run stops: sent to the cluster, its answer not back yet.

Driven as an operator does: `homeops run` in a terminal, Ctrl-C (SIGINT to the runner, which
sends it on to the kernel) while the change hangs, then the same command again. The cluster may
or may not have done the change; the stop must say what may have changed, and the plain re-run
must finish the job. What is left is read from the twin's state file, never through the tools.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from homeops.twin import state

from tests.runbooks.interrupts import interrupt, typed_again

pytestmark = pytest.mark.slow

SET_GROUP = "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd set-group noout worker-1"


class StalledAnswer:
    """The twin's kubectl, except that a command containing `words` is carried out and then never
    answers (an API server that applied the change and went quiet): the wrapper execs `sleep`, and
    writes its pid, so the test can see that the stop ended it."""

    def __init__(self, twin: Path, words: str):
        self.bin = twin / "bin"
        self.marker = twin / "stalled.pid"
        (self.bin / "kubectl").rename(self.bin / "kubectl.twin")
        wrapper = self.bin / "kubectl"
        wrapper.write_text(
            "#!/bin/sh\n"
            f'case "$*" in *"{words}"*) "$(dirname "$0")/kubectl.twin" "$@"; echo $$ > "{self.marker}"; exec sleep 600;; esac\n'
            'exec "$(dirname "$0")/kubectl.twin" "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)

    def wait(self, run: subprocess.Popen) -> int:
        for _ in range(1200):  # a bounded wait for the stalled command, not a timed assertion
            if self.marker.exists() and self.marker.read_text().strip():
                return int(self.marker.read_text())
            if run.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"the stalled command never ran; the run ended with {run.poll()}: {run.stdout.read()}")

    def remove(self) -> None:
        (self.bin / "kubectl.twin").replace(self.bin / "kubectl")


def twin_state(drill) -> dict:
    from homeops.twin import cluster

    return cluster.observe(str(drill.twin))[0]


def record_notebook(stdout: str) -> dict:
    return json.loads(Path(stdout.strip().splitlines()[-1].split(" — record: ")[-1]).read_text())


def record_of(stdout: str) -> dict:
    return record_notebook(stdout)["metadata"]["homeops"]


def record_text(stdout: str) -> str:
    """Everything the record's cells printed."""
    return "".join("".join(o.get("text", "")) + o.get("evalue", "")
                   for c in record_notebook(stdout)["cells"] for o in c.get("outputs", []))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")


def test_ctrl_c_while_noout_is_in_flight_names_the_flag_and_the_plain_re_run_finishes_the_node(make_drill):
    drill = make_drill({"talos_version": "v1.11.0", "reboot_seconds": 0.3})
    with state.change(str(drill.twin)) as live:
        # With Rook's PDB management a noout on a host that is not draining is cleared by Rook at its
        # next reconcile; without it (managePodBudgets: false) the flag stays until someone clears it.
        live["rook"]["manage_pod_budgets"] = False
    stalled = StalledAnswer(drill.twin, "osd set-group noout")
    run = drill.start("worker-upgrade", "nodes=worker-1", apply=True)
    out, err = interrupt(run, when=lambda: stalled.wait(run))
    sleeper = int(stalled.marker.read_text())  # the pid the stalled command wrote

    assert run.returncode == 130, out + err
    again = typed_again(drill, "worker-upgrade", "nodes=worker-1")
    last = out.strip().splitlines()[-1]
    assert last.startswith(
        "interrupted: worker-1: stopped at step 'set noout for the host': interrupted (Ctrl-C, Kernel > Interrupt or "
        f"a signal) before `{SET_GROUP}` answered; run `{again}` again to finish worker-1; "
        "left in place: noout for host worker-1 may be set — record: "), last
    assert f"interrupted while `{SET_GROUP}` ran, before its answer: noout for host worker-1 may be set" in out
    record = record_of(out)
    assert record["outcome"] == "interrupted"
    assert record["reason"].endswith("run the same command again to finish worker-1; "
                                     "left in place: noout for host worker-1 may be set")
    assert f"interrupted while `{SET_GROUP}` ran, before its answer: noout for host worker-1 may be set" in (
        record_text(out))
    assert not alive(sleeper), "the stalled kubectl outlived the run"
    # The flag did get set; nothing else changed.
    after = twin_state(drill)
    assert after["ceph"]["group_flags"] == {"worker-1": ["noout"]}
    assert not any(n["unschedulable"] for n in after["nodes"])
    assert {n["name"]: n["talos_version"] for n in after["nodes"]}["worker-1"] == "v1.11.0"

    stalled.remove()
    finished = drill.run("worker-upgrade", "nodes=worker-1", apply=True)

    assert finished.code == 0, finished.stdout + finished.stderr
    assert "left by an earlier run of worker-upgrade on worker-1, finished first" in finished.stdout
    assert record_of(finished.stdout)["outcome"] == "completed"
    final = twin_state(drill)
    worker = next(n for n in final["nodes"] if n["name"] == "worker-1")
    assert (worker["talos_version"], worker["unschedulable"], worker["boots"]) == ("v1.11.1", False, 1)
    assert final["ceph"]["group_flags"] == {} and final["ceph"]["flags"] == []
