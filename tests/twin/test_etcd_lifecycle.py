"""etcd from nothing to disaster recovery: bootstrap exactly once, learners promoted, leave and
remove-member, a 2-member etcd without quorum (the API down), snapshot and `bootstrap
--recover-from` back to its revision, reset with its wipe labels, `service etcd`, alarms, and the
faults etcd-member-lost, control-plane-lost and etcd-nospace."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from homeops.redaction import redact
from homeops.twin import state
from homeops.twin.cluster import advance

CP1, CP2, W1 = "10.0.10.11", "10.0.10.12", "10.0.10.21"
ADDRESSES = ("10.0.10.11", "10.0.10.12", "10.0.10.21", "10.0.10.22", "10.0.10.23")
API_DOWN = "The connection to the server 10.0.50.50:6443 was refused"


def members(twin, address: str = CP1) -> dict[str, str]:
    """hostname -> LEARNER column of `talosctl etcd members`."""
    done = twin.talosctl("-n", address, "etcd", "members")
    assert done.returncode == 0, done.stderr
    return {row.split()[2]: row.split()[-1] for row in done.stdout.splitlines()[1:]}


def service_state(twin, address: str) -> str:
    done = twin.talosctl("-n", address, "service", "etcd")
    assert done.returncode == 0, done.stderr
    return re.search(r"^STATE\s+(\S+)", done.stdout, re.M).group(1)


def installed(make_twin, tmp_path):
    """A twin in maintenance mode whose five nodes have had their configuration applied and booted."""
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: all\n")
    config = tmp_path / "machine.yaml"
    config.write_text("version: v1alpha1\n")
    for address in ADDRESSES:
        done = twin.talosctl("-n", address, "apply-config", "--insecure", "--file", str(config))
        assert done.returncode == 0, done.stderr
    advance(str(twin.directory), 1.0)
    return twin


def set_cni(twin) -> None:
    with state.change(str(twin.directory)) as current:
        current["cni"] = True


def test_bootstrap_once_then_learner_then_member_and_nodes_ready_with_a_cni(make_twin, tmp_path):
    twin = installed(make_twin, tmp_path)
    assert API_DOWN in twin.kubectl("get", "nodes").stderr
    assert service_state(twin, CP1) == service_state(twin, CP2) == "Preparing"
    assert "context deadline exceeded" in twin.talosctl("-n", CP1, "etcd", "members").stderr

    worker = twin.talosctl("-n", W1, "bootstrap")
    assert worker.returncode == 1
    assert worker.stderr.strip() == ("error executing bootstrap: rpc error: code = FailedPrecondition desc = "
                                     "bootstrap can only be performed on a control plane node")
    with state.change(str(twin.directory)) as current:
        current["timing"]["promote_seconds"] = 60.0  # a learner stays one long enough to be seen
    first = twin.talosctl("-n", CP1, "bootstrap")
    assert (first.returncode, first.stdout, first.stderr) == (0, "", "")

    assert members(twin) == {"cp-1": "false", "cp-2": "true"}  # cp-2 joins as a learner
    nodes = twin.json("kubectl", "get", "nodes", "-o", "json")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["cp-1", "cp-2", "worker-1", "worker-2", "worker-3"]
    assert {twin.ready(n) for n in nodes} == {"False"}  # no CNI yet: NotReady, as a real kubelet says
    ages = [row.split()[3] for row in twin.kubectl("get", "nodes").stdout.splitlines()[1:]]
    assert all(age.endswith("s") for age in ages), ages  # registered just now, not 30 days ago
    advance(str(twin.directory), 61.0)
    assert members(twin) == {"cp-1": "false", "cp-2": "false"}
    assert service_state(twin, CP2) == "Running"

    for address in (CP1, CP2):
        again = twin.talosctl("-n", address, "bootstrap")
        assert again.returncode == 1
        assert again.stderr.strip() == ("error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data "
                                        "directory is not empty")
    set_cni(twin)
    for node in twin.json("kubectl", "get", "nodes", "-o", "json")["items"]:
        assert twin.ready(node) == "True"
        assert node["status"]["nodeInfo"]["osImage"] == f"Talos ({twin.state()['versions']['talos']})"


def test_kubeconfig_is_written_private_and_redaction_sees_its_key(make_twin, tmp_path):
    twin = installed(make_twin, tmp_path)
    assert twin.talosctl("-n", CP1, "bootstrap").returncode == 0
    target = tmp_path / "kubeconfig"

    done = twin.talosctl("-n", CP1, "kubeconfig", str(target))
    assert done.returncode == 0, done.stderr
    text = target.read_text()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert "server: https://10.0.50.50:6443" in text
    key = re.search(r"client-key-data: (\S+)", text).group(1)
    assert key not in redact(text)
    assert twin.talosctl("-n", CP1, "kubeconfig", str(target), "--merge=false").returncode == 1
    assert twin.talosctl("-n", CP1, "kubeconfig", str(target), "--force").returncode == 0
    # Never ~/.kube/config: a real kubectl must not learn a cluster address from the twin.
    assert twin.talosctl("-n", CP1, "kubeconfig").returncode == 1
    foreign = tmp_path / "other"
    foreign.write_text("apiVersion: v1\n")
    assert twin.talosctl("-n", CP1, "kubeconfig", str(foreign)).returncode == 1
    assert foreign.read_text() == "apiVersion: v1\n"


def test_reset_without_graceful_loses_quorum_and_a_snapshot_brings_its_revision_back(twin, tmp_path):
    snapshot = tmp_path / "etcd.snapshot"
    taken = twin.talosctl("-n", CP1, "etcd", "snapshot", str(snapshot))
    assert taken.returncode == 0, taken.stderr
    revision = json.loads(snapshot.read_text())["revision"]
    assert f"revision {revision}," in taken.stdout
    twin.kubectl("cordon", "worker-1")  # a change after the snapshot: the restore takes it back
    assert twin.state()["resource_version"] > revision

    lost = twin.talosctl("-n", CP2, "reset", "--graceful=false", "--reboot", "--system-labels-to-wipe", "EPHEMERAL")
    assert lost.returncode == 0, lost.stderr
    advance(str(twin.directory), 1.0)  # cp-2 is back, its etcd data gone
    assert API_DOWN in twin.kubectl("get", "nodes").stderr  # one of two members gone: no quorum
    assert service_state(twin, CP2) == "Preparing"
    removal = twin.talosctl("-n", CP1, "etcd", "remove-member", twin.state()["nodes"][1]["member_id"])
    assert "failed to remove member: etcdserver: no leader" in removal.stderr

    wiped = twin.talosctl("-n", CP1, "reset", "--graceful=false", "--reboot", "--system-labels-to-wipe=EPHEMERAL")
    assert wiped.returncode == 0, wiped.stderr
    advance(str(twin.directory), 1.0)
    assert service_state(twin, CP1) == "Preparing"
    recovered = twin.talosctl("-n", CP1, "bootstrap", "--recover-from", str(snapshot))
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.startswith(f'recovering from snapshot "{snapshot}": hash ')
    assert f"revision {revision}, total keys" in recovered.stdout

    advance(str(twin.directory), 2.0)
    assert members(twin) == {"cp-1": "false", "cp-2": "false"}
    assert twin.state()["etcd"]["restored_revision"] == revision
    nodes = twin.json("kubectl", "get", "nodes", "-o", "json")["items"]
    assert {twin.ready(n) for n in nodes} == {"True"}


def test_recovering_a_copied_database_needs_the_skip_hash_check(make_twin, tmp_path):
    twin = make_twin("reboot_seconds: 0.3\nfaults:\n  - {fault: control-plane-lost, node: cp-2}\n")
    # No quorum, so no snapshot: the guide copies the database off the surviving member instead.
    assert "etcdserver: no leader" in twin.talosctl("-n", CP1, "etcd", "snapshot", str(tmp_path / "s")).stderr
    copied = twin.talosctl("-n", CP1, "cp", "/var/lib/etcd/member/snap/db", str(tmp_path / "copy"))
    assert copied.returncode == 0, copied.stderr
    copy = tmp_path / "copy" / "db"
    for address in (CP1,):
        assert twin.talosctl("-n", address, "reset", "--graceful=false", "--reboot",
                             "--system-labels-to-wipe", "EPHEMERAL").returncode == 0
    advance(str(twin.directory), 1.0)

    assert twin.talosctl("-n", CP1, "bootstrap", "--recover-from", str(copy)).returncode == 0
    info = twin.talosctl("-n", CP1, "service", "etcd").stdout
    assert "STATE    Failed" in info
    assert "snapshot missing hash but --skip-hash-check=false" in info

    assert twin.talosctl("-n", CP1, "reset", "--graceful=false", "--reboot",
                         "--system-labels-to-wipe", "EPHEMERAL").returncode == 0
    advance(str(twin.directory), 1.0)
    skipped = twin.talosctl("-n", CP1, "bootstrap", "--recover-from", str(copy), "--recover-skip-hash-check")
    assert skipped.returncode == 0, skipped.stderr
    advance(str(twin.directory), 1.0)
    assert service_state(twin, CP1) == "Running"
    assert twin.kubectl("get", "nodes").returncode == 0  # cp-1 alone: the API is back; cp-2 is named by node-add


def test_graceful_reset_leaves_etcd_first_and_the_node_rejoins_as_a_new_member(make_twin, three_cp_cluster):
    twin = make_twin("reboot_seconds: 0.3\n", on=three_cp_cluster)
    before = twin.state()["nodes"][2]["member_id"]

    done = twin.talosctl("-n", W1, "reset", "--reboot", "--system-labels-to-wipe", "EPHEMERAL")
    assert done.returncode == 0, done.stderr
    advance(str(twin.directory), 2.0)
    assert members(twin) == {"cp-1": "false", "cp-2": "false", "worker-1": "false"}
    assert twin.state()["nodes"][2]["member_id"] != before
    assert twin.ready("worker-1") == "True"
    assert twin.node("worker-1")["spec"].get("unschedulable") is None  # Talos uncordons what it cordoned


def test_etcd_leave_and_remove_member_on_a_three_member_etcd(make_twin, three_cp_cluster):
    twin = make_twin("reboot_seconds: 0.3\n", on=three_cp_cluster)

    left = twin.talosctl("-n", W1, "etcd", "leave")
    assert (left.returncode, left.stdout, left.stderr) == (0, "", "")
    assert members(twin) == {"cp-1": "false", "cp-2": "false"}
    assert service_state(twin, W1) == "Finished"
    missing = twin.talosctl("-n", CP1, "etcd", "remove-member", "0123456789abcdef")
    assert "rpc error: code = NotFound desc = etcdserver: member not found" in missing.stderr
    cp2 = twin.state()["nodes"][1]["member_id"]
    assert twin.talosctl("-n", CP1, "etcd", "remove-member", cp2).returncode == 0
    assert members(twin) == {"cp-1": "false"}
    assert twin.kubectl("get", "nodes").returncode == 0  # one member, one vote: quorum


def test_faults_member_lost_control_plane_lost_and_nospace(make_twin):
    lost = make_twin("reboot_seconds: 0.3\nfaults:\n  - {fault: etcd-member-lost, node: cp-2}\n")
    assert API_DOWN in lost.kubectl("get", "nodes").stderr
    assert lost.talosctl("-n", CP2, "version").returncode == 0  # the node answers
    assert service_state(lost, CP2) == "Preparing"

    gone = make_twin("reboot_seconds: 0.3\nfaults:\n  - {fault: control-plane-lost, node: cp-2}\n")
    assert API_DOWN in gone.kubectl("get", "nodes").stderr
    assert "connect: connection refused" in gone.talosctl("-n", CP2, "version").stderr
    assert "etcdserver: no leader" in gone.talosctl("-n", CP1, "etcd", "remove-member",
                                                    gone.state()["nodes"][1]["member_id"]).stderr

    full = make_twin("reboot_seconds: 0.3\nfaults:\n  - {fault: etcd-nospace, node: cp-1}\n")
    alarms = full.talosctl("-n", CP1, "etcd", "alarm", "list")
    assert alarms.returncode == 0, alarms.stderr
    assert alarms.stdout.splitlines()[0].split() == ["NODE", "MEMBER", "ALARM"]
    assert alarms.stdout.splitlines()[1].split() == [CP1, full.state()["nodes"][0]["member_id"], "NOSPACE"]
    assert make_twin().talosctl("-n", CP1, "etcd", "alarm", "list").stdout == ""


def test_etcd_faults_name_a_control_plane(tmp_path, cluster):
    from homeops.twin import ScenarioInvalid, load_scenario

    path = tmp_path / "scenario.yaml"
    path.write_text("faults:\n  - {fault: control-plane-lost, node: worker-1}\n")
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path, cluster)
    assert caught.value.problems == [
        f"{path}:2:39: faults[0].node: fault control-plane-lost: worker-1 is a worker and runs no etcd member; "
        "name a control-plane node"
    ]


UPSTREAM = Path(__file__).resolve().parents[1] / "tools" / "fixtures" / "upstream"


def test_service_etcd_and_the_recovery_line_read_like_talos_docs(make_twin, tmp_path):
    twin = make_twin("reboot_seconds: 0.3\nfaults:\n  - {fault: etcd-member-lost, node: cp-2}\n")
    real = (UPSTREAM / "talosctl-service-etcd-preparing.txt").read_text().splitlines()
    ours = twin.talosctl("-n", CP2, "service", "etcd").stdout.splitlines()

    assert [line.split()[0] for line in ours[:5]] == [line.split()[0] for line in real[:5]]
    assert [line.split()[1] for line in ours[1:4]] == [line.split()[1] for line in real[1:4]]
    event = re.compile(r"^EVENTS +\[Preparing\]: Running pre state \(\d+s ago\)$")
    assert event.match(real[4]) and event.match(ours[4]), ours
    assert len(ours[0]) - len(ours[0].split()[-1]) == len(real[0]) - len(real[0].split()[-1])  # same padding

    recovery = re.compile(r'^recovering from snapshot "[^"]+": hash [0-9a-f]{8}, revision \d+, total keys \d+, '
                          r"total size \d+$")
    assert recovery.match((UPSTREAM / "talosctl-bootstrap-recover-from.txt").read_text().strip())
    healthy = make_twin()
    snapshot = tmp_path / "db.snapshot"
    assert healthy.talosctl("-n", CP1, "etcd", "snapshot", str(snapshot)).returncode == 0
    for address in (CP1, CP2):
        healthy.talosctl("-n", address, "reset", "--graceful=false", "--reboot", "--system-labels-to-wipe=EPHEMERAL")
    advance(str(healthy.directory), 1.0)
    line = healthy.talosctl("-n", CP1, "bootstrap", f"--recover-from={snapshot}").stdout.strip()
    assert recovery.match(line), line
