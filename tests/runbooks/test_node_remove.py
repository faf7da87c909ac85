"""Drills of runbooks/node-remove.ipynb on the twin: a worker refused on 3 OSD hosts and removed on 4, a
control plane of a 2-member etcd refused, a stop midway and the re-run that finishes it."""

from __future__ import annotations

import pytest

from homeops.twin import state

from tests.runbooks.osd_drills import marked_out, operator_replicas, osds_by_node, raw, with_worker_4

pytestmark = pytest.mark.slow


def kube_nodes(drill) -> list[str]:
    import json

    return [n["metadata"]["name"] for n in json.loads(drill.tool("kubectl", "get", "nodes", "-o", "json").stdout)["items"]]


def test_a_worker_on_three_osd_hosts_is_refused_and_nothing_changes(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    before, layout = drill.state(), osds_by_node(drill)
    result = drill.run("node-remove", "node=worker-1", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert ("stopped: Ceph cannot keep every copy without host worker-1: with 3 OSD hosts, pool .mgr (and "
            "ceph-blockpool, ceph-filesystem-metadata) has size 3 and failure domain host, and only 2 hosts would be "
            "left") in result.last_line
    assert result.changes == []
    assert drill.state() == before and osds_by_node(drill) == layout and "worker-1" in kube_nodes(drill)


def test_a_worker_on_four_osd_hosts_is_removed(make_drill):
    drill = make_drill({"reboot_seconds": 0.3}, edit=with_worker_4)
    result = drill.run("node-remove", "node=worker-4", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "volumes bound to worker-4, whose data goes with it: pvc-zfs-worker-4 (claim media/data-worker-4, " \
           "openebs-zfs)" in result.stdout
    assert result.changes == [
        "kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=0",
        "kubectl -n rook-ceph scale deployment rook-ceph-osd-3 --replicas=0",
        "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd out 3",
        "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd purge 3 --yes-i-really-mean-it",
        "kubectl -n rook-ceph delete deployment rook-ceph-osd-3 --ignore-not-found",
        "kubectl drain worker-4 --ignore-daemonsets --delete-emptydir-data --timeout=3s",
        "talosctl -n 10.0.10.24 reset --graceful=true --reboot=false --wait=true --timeout 900s",
        "kubectl delete node worker-4 --ignore-not-found",
        "kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=1",
    ]
    assert "etcd members: cp-1, cp-2" in result.stdout
    assert "worker-4" not in kube_nodes(drill)
    assert osds_by_node(drill)["worker-4"] == [] and marked_out(drill) == set() and operator_replicas(drill) == 1
    after = drill.state()
    assert after.ceph.health == "HEALTH_OK" and after.leases == {}
    record = sorted(drill.records.glob("*-node-remove.ipynb"))[-1].read_text()
    assert "pvc-zfs-worker-4" in record and "worker-4 removed" in record


def test_a_control_plane_of_a_two_member_etcd_is_refused(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    before = drill.state()
    result = drill.run("node-remove", "node=cp-2", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: refused: removing cp-2 leaves etcd with 1 member: etcd has "
                                       "exactly 2 members")
    assert "accept_two_member_etcd_risk=True" in result.last_line and result.changes == []
    assert drill.state() == before and "cp-2" in kube_nodes(drill)
    assert all(n.get("etcd_member", True) for n in raw(drill)["nodes"] if n["role"] == "control-plane")


def test_a_blocked_drain_stops_naming_what_is_left_and_a_rerun_finishes(make_drill):
    drill = make_drill({"reboot_seconds": 0.3, "faults": [{"fault": "drain-blocked", "node": "worker-4"}]},
                       edit=with_worker_4)
    stopped = drill.run("node-remove", "node=worker-4", apply=True)
    assert stopped.code == 1, stopped.stdout + stopped.stderr
    line = stopped.last_line.split(" — record:")[0]
    assert line.startswith("stopped: worker-4: stopped at step 'drain': ")
    assert line.endswith("left in place: the Rook operator at 0 replicas")
    assert osds_by_node(drill)["worker-4"] == [] and operator_replicas(drill) == 0 and "worker-4" in kube_nodes(drill)
    with state.change(str(drill.twin)) as live:
        live["faults"].pop("drain-blocked")
    finished = drill.run("node-remove", "node=worker-4", apply=True)
    assert finished.code == 0, finished.stdout + finished.stderr
    assert finished.changes[0] == "kubectl drain worker-4 --ignore-daemonsets --delete-emptydir-data --timeout=3s"
    assert "worker-4" not in kube_nodes(drill) and operator_replicas(drill) == 1


def test_plan_changes_nothing_and_names_the_volumes(make_drill):
    drill = make_drill({"reboot_seconds": 0.3}, edit=with_worker_4)
    before, layout = drill.state(), osds_by_node(drill)
    result = drill.run("node-remove", "node=worker-4")
    assert result.code == 0, result.stdout + result.stderr
    assert "pvc-zfs-worker-4 (claim media/data-worker-4, openebs-zfs)" in result.stdout
    assert "talosctl -n 10.0.10.24 reset --graceful=true --reboot=false --wait=true --timeout 900s" in result.changes
    assert "worker-4 would be removed" in result.stdout
    assert drill.state() == before and osds_by_node(drill) == layout and "worker-4" in kube_nodes(drill)
