"""Drills of runbooks/osd-replace.ipynb on the twin: refused on 3 OSD hosts (size 3, failure domain host),
replaced on 4, a degraded pool accepted on 3, a stop midway and the re-run that finishes it."""

from __future__ import annotations

import json

import pytest

from homeops.twin import cluster, state

from tests.runbooks.osd_drills import DISK, deployment, marked_out, operator_replicas, osd_uuid, osds_by_node, \
    with_worker_4

pytestmark = pytest.mark.slow

THREE_HOSTS_REFUSAL = (
    "Ceph cannot keep every copy without osd.0: with 3 OSD hosts, pool .mgr (and ceph-blockpool, "
    "ceph-filesystem-metadata) has size 3 and failure domain host, and only 2 hosts would be left, so it would stay "
    "degraded (2 of 3 copies) until another host with OSDs joins: refused")


def test_three_osd_hosts_refuse_and_nothing_changes(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    before, layout = drill.state(), osds_by_node(drill)
    result = drill.run("osd-replace", "osd=0", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert THREE_HOSTS_REFUSAL in result.last_line
    assert result.last_line.split(" — record:")[0].endswith("left in place: nothing")
    assert result.changes == []
    assert drill.state() == before and osds_by_node(drill) == layout and operator_replicas(drill) == 1


def test_four_osd_hosts_replace_the_osd(make_drill):
    drill = make_drill({"reboot_seconds": 0.3}, edit=with_worker_4)
    old_uuid = osd_uuid(drill, 0)
    result = drill.run("osd-replace", "osd=0", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == [
        "kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=0",
        "kubectl -n rook-ceph scale deployment rook-ceph-osd-0 --replicas=0",
        "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd out 0",
        "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd purge 0 --yes-i-really-mean-it",
        "kubectl -n rook-ceph delete deployment rook-ceph-osd-0 --ignore-not-found",
        "talosctl -n 10.0.10.21 wipe disk nvme0n1",
        "kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=1",
    ]
    assert "Ceph can keep every copy without osd.0 (3 hosts for size 3)" in result.stdout
    assert f"osd.0 replaced: osd.0 is up and in on {DISK[1]} (worker-1), Ceph HEALTH_OK" in result.stdout
    # The old OSD was purged (a new uuid); Ceph handed its free id to the new OSD on the wiped disk.
    assert osds_by_node(drill) == {"worker-1": [0], "worker-2": [1], "worker-3": [2], "worker-4": [3]}
    assert osd_uuid(drill, 0) != old_uuid and marked_out(drill) == set()
    assert operator_replicas(drill) == 1 and deployment(drill, "rook-ceph-osd-0") == {}
    state = drill.state()
    assert state.ceph.health == "HEALTH_OK" and state.ceph_flags.host_flags == {} and state.leases == {}
    record = json.loads(sorted(drill.records.glob("*-osd-replace.ipynb"))[-1].read_text())
    assert record["metadata"]["homeops"]["outcome"] == "completed"
    assert "osd.0 replaced: osd.0 is up and in" in json.dumps(record)


def test_plan_changes_nothing(make_drill):
    drill = make_drill({"reboot_seconds": 0.3}, edit=with_worker_4)
    before, layout = drill.state(), osds_by_node(drill)
    result = drill.run("osd-replace", "osd=0")
    assert result.code == 0, result.stdout + result.stderr
    assert "talosctl -n 10.0.10.21 wipe disk nvme0n1" in result.changes
    assert drill.state() == before and osds_by_node(drill) == layout and operator_replicas(drill) == 1


def test_three_hosts_with_a_degraded_pool_accepted(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    result = drill.run("osd-replace", "osd=0", "accept_degraded=True", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "accepted by the operator (accept_degraded)" in result.stdout
    assert "not waiting for safe-to-destroy of osd.0" in result.stdout
    assert osds_by_node(drill)["worker-1"] == [0] and operator_replicas(drill) == 1
    assert drill.state().ceph.health == "HEALTH_OK"


def test_unclean_pgs_refuse_unless_the_disk_is_failing(make_drill):
    drill = make_drill({"reboot_seconds": 0.3, "faults": [{"fault": "ceph-degraded", "node": "worker-2"}]},
                       edit=with_worker_4)
    refused = drill.run("osd-replace", "osd=0", apply=True)
    assert refused.code == 1 and "PGs are not clean" in refused.last_line and refused.changes == []
    assert operator_replicas(drill) == 1 and osds_by_node(drill)["worker-1"] == [0]


def test_a_wipe_that_leaves_cephs_label_stops_naming_the_zap(make_drill):
    drill = make_drill({"reboot_seconds": 0.3, "faults": [{"fault": "wipe-incomplete", "node": "worker-1"}]},
                       edit=with_worker_4)
    stopped = drill.run("osd-replace", "osd=0", apply=True)
    assert stopped.code == 1, stopped.stdout + stopped.stderr
    line = stopped.last_line.split(" — record:")[0]
    assert line.startswith("stopped: osd.0: stopped at step 'wait for the new OSD': ")
    assert "the disk may still carry Ceph's label (siderolabs/talos#10797): zap it with Rook's steps" in line
    assert line.endswith("left in place: nothing")  # purged, its Deployment deleted, the operator back
    assert osds_by_node(drill)["worker-1"] == [] and operator_replicas(drill) == 1
    # The operator zaps the disk by hand (Rook's steps), which the twin plays as the label gone: Rook makes the OSD.
    with state.change(str(drill.twin)) as live:
        live["faults"].pop("wipe-incomplete")
        live["ceph"]["disks"][f"worker-1|{DISK[1]}"].update(state="wiped", since=live["created"])
    cluster.advance(str(drill.twin), 60)
    assert osds_by_node(drill)["worker-1"] == [0] and drill.state().ceph.health == "HEALTH_OK"


def test_pgs_never_clean_stop_at_safe_to_destroy_naming_what_is_left_and_a_rerun_finishes(make_drill):
    """The disk is failing (failing_disk) and Ceph's recovery is stuck: safe-to-destroy never says yes."""
    drill = make_drill({"reboot_seconds": 0.3}, edit=with_worker_4)
    with state.change(str(drill.twin)) as live:
        live["ceph"]["stuck"] = True
    stopped = drill.run("osd-replace", "osd=0", "failing_disk=True", apply=True)
    assert stopped.code == 1, stopped.stdout + stopped.stderr
    assert "going on because the disk is failing" in stopped.stdout
    line = stopped.last_line.split(" — record:")[0]
    assert line.startswith("stopped: osd.0: stopped at step 'wait until ceph osd safe-to-destroy 0': ")
    assert line.endswith("left in place: the Rook operator at 0 replicas, osd.0 marked out, "
                         "rook-ceph-osd-0 at 0 replicas")
    assert operator_replicas(drill) == 0 and marked_out(drill) == {0} and osds_by_node(drill)["worker-1"] == [0]
    assert deployment(drill, "rook-ceph-osd-0")["replicas"] == 0

    with state.change(str(drill.twin)) as live:
        live["ceph"]["stuck"] = False  # recovery goes on again
    finished = drill.run("osd-replace", "osd=0", apply=True)
    assert finished.code == 0, finished.stdout + finished.stderr
    # It resumes where the first run stopped: nothing scaled or marked out again.
    assert finished.changes[0] == "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd purge 0 --yes-i-really-mean-it"
    assert operator_replicas(drill) == 1 and marked_out(drill) == set() and drill.state().ceph.health == "HEALTH_OK"


def test_undo_after_a_stop_before_the_purge_gives_the_osd_back(make_drill):
    drill = make_drill({"reboot_seconds": 0.3}, edit=with_worker_4)
    with state.change(str(drill.twin)) as live:
        live["ceph"]["stuck"] = True
    stopped = drill.run("osd-replace", "osd=0", "failing_disk=True", apply=True)
    assert stopped.code == 1 and operator_replicas(drill) == 0 and marked_out(drill) == {0}
    with state.change(str(drill.twin)) as live:
        live["ceph"]["stuck"] = False
    undone = drill.run("osd-replace", "osd=0", "undo=True", apply=True)
    assert undone.code == 0, undone.stdout + undone.stderr
    assert undone.changes == [
        "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd in 0",
        "kubectl -n rook-ceph scale deployment rook-ceph-osd-0 --replicas=1",
        "kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=1",
    ]
    assert "osd.0 is back: in, its Deployment at 1 replica, the Rook operator running" in undone.stdout
    assert marked_out(drill) == set() and operator_replicas(drill) == 1
    assert deployment(drill, "rook-ceph-osd-0")["replicas"] == 1 and osds_by_node(drill)["worker-1"] == [0]
    cluster.advance(str(drill.twin), 60)
    assert drill.state().ceph.health == "HEALTH_OK"
