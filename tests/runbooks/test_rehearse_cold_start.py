"""`homeops rehearse cluster-startup`: a cold start in one command. The fresh twin is shut down by
cluster-shutdown first (its record kept beside the startup's), the power comes back, control planes first,
then cluster-startup brings it back as it was; judged by the twin the rehearsal keeps and by both records."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.runbooks.conftest import DRILL_POLL_INTERVAL, DRILL_WAIT_TIMEOUT
from tests.runbooks.power_drills import FAST, every_flux_object, operator_replicas, raw, records, suspended

pytestmark = pytest.mark.slow


def rehearsed(drill, *args: str):
    """`homeops rehearse cluster-startup` with the drill's scenario and waits; the drill then reads the twin it kept."""
    result = drill.homeops("rehearse", "cluster-startup", "--records", str(drill.records),
                           "--scenario", str(drill.directory / "scenario.yaml"),
                           "-p", f"wait_timeout={DRILL_WAIT_TIMEOUT}", "-p", f"poll_interval={DRILL_POLL_INTERVAL}",
                           *args)
    where = re.search(r"^twin: (\S+) \(inspect it with", result.stdout, re.MULTILINE)
    assert where, result.stdout + result.stderr
    drill.twin = Path(where.group(1))
    return result


@pytest.fixture
def kept_twins():
    made = []
    yield made
    for drill in made:
        shutil.rmtree(drill.twin, ignore_errors=True)  # the rehearsal keeps it on purpose


def test_a_rehearsed_startup_starts_from_the_twin_cluster_shutdown_left_and_brings_it_back(make_drill, kept_twins):
    drill = make_drill(FAST)
    everything = every_flux_object(drill)

    result = rehearsed(drill)
    kept_twins.append(drill)
    assert result.code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    said = [i for i, line in enumerate(lines) if line.startswith((
        "rehearsing a cold start: cluster-shutdown first", "completed: cluster-shutdown (apply)",
        "power back: cp-1, cp-2, worker-1, worker-2, worker-3", "running cluster-startup (apply)",
        "completed: cluster-startup (apply)"))]
    assert len(said) == 5 and said == sorted(said), result.stdout
    assert lines[-1].startswith("completed: cluster-startup (apply)")

    # What the shutdown did, from its record: everything suspended, the flags set, every node off.
    (shutdown,) = records(drill, "cluster-shutdown")
    assert shutdown["metadata"]["homeops"]["outcome"] == "completed"
    (startup,) = records(drill, "cluster-startup")
    assert startup["metadata"]["homeops"]["outcome"] == "completed"
    undone = "\n".join("".join(o.get("text", "")) for c in startup["cells"] for o in c.get("outputs", []))
    assert "flux resume kustomization flux-system" in undone  # it undid the shutdown's record, not what it saw
    assert "no cluster-shutdown record to undo" not in undone

    back = drill.state()
    assert all(n.is_ready and not n.unschedulable for n in back.nodes.values())
    assert not any(n.get("off") for n in raw(drill)["nodes"])
    assert all(n["boots"] >= 1 for n in raw(drill)["nodes"])  # each came back from off
    assert back.ceph_flags.maintenance_flags == frozenset() and back.ceph.health == "HEALTH_OK"
    assert operator_replicas(drill) == 1
    assert suspended(drill) == set() and everything
    assert back.leases == {}


def test_a_rehearsed_startup_that_meets_a_node_that_never_boots_stops_with_the_shutdowns_state(make_drill, kept_twins):
    drill = make_drill({**FAST, "faults": [{"fault": "never-ready", "node": "worker-2"}]})
    everything = every_flux_object(drill)

    result = rehearsed(drill)
    kept_twins.append(drill)
    assert result.code == 1, result.stdout + result.stderr
    assert "completed: cluster-shutdown (apply)" in result.stdout
    assert "cluster-startup: stopped at step 'wait for every node Ready'" in result.last_line
    assert "worker-2 not Ready" in result.last_line
    after = drill.state()
    assert after.ceph_flags.maintenance_flags == {"noout", "norebalance", "nobackfill"}
    assert suspended(drill) == everything and operator_replicas(drill) == 0


def test_a_rehearsed_startup_whose_shutdown_stops_runs_no_startup_and_keeps_the_twin(make_drill, kept_twins):
    # the API down from the start: cluster-shutdown cannot take its lock
    drill = make_drill({**FAST, "faults": [{"fault": "api-unreachable"}]})

    result = rehearsed(drill)
    kept_twins.append(drill)
    assert result.code == 1, result.stdout + result.stderr
    assert "running cluster-shutdown (apply)" in result.stdout
    assert "running cluster-startup" not in result.stdout and "power back:" not in result.stdout
    assert result.stderr.strip().splitlines()[-1] == ("homeops rehearse: cluster-shutdown did not complete, so "
                                                      f"cluster-startup was not run (the twin is kept: {drill.twin})")
    assert "failed: cannot take the maintenance lock kube-system/homeops-maintenance" in result.stdout
    # The startup's record was claimed early and is removed: it never ran (nor, refused at its lock, the shutdown).
    assert records(drill, "cluster-startup") == [] and records(drill, "cluster-shutdown") == []
    assert drill.twin.is_dir() and all(not n.get("off") for n in raw(drill)["nodes"])
