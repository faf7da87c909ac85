"""Drills of runbooks/ceph-maintenance.ipynb: enter and exit, a refused drain, bad parameters."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_enter_then_exit(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    entered = drill.run("ceph-maintenance", "node=worker-2", "action=enter", apply=True)
    assert entered.code == 0, entered.stdout + entered.stderr
    assert "worker-2 is in maintenance: cordoned and drained, noout set for host worker-2" in entered.stdout
    assert drill.nodes()["worker-2"].unschedulable
    assert drill.osd_dump().host_flags == {"worker-2": {"noout"}}

    left = drill.run("ceph-maintenance", "node=worker-2", "action=exit", apply=True)
    assert left.code == 0, left.stdout + left.stderr
    assert "worker-2 is back in service: uncordoned, PGs active+clean, noout cleared" in left.stdout
    assert not drill.nodes()["worker-2"].unschedulable
    assert drill.osd_dump().host_flags == {}


def test_plan_enter_changes_nothing(make_drill):
    drill = make_drill({})
    before = drill.snapshot()
    result = drill.run("ceph-maintenance", "node=worker-1")
    assert result.code == 0, result.stdout + result.stderr
    assert "kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data --timeout=3s" in result.changes
    assert drill.snapshot() == before and drill.osd_dump().host_flags == {}


def test_a_refused_drain_leaves_the_node_as_it_was(make_drill):
    drill = make_drill({"faults": [{"fault": "drain-blocked", "node": "worker-1"}]})
    before = drill.snapshot()
    result = drill.run("ceph-maintenance", "node=worker-1", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: worker-1: stopped at step 'drain': ")
    assert result.last_line.split(" — record:")[0].endswith("left in place: nothing")
    assert drill.snapshot() == before and drill.osd_dump().host_flags == {}


def test_a_missing_node_is_a_clear_stop(make_drill):
    drill = make_drill({})
    result = drill.run("ceph-maintenance", apply=True)
    assert result.code == 1
    assert result.last_line.startswith("stopped: no node given: pass -p node=NAME (one of cp-1, cp-2, worker-1")
