"""The twin's Deployments: the Rook operator and one per OSD, `kubectl scale` and `delete deployment`."""

from __future__ import annotations

import json

from homeops.twin import cluster


def deployment(twin, name: str) -> dict:
    return twin.json("kubectl", "-n", "rook-ceph", "get", "deployment", name, "-o", "json")


def group_flags(twin) -> dict:
    return json.loads(twin.ceph("osd", "dump", "-f", "json").stdout)["crush_node_flags"]


def test_rook_has_an_operator_and_one_deployment_per_osd(twin):
    listing = twin.json("kubectl", "-n", "rook-ceph", "get", "deployments", "-o", "json")
    names = [item["metadata"]["name"] for item in listing["items"]]
    assert names == ["rook-ceph-operator", "rook-ceph-tools", "rook-ceph-osd-0", "rook-ceph-osd-1", "rook-ceph-osd-2"]
    osd = deployment(twin, "rook-ceph-osd-1")
    assert osd["metadata"]["labels"]["ceph-osd-id"] == "1"
    assert osd["metadata"]["labels"]["topology-location-host"] == "worker-2"
    assert (osd["spec"]["replicas"], osd["status"]["readyReplicas"]) == (1, 1)
    table = twin.kubectl("-n", "rook-ceph", "get", "deploy", "rook-ceph-operator")
    assert table.stdout.split("\n")[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table.stdout.split("\n")[1].split()[:2] == ["rook-ceph-operator", "1/1"]


def test_scale_prints_kubectls_line_and_an_osd_at_zero_goes_down_then_out(twin):
    done = twin.kubectl("-n", "rook-ceph", "scale", "deployment", "rook-ceph-osd-0", "--replicas=0")
    assert (done.returncode, done.stdout) == (0, "deployment.apps/rook-ceph-osd-0 scaled\n")
    osd = deployment(twin, "rook-ceph-osd-0")
    assert osd["spec"]["replicas"] == 0 and "readyReplicas" not in osd["status"]  # zero counts are left out
    pods = twin.json("kubectl", "-n", "rook-ceph", "get", "pods", "-l", "app=rook-ceph-osd", "-o", "json")["items"]
    assert sorted(p["metadata"]["labels"]["ceph-osd-id"] for p in pods) == ["1", "2"]
    status = twin.ceph_status()
    assert (status["osdmap"]["num_up_osds"], status["osdmap"]["num_in_osds"]) == (2, 3)
    cluster.advance(str(twin.directory), 11 * 60)  # mon_osd_down_out_interval (10 min) passed
    assert twin.ceph_status()["osdmap"]["num_in_osds"] == 2
    assert twin.kubectl("-n", "rook-ceph", "scale", "deploy/rook-ceph-osd-0", "--replicas=1").returncode == 0
    status = twin.ceph_status()
    assert (status["osdmap"]["num_up_osds"], status["osdmap"]["num_in_osds"]) == (3, 3)


def test_scale_refuses_what_kubectl_refuses(twin):
    missing = twin.kubectl("-n", "rook-ceph", "scale", "deployment", "rook-ceph-osd-9", "--replicas=0")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "rook-ceph-osd-9" not found'
    no_count = twin.kubectl("-n", "rook-ceph", "scale", "deployment", "rook-ceph-operator")
    assert no_count.returncode == 1 and 'required flag(s) "replicas" not set' in no_count.stderr
    elsewhere = twin.kubectl("scale", "deployment", "rook-ceph-operator", "--replicas=0")  # default namespace
    assert elsewhere.returncode == 1 and "not found" in elsewhere.stderr
    assert deployment(twin, "rook-ceph-operator")["spec"]["replicas"] == 1


def test_an_operator_at_zero_leaves_noout_alone(twin):
    assert twin.kubectl("-n", "rook-ceph", "scale", "deployment", "rook-ceph-operator", "--replicas=0").returncode == 0
    drained = twin.kubectl("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")
    assert drained.returncode == 0, drained.stderr
    assert group_flags(twin) == {}  # with the operator running, Rook would set noout on worker-1
    assert twin.ceph("osd", "set-group", "noout", "worker-2").returncode == 0
    assert group_flags(twin) == {"worker-2": ["noout"]}  # and nobody clears someone else's
    assert twin.kubectl("-n", "rook-ceph", "scale", "deployment", "rook-ceph-operator", "--replicas=1").returncode == 0
    assert group_flags(twin) == {"worker-1": ["noout"]}  # back: its first reconcile


def test_delete_deployment_removes_it_and_its_pod(twin):
    done = twin.kubectl("-n", "rook-ceph", "delete", "deployment", "rook-ceph-osd-2")
    assert (done.returncode, done.stdout) == (0, 'deployment.apps "rook-ceph-osd-2" deleted\n')
    gone = twin.kubectl("-n", "rook-ceph", "get", "deployment", "rook-ceph-osd-2", "-o", "json")
    assert gone.returncode == 1 and 'deployments.apps "rook-ceph-osd-2" not found' in gone.stderr
    assert twin.ceph_status()["osdmap"]["num_up_osds"] == 2
    again = twin.kubectl("-n", "rook-ceph", "delete", "deployment", "rook-ceph-osd-2", "--ignore-not-found")
    assert (again.returncode, again.stdout) == (0, "")
    leases = twin.kubectl("-n", "kube-system", "delete", "lease", "homeops-maintenance")
    assert "NotFound" in leases.stderr  # leases still go their own way
