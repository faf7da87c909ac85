"""Drills of the safety rules that no other drill reaches on its own.

- The post-upgrade wait accepts a node only on a new boot ID: a node that reports the new Talos
  version while still on its old boot (the twin's `upgrade-without-reboot`) is not upgraded.
- Ceph's HEALTH_OK gate holds by itself: HEALTH_WARN with every PG active+clean (a monitor out of
  quorum, an OSD past nearfull, a `noout` someone else left) stops every upgrade runbook before it
  touches anything, on the "Ceph health" check.

Final states are read from the twin's state directory (twin_state.py), not through the runbooks' parsers.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

OLD, NEW = "v1.11.0", "v1.11.1"
KUBELET_FROM = "v1.34.0"
RISK = "accept_two_member_etcd_risk=true"


def test_a_worker_on_the_new_version_without_a_new_boot_id_is_not_taken_as_upgraded(make_drill):
    drill = make_drill({"talos_version": OLD, "reboot_seconds": 0.3,
                        "faults": [{"fault": "upgrade-without-reboot", "node": "worker-1"}]})
    before = drill.state().nodes

    result = drill.run("worker-upgrade", apply=True)

    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: worker-1: stopped at step 'wait for Ready': ")
    assert "worker-1 Ready with a new boot ID and Talos v1.11.1 did not happen within 3s" in result.last_line
    assert "left in place: worker-1 cordoned, noout set for host worker-1" in result.last_line
    after = drill.state()
    worker_1 = after.nodes["worker-1"]
    assert worker_1.talos_version == NEW and worker_1.is_ready, "the node does report the new version"
    assert worker_1.boot_id == before["worker-1"].boot_id, "and never rebooted"
    assert worker_1.unschedulable, "so it stays out of service"
    assert after.ceph_flags.host_flags == {"worker-1": frozenset({"noout"})}
    for name in ("worker-2", "worker-3", "cp-1", "cp-2"):
        assert after.nodes[name] == before[name], f"{name} was touched"
    assert not any("worker-2" in c or "10.0.10.22" in c for c in result.changes)


def test_a_control_plane_node_on_the_new_version_without_a_new_boot_id_stops_the_run_before_cp_2(make_drill):
    drill = make_drill({"talos_version": OLD, "reboot_seconds": 0.3,
                        "faults": [{"fault": "upgrade-without-reboot", "node": "cp-1"}]})
    before = drill.state().nodes

    result = drill.run("control-plane-upgrade", RISK, apply=True)

    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: cp-1: stopped at step 'wait for Ready': ")
    after = drill.state().nodes
    assert after["cp-1"].talos_version == NEW and after["cp-1"].boot_id == before["cp-1"].boot_id
    assert after["cp-1"].unschedulable
    assert after["cp-2"] == before["cp-2"]
    assert not any("cp-2" in c or "10.0.10.12" in c for c in result.changes)


# --- HEALTH_WARN with clean PGs -------------------------------------------------------------------

def foreign_noout(drill) -> None:
    """Someone else's cluster-wide noout, set before the run, as an operator would with the toolbox."""
    drill.tool("kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "set", "noout")


WARNINGS = {
    "mon-down": ({"fault": "mon-down"}, None, "MON_DOWN: 1/3 mons down, quorum a,b"),
    "osd-nearfull": ({"fault": "osd-nearfull"}, None, "OSD_NEARFULL: 1 nearfull osd(s)"),
    "foreign-noout": (None, foreign_noout, "OSDMAP_FLAGS: noout flag(s) set"),
}
RUNBOOKS = {
    "worker-upgrade": ({"talos_version": OLD}, (), "failed before upgrading any worker, nothing changed: "),
    "control-plane-upgrade": ({"talos_version": OLD}, (RISK,),
                              "failed before upgrading any control-plane node, nothing changed: "),
    "kubernetes-upgrade": ({"kubernetes_version": KUBELET_FROM}, (), "failed before upgrading Kubernetes, nothing changed: "),
}


@pytest.mark.parametrize("warning", WARNINGS)
@pytest.mark.parametrize("runbook", RUNBOOKS)
def test_health_warn_with_clean_pgs_stops_every_upgrade_runbook_before_it_touches_anything(make_drill, runbook,
                                                                                            warning):
    fault, prepare, check = WARNINGS[warning]
    start, params, stopped = RUNBOOKS[runbook]
    drill = make_drill({**start, "reboot_seconds": 0.3, "faults": [fault] if fault else []})
    if prepare:
        prepare(drill)
    before = drill.state()
    assert before.ceph.pgs_clean, "the PGs are clean: only the health gate can stop this run"

    result = drill.run(runbook, *params, apply=True)

    assert result.code == 1, result.stdout + result.stderr
    assert stopped in result.last_line
    assert result.checks["Ceph health"][0] == "FAIL"
    assert result.checks["Ceph health"][1].startswith("HEALTH_WARN, 3/3 OSDs up: ")
    assert check in result.checks["Ceph health"][1]
    assert result.checks["Ceph PGs"][0] == "ok"
    assert result.changes == []
    after = drill.state()
    assert after.nodes == before.nodes, "no node was cordoned, upgraded or rebooted"
    assert after.ceph_flags == before.ceph_flags, "the flags are as they were (someone else's noout kept)"
    assert not (drill.twin / "backups").exists()
