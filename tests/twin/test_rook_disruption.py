"""Rook's disruption controller in the twin, on the twin's clock (which tests move, never wait for)."""

from __future__ import annotations

import json

from homeops.twin import cluster, state


def group_flags(twin) -> dict:
    return json.loads(twin.ceph("osd", "dump", "-f", "json").stdout)["crush_node_flags"]


def test_a_host_noout_of_someone_else_vanishes_at_the_next_reconcile(twin):
    assert twin.ceph("osd", "set-group", "noout", "worker-2").returncode == 0
    assert group_flags(twin) == {}
    assert state.read(str(twin.directory))["ceph"]["group_flags"] == {}


def test_rook_sets_noout_on_the_drained_host_and_clears_it_after_its_maintenance_timeout(twin):
    drained = twin.kubectl("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
    assert drained.returncode == 0, drained.stderr
    assert group_flags(twin) == {"worker-1": ["noout"]}  # set by Rook itself: the node drains, PGs unclean
    status = twin.ceph_status()
    assert status["osdmap"]["num_up_osds"] == status["osdmap"]["num_osds"] - 1  # its OSD pod was evicted
    cluster.advance(str(twin.directory), 29 * 60)
    assert group_flags(twin) == {"worker-1": ["noout"]}
    cluster.advance(str(twin.directory), 2 * 60)
    assert group_flags(twin) == {}  # osdMaintenanceTimeout (30 min) passed: Rook cleared it
    assert twin.ceph("osd", "set-group", "noout", "worker-1").returncode == 0
    assert group_flags(twin) == {}  # and it clears it again at every reconcile
    assert twin.ceph("osd", "set", "noout").returncode == 0
    assert "noout" in json.loads(twin.ceph("osd", "dump", "-f", "json").stdout)["flags"].split(",")


def test_uncordon_brings_the_osd_pods_back_and_rook_lets_go(twin):
    twin.kubectl("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
    pods = twin.json("kubectl", "-n", "rook-ceph", "get", "pods", "-l", "app=rook-ceph-osd", "-o", "json")["items"]
    pending = [p for p in pods if p["status"]["phase"] == "Pending"]
    assert [(p["metadata"]["labels"]["ceph-osd-id"], "nodeName" in p["spec"]) for p in pending] == [("0", False)]
    assert twin.kubectl("uncordon", "worker-1").returncode == 0
    cluster.advance(str(twin.directory), 60)
    assert group_flags(twin) == {}
    assert twin.ceph_status()["pgmap"]["pgs_by_state"] == [{"state_name": "active+clean", "count": 137}]
    assert cluster.observe(str(twin.directory))[0]["rook"]["draining"] == ""


def test_osd_pods_name_their_node_and_crush_host(twin):
    with state.change(str(twin.directory)) as live:
        live["nodes"][2]["crush_host"] = "worker-1-home-arpa"
        live["nodes"][2]["rack"] = "rack-a"
    pods = twin.json("kubectl", "-n", "rook-ceph", "get", "pods", "-l", "app=rook-ceph-osd", "-o", "json")["items"]
    first = next(p for p in pods if p["metadata"]["labels"]["ceph-osd-id"] == "0")
    assert first["spec"]["nodeName"] == "worker-1"
    assert first["metadata"]["labels"]["topology-location-host"] == "worker-1-home-arpa"
    tree = json.loads(twin.ceph("osd", "tree", "-f", "json").stdout)["nodes"]
    rack = next(n for n in tree if n["type"] == "rack")
    host = next(n for n in tree if n["name"] == "worker-1-home-arpa")
    assert rack["name"] == "rack-a" and rack["children"] == [host["id"]] and host["children"] == [0]
