"""An OSD's life in the twin: out, safe-to-destroy, purge, a wiped disk and the new OSD Rook makes on it;
`talosctl wipe disk`, `kubectl delete node`, PersistentVolumes."""

from __future__ import annotations

import json

import pytest
import yaml

from homeops import load_cluster
from homeops.twin import cluster

from tests.twin.conftest import ROOT

WORKER_4 = {"name": "worker-4", "role": "worker", "address": "10.0.10.24", "install_disk": "/dev/sda",
            "mac_address": "bc:24:11:00:10:24",
            "osd_devices": ["/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100004"]}
DISK_1 = "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100001"


@pytest.fixture(scope="module")
def four_hosts(tmp_path_factory):
    data = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    data["nodes"].append(WORKER_4)
    path = tmp_path_factory.mktemp("four-hosts") / "cluster.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_cluster(path)


def ceph_json(twin, *words: str):
    done = twin.ceph(*words, "-f", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def osds(twin) -> dict[int, tuple[int, int, str]]:
    return {o["osd"]: (o["up"], o["in"], o["uuid"]) for o in ceph_json(twin, "osd", "dump")["osds"]}


def pgs(twin) -> list[str]:
    return [s["state_name"] for s in twin.ceph_status()["pgmap"]["pgs_by_state"]]


def scale(twin, name: str, replicas: int) -> None:
    done = twin.kubectl("-n", "rook-ceph", "scale", "deployment", name, f"--replicas={replicas}")
    assert done.returncode == 0, done.stderr


def test_osd_metadata_names_the_disk_as_talos_does(twin):
    meta = ceph_json(twin, "osd", "metadata", "0")
    disks = [json.loads(line) for line in twin.talosctl("-n", "10.0.10.21", "get", "disks", "-o", "json").stdout
             .replace("}\n{", "}\x00{").split("\x00")]
    by_name = {d["metadata"]["id"]: d["spec"].get("symlinks", []) for d in disks}
    assert DISK_1 in by_name[meta["devices"]]
    assert meta["device_paths"] == f"{meta['devices']}={DISK_1}"


def test_three_hosts_cannot_re_replicate_an_out_osd(twin):
    scale(twin, "rook-ceph-operator", 0)
    scale(twin, "rook-ceph-osd-0", 0)
    out = twin.ceph("osd", "out", "0")
    assert (out.returncode, out.stderr) == (0, "marked out osd.0. \n")
    assert twin.ceph("osd", "out", "0").stderr == "osd.0 is already out. \n"
    cluster.advance(str(twin.directory), 3600)
    assert pgs(twin) == ["active+undersized+degraded"]  # size 3 over 2 hosts: never clean
    refused = twin.ceph("osd", "safe-to-destroy", "osd.0")
    assert refused.returncode == 11 and "have no reported stats" in refused.stderr
    assert ceph_json(twin, "osd", "safe-to-destroy", "0")["missing_stats"] == [0]


def test_four_hosts_replace_an_osd_end_to_end(make_twin, four_hosts):
    twin = make_twin("reboot_seconds: 30\n", on=four_hosts)  # backfill takes 15 s, a new OSD 30 s
    before = osds(twin)
    scale(twin, "rook-ceph-operator", 0)
    scale(twin, "rook-ceph-osd-0", 0)
    assert twin.ceph("osd", "out", "0").returncode == 0
    assert "active+recovering+degraded" in pgs(twin)
    busy = twin.ceph("osd", "safe-to-destroy", "0")
    assert busy.returncode == 11, busy.stderr
    cluster.advance(str(twin.directory), 20)
    assert pgs(twin) == ["active+clean"]  # its copies now live on the three other hosts
    safe = twin.ceph("osd", "safe-to-destroy", "osd.0")
    assert (safe.returncode, safe.stdout) == (0, "")
    assert safe.stderr == "OSD(s) 0 are safe to destroy without reducing data durability.\n"
    wiped_too_soon = twin.talosctl("-n", "10.0.10.21", "wipe", "disk", "nvme0n1")
    assert (wiped_too_soon.returncode, wiped_too_soon.stderr) == (1, (
        "error wiping device on node 10.0.10.21: rpc error: code = FailedPrecondition desc = "
        'blockdevice "nvme0n1" is in use by disk "dm-0"\n'))  # the OSD still holds it
    no_force = twin.ceph("osd", "purge", "0")
    assert no_force.returncode == 1 and "--yes-i-really-mean-it" in no_force.stderr
    purged = twin.ceph("osd", "purge", "0", "--yes-i-really-mean-it")
    assert (purged.returncode, purged.stderr) == (0, "purged osd.0\n")
    assert 0 not in osds(twin)
    assert "osd.0" not in [n["name"] for n in ceph_json(twin, "osd", "tree")["nodes"]]
    assert twin.kubectl("-n", "rook-ceph", "delete", "deployment", "rook-ceph-osd-0").returncode == 0
    install = twin.talosctl("-n", "10.0.10.21", "wipe", "disk", "sda")
    assert install.returncode == 1 and 'blockdevice "sda" is in use by volume "EPHEMERAL"' in install.stderr
    wiped = twin.talosctl("-n", "10.0.10.21", "wipe", "disk", "nvme0n1")
    assert wiped.returncode == 0, wiped.stderr
    cluster.advance(str(twin.directory), 60)
    assert 0 not in osds(twin)  # the operator is at 0: nothing makes an OSD
    scale(twin, "rook-ceph-operator", 1)
    cluster.advance(str(twin.directory), 60)
    after = osds(twin)
    assert sorted(after) == [0, 1, 2, 3]  # Ceph hands out the lowest free id again
    assert after[0][:2] == (1, 1) and after[0][2] != before[0][2]  # a new OSD: up, in, a new uuid
    assert twin.ceph_status()["health"]["status"] == "HEALTH_OK"
    assert twin.json("kubectl", "-n", "rook-ceph", "get", "deployment", "rook-ceph-osd-0", "-o", "json")[
        "spec"]["replicas"] == 1


def test_a_wipe_that_leaves_cephs_label_gets_no_new_osd(make_twin, four_hosts):
    twin = make_twin("reboot_seconds: 0.3\nfaults:\n  - {fault: wipe-incomplete, node: worker-1}\n", on=four_hosts)
    scale(twin, "rook-ceph-osd-0", 0)
    assert twin.ceph("osd", "purge", "0", "--yes-i-really-mean-it").returncode == 0
    assert twin.talosctl("-n", "10.0.10.21", "wipe", "disk", "nvme0n1").returncode == 0
    cluster.advance(str(twin.directory), 600)
    assert sorted(osds(twin)) == [1, 2, 3]


def test_delete_node_and_persistent_volumes(twin):
    volumes = twin.json("kubectl", "get", "pv", "-o", "json")["items"]
    bound = {v["metadata"]["name"]: v["spec"].get("nodeAffinity") for v in volumes}
    assert bound["pvc-zfs-worker-1"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [
        "worker-1"]
    assert bound["pvc-rbd-grafana"] is None
    assert twin.talosctl("-n", "10.0.10.23", "reset", "--graceful", "--wait=false").returncode == 0
    done = twin.kubectl("delete", "node", "worker-3")
    assert (done.returncode, done.stdout) == (0, 'node "worker-3" deleted\n')
    names = [n["metadata"]["name"] for n in twin.json("kubectl", "get", "nodes", "-o", "json")["items"]]
    assert "worker-3" not in names
    again = twin.kubectl("delete", "node", "worker-3")
    assert again.returncode == 1 and 'nodes "worker-3" not found' in again.stderr
