"""Drills of Rook's disruption controller and of where Rook places OSDs, against the twin.

The twin plays Rook with managePodBudgets on (the chart's default) and osdMaintenanceTimeout
30 min, on a clock the test moves (`homeops.twin.cluster.advance`) instead of waiting. Final
states are read from the twin's state file, not through the parsers the runbooks use.
"""

from __future__ import annotations

import json
import os

import pytest

from homeops.gate import Gate
from homeops.procedures.node_maintenance import InPlace, keep_protected
from homeops.procedures.session import Session
from homeops.twin import cluster, state

pytestmark = pytest.mark.slow

MINUTE = 60.0


def twin_now(drill) -> dict:
    """The twin's state as of its clock (reboots settled, Rook reconciled), read without its tools."""
    return cluster.observe(str(drill.twin))[0]


def node(current: dict, name: str) -> dict:
    return next(n for n in current["nodes"] if n["name"] == name)


def osds_in(drill) -> int:
    out = drill.tool("kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "dump",
                     "-f", "json").stdout
    return sum(o["in"] for o in json.loads(out)["osds"])


def test_a_maintenance_longer_than_rooks_timeout_keeps_the_osds_in_and_exit_clears_every_flag(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    entered = drill.run("ceph-maintenance", "node=worker-2", "action=enter", apply=True)
    assert entered.code == 0, entered.stdout + entered.stderr
    current = twin_now(drill)
    assert node(current, "worker-2")["unschedulable"] and node(current, "worker-2")["drained"]
    assert "noout" in current["ceph"]["flags"]
    cluster.advance(str(drill.twin), 45 * MINUTE)  # Rook let go after 30 min; Ceph would mark out 10 min later
    current = twin_now(drill)
    assert "worker-2" not in current["ceph"]["group_flags"]
    assert "noout" in current["ceph"]["flags"]
    assert osds_in(drill) == 3
    left = drill.run("ceph-maintenance", "node=worker-2", "action=exit", apply=True)
    assert left.code == 0, left.stdout + left.stderr
    current = twin_now(drill)
    assert not node(current, "worker-2")["unschedulable"]
    assert current["ceph"]["flags"] == [] and current["ceph"]["group_flags"] == {}


def test_without_the_cluster_wide_flag_the_twin_marks_the_osds_of_a_long_maintenance_out(make_drill):
    """The control case: Rook's own noout alone does not outlive its timeout."""
    drill = make_drill({"reboot_seconds": 0.3})
    assert drill.run("ceph-maintenance", "node=worker-2", "action=enter", apply=True).code == 0
    drill.tool("kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "unset", "noout")
    cluster.advance(str(drill.twin), 45 * MINUTE)
    assert osds_in(drill) == 2


def test_a_wait_that_outlives_rooks_timeout_sets_the_cluster_wide_noout_and_says_why(make_drill, cluster_model,
                                                                                      monkeypatch, capsys):
    drill = make_drill({"reboot_seconds": 0.3})
    drill.tool("kubectl", "drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
    assert twin_now(drill)["ceph"]["group_flags"] == {"worker-1": ["noout"]}  # Rook's, for the drain
    cluster.advance(str(drill.twin), 31 * MINUTE)
    monkeypatch.setenv("PATH", f"{drill.twin / 'bin'}{os.pathsep}{os.environ['PATH']}")
    session = Session(cluster_model, Gate(True), wait_timeout=5, poll_interval=0.1)
    left = InPlace("worker-1", osds=(0,), crush_hosts=("worker-1",), cordoned=True, noout=True)
    keep_protected(session, left)
    assert left.cluster_noout and not left.noout
    assert left.describe() == "left in place: worker-1 cordoned, noout set for the whole cluster"
    assert "noout" in twin_now(drill)["ceph"]["flags"]
    assert "warning: Rook's disruption controller cleared noout on host worker-1" in capsys.readouterr().out


def test_osds_under_a_crush_host_not_named_like_the_node_are_found_by_their_pods(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    with state.change(str(drill.twin)) as live:
        worker = node(live, "worker-1")
        worker["crush_host"], worker["rack"] = "worker-1-home-arpa", "rack-a"  # hostname worker-1.home.arpa
    result = drill.run("worker-upgrade", "nodes=worker-1", "talos_version=v1.11.2", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "holds no OSD" not in result.stdout
    toolbox = "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph"
    assert f"{toolbox} osd ok-to-stop 0 -f json" not in result.changes  # a read, not a change
    assert "ceph osd ok-to-stop 0: yes" in result.stdout
    assert f"{toolbox} osd set-group noout worker-1-home-arpa" in result.changes
    assert f"{toolbox} osd unset-group noout worker-1-home-arpa" in result.changes
    current = twin_now(drill)
    assert (node(current, "worker-1")["talos_version"], node(current, "worker-1")["unschedulable"]) == ("v1.11.2", False)
    assert current["ceph"]["flags"] == [] and current["ceph"]["group_flags"] == {}
