"""A node cluster.yaml has and the cluster has not yet: booted in maintenance mode beside a running
cluster, it has no OSD in Ceph and no etcd membership until `apply-config --insecure`; then a worker's
OSDs appear and Ceph backfills onto them until clean, and a control plane joins etcd as a learner that
is promoted to a voting member."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from homeops import load_cluster
from homeops.twin.cluster import advance

from tests.twin.conftest import ROOT

NEW_WORKER = {"name": "worker-4", "role": "worker", "address": "10.0.10.24", "install_disk": "/dev/sda",
              "mac_address": "bc:24:11:00:10:24",
              "osd_devices": ["/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100004"]}
NEW_CONTROL_PLANE = {"name": "cp-3", "role": "control-plane", "address": "10.0.10.13",
                     "install_disk": "/dev/nvme0n1", "mac_address": "bc:24:11:00:10:13"}


@pytest.fixture(scope="module")
def grown_cluster(tmp_path_factory):
    """cluster.yaml with a fourth worker and a third control plane."""
    data = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    data["nodes"] += [NEW_CONTROL_PLANE, NEW_WORKER]
    path = tmp_path_factory.mktemp("grown") / "cluster.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_cluster(path)


def configure(twin, tmp_path: Path, address: str) -> None:
    config = tmp_path / f"{address}.yaml"
    config.write_text("version: v1alpha1\n")
    done = twin.talosctl("apply-config", "--insecure", "--nodes", address, "--file", str(config))
    assert done.returncode == 0, done.stderr


def pg_states(twin) -> dict[str, int]:
    return {s["state_name"]: s["count"] for s in twin.ceph_status()["pgmap"]["pgs_by_state"]}


def test_a_worker_in_maintenance_mode_has_no_osd_and_ceph_stays_clean(make_twin, grown_cluster):
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: [worker-4, cp-3]\n", on=grown_cluster)

    status = twin.ceph_status()
    assert (status["osdmap"]["num_osds"], status["osdmap"]["num_up_osds"]) == (3, 3)
    assert status["health"]["status"] == "HEALTH_OK" and pg_states(twin) == {"active+clean": 137}
    pods = twin.json("kubectl", "-n", "rook-ceph", "get", "pods", "-l", "app=rook-ceph-osd", "-o", "json")["items"]
    assert sorted(p["spec"].get("nodeName") for p in pods) == ["worker-1", "worker-2", "worker-3"]
    members = twin.talosctl("-n", "10.0.10.11", "etcd", "members").stdout
    assert "cp-3" not in members


def test_a_configured_worker_brings_its_osds_and_ceph_backfills_onto_them_until_clean(make_twin, grown_cluster,
                                                                                      tmp_path):
    twin = make_twin("reboot_seconds: 20\nmaintenance: [worker-4]\n", on=grown_cluster)  # long: the clock is moved
    configure(twin, tmp_path, "10.0.10.24")

    advance(str(twin.directory), 20)  # the install's reboot is over: the kubelet registers
    status = twin.ceph_status()
    assert (status["osdmap"]["num_osds"], status["osdmap"]["num_up_osds"]) == (4, 4)
    states = pg_states(twin)
    assert states.get("active+remapped+backfilling", 0) > 0, states
    assert status["health"]["status"] == "HEALTH_OK"  # misplaced, not degraded: every copy is still there
    pods = twin.json("kubectl", "-n", "rook-ceph", "get", "pods", "-l", "app=rook-ceph-osd", "-o", "json")["items"]
    assert {p["metadata"]["labels"]["ceph-osd-id"]: p["spec"].get("nodeName") for p in pods}["3"] == "worker-4"

    advance(str(twin.directory), 10)  # recovery_seconds later
    assert pg_states(twin) == {"active+clean": 137}
    assert twin.ready("worker-4") == "True"


def test_a_configured_control_plane_joins_etcd_as_a_learner_then_votes(make_twin, grown_cluster, tmp_path):
    twin = make_twin("reboot_seconds: 20\nmaintenance: [cp-3]\n", on=grown_cluster)
    configure(twin, tmp_path, "10.0.10.13")

    advance(str(twin.directory), 20)
    learner = [line.split() for line in twin.talosctl("-n", "10.0.10.11", "etcd", "members").stdout.splitlines()[1:]]
    assert {row[2]: row[-1] for row in learner} == {"cp-1": "false", "cp-2": "false", "cp-3": "true"}

    advance(str(twin.directory), 10)  # promote_seconds: half a reboot
    voting = [line.split() for line in twin.talosctl("-n", "10.0.10.11", "etcd", "members").stdout.splitlines()[1:]]
    assert {row[2]: row[-1] for row in voting} == {"cp-1": "false", "cp-2": "false", "cp-3": "false"}
    assert twin.ready("cp-3") == "True"


def test_a_built_twin_has_the_secrets_bundle_the_bootstrap_would_have_kept_and_one_in_maintenance_none(
        make_twin, grown_cluster):
    import json

    built = make_twin("reboot_seconds: 0.3\nmaintenance: [worker-4]\n", on=grown_cluster)
    bundle = json.loads((built.directory / "bootstrap-files" / "talos" / "secrets.sops.yaml").read_text())
    assert bundle["sops"]["age"][0]["recipient"] == str(grown_cluster.secrets.age_public_key)
    assert all(v.startswith("ENC[AES256_GCM,data:") for v in bundle["cluster"].values())
    unbuilt = make_twin("reboot_seconds: 0.3\nmaintenance: all\n", on=grown_cluster)
    assert not (unbuilt.directory / "bootstrap-files").exists()  # the bootstrap makes it
