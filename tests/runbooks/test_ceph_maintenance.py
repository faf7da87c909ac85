"""Drills of runbooks/ceph-maintenance.ipynb: enter and exit, a refused drain or ok-to-stop, PGs stuck on exit,
an unreachable API, bad parameters."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_enter_then_exit(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    before = drill.state()
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
    after = drill.state()
    assert after.nodes == before.nodes, "back as it was: same boot, same versions, uncordoned"
    assert after.ceph_flags == before.ceph_flags and after.ceph.pgs_clean and after.leases == {}


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
    before = drill.state()
    result = drill.run("ceph-maintenance", apply=True)
    assert result.code == 1
    assert result.last_line.startswith("stopped: no node given: pass -p node=NAME (one of cp-1, cp-2, worker-1")
    assert result.changes == []
    assert drill.state() == before  # the Lease taken for the run is released too


# Faults. worker-1 holds OSD 0, worker-2 OSD 1, worker-3 OSD 2; pools keep 3 copies, min_size 2.

def test_a_degraded_ceph_refuses_to_stop_a_second_host_and_nothing_changes(make_drill):
    drill = make_drill({"reboot_seconds": 0.3, "faults": [{"fault": "ceph-degraded", "node": "worker-1"}]})
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("ceph-maintenance", "node=worker-2", "action=enter", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: worker-2: stopped at step 'ceph osd ok-to-stop': "
                                       "Ceph says stopping OSD(s) 1 is not safe: ")
    assert result.last_line.split(" — record:")[0].endswith("left in place: nothing")
    assert result.changes == []
    assert drill.snapshot() == before
    assert drill.osd_dump() == flags_before


def test_pgs_that_stay_unclean_on_exit_keep_noout_and_give_the_running_node_back(make_drill):
    """The node is up again, so it is uncordoned; noout stays so that Ceph does not rebalance meanwhile."""
    drill = make_drill({"reboot_seconds": 0.3, "faults": [{"fault": "pgs-stuck"}]})
    entered = drill.run("ceph-maintenance", "node=worker-1", "action=enter", apply=True)
    assert entered.code == 0, entered.stdout + entered.stderr
    boot_before = drill.nodes()["worker-1"].boot_id
    # The maintenance work itself: a reboot of worker-1 (the twin's Talos reinstalls the same version).
    drill.tool("talosctl", "-n", "10.0.10.21", "upgrade", "-i", drill.installer_image("v1.11.1"), "--timeout", "10m")
    assert drill.nodes()["worker-1"].boot_id != boot_before

    left = drill.run("ceph-maintenance", "node=worker-1", "action=exit", apply=True)
    assert left.code == 1, left.stdout + left.stderr
    assert left.last_line.startswith("stopped: worker-1: stopped at step 'wait for PGs active+clean': ")
    assert "PGs now: " in left.last_line
    assert left.last_line.split(" — record:")[0].endswith(
        "left in place: noout set for host worker-1, noout set for the whole cluster")
    assert left.changes == ["kubectl uncordon worker-1"]
    worker_1 = drill.nodes()["worker-1"]
    assert worker_1.is_ready and not worker_1.unschedulable
    assert drill.osd_dump().host_flags == {"worker-1": {"noout"}}
    assert not drill.ceph_status().pgs_clean


def test_an_unreachable_api_stops_before_anything_changes(make_drill):
    drill = make_drill({"faults": [{"fault": "api-unreachable"}]})
    talos_before = drill.talos_view()
    plan = drill.run("ceph-maintenance", "node=worker-1", "action=enter")
    assert plan.code == 1, plan.stdout + plan.stderr
    assert plan.last_line.startswith("stopped: worker-1: stopped at step 'read the OSDs of the host': ")
    assert "10.0.50.50:6443 was refused" in plan.last_line
    assert plan.last_line.split(" — record:")[0].endswith("left in place: nothing")
    applied = drill.run("ceph-maintenance", "node=worker-1", "action=exit", apply=True)
    assert applied.code == 1, applied.stdout + applied.stderr
    assert applied.last_line.startswith("failed: cannot take the maintenance lock kube-system/homeops-maintenance")
    for run in (plan, applied):
        assert run.changes == []
    assert drill.talos_view() == talos_before


@pytest.mark.parametrize("params, refusal", [
    (("node=worker-9",), "stopped: no node named 'worker-9' in cluster.yaml (nodes: cp-1, cp-2, worker-1, worker-2, "
                         "worker-3); nothing changed"),
    (("node=worker-1", "action=reboot"), "stopped: action must be 'enter' or 'exit', got 'reboot'; nothing changed"),
], ids=["unknown-node", "bad-action"])
def test_bad_parameters_are_a_clear_stop_with_nothing_changed(make_drill, params, refusal):
    drill = make_drill({})
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("ceph-maintenance", *params, apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith(refusal)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.changes == []
    assert drill.snapshot() == before
    assert drill.osd_dump() == flags_before
