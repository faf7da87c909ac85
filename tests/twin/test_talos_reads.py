"""talosctl's read commands and upgrade-k8s: version --json, machinestatus, etcd, health."""

from __future__ import annotations

import json


def _documents(text: str) -> list[dict]:
    """A stream of JSON documents, as `talosctl get -o json` prints it."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
    return documents


def test_version_json_prints_one_object_a_line_per_node(twin):
    done = twin.talosctl("-n", "10.0.10.21,10.0.10.22", "version", "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["metadata"]["hostname"] for line in lines] == ["10.0.10.21", "10.0.10.22"]
    assert {line["version"]["tag"] for line in lines} == {"v1.11.1"}
    assert lines[0]["version"]["os"] == "linux" and lines[0]["version"]["arch"] == "amd64"


def test_an_unknown_node_address_fails_like_an_unreachable_node(twin):
    done = twin.talosctl("-n", "10.0.99.99", "version", "--json")
    assert done.returncode == 1
    assert "* 10.0.99.99: rpc error: code = Unavailable" in done.stderr


def test_machinestatus_is_a_stream_of_objects_one_per_node(twin):
    done = twin.talosctl("-n", "10.0.10.11", "-n", "10.0.10.21", "get", "machinestatus", "-o", "json")
    assert done.returncode == 0, done.stderr
    statuses = _documents(done.stdout)
    assert [s["node"] for s in statuses] == ["10.0.10.11", "10.0.10.21"]
    assert all(s["spec"] == {"stage": "running", "status": {"ready": True, "unmetConditions": []}} for s in statuses)


def test_etcd_members_and_status_tables_have_the_reference_columns(twin, cluster):
    members = twin.talosctl("-n", "10.0.10.11", "etcd", "members")
    assert members.returncode == 0, members.stderr
    lines = members.stdout.splitlines()
    assert lines[0].split() == ["NODE", "ID", "HOSTNAME", "PEER", "URLS", "CLIENT", "URLS", "LEARNER"]
    assert [line.split()[2] for line in lines[1:]] == [n.name for n in cluster.control_planes]
    status = twin.talosctl("-n", "10.0.10.11", "etcd", "status")
    header = status.stdout.splitlines()[0]
    for column in (
        "NODE",
        "MEMBER",
        "DB SIZE",
        "IN USE",
        "LEADER",
        "RAFT INDEX",
        "RAFT TERM",
        "RAFT APPLIED INDEX",
        "LEARNER",
        "PROTOCOL",
        "STORAGE",
        "ERRORS",
    ):
        assert column in header
    worker = twin.talosctl("-n", "10.0.10.21", "etcd", "members")
    assert worker.returncode == 1 and "only available on control plane nodes" in worker.stderr


def test_etcd_unhealthy_member_shows_an_error_and_fails_health(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: etcd-unhealthy, node: cp-2}]\n")
    status = twin.talosctl("-n", "10.0.10.11,10.0.10.12", "etcd", "status")
    rows = {line.split()[0]: line for line in status.stdout.splitlines()[1:]}
    assert rows["10.0.10.12"].endswith("etcdserver: no leader")
    assert "etcdserver" not in rows["10.0.10.11"]
    health = twin.talosctl("-n", "10.0.10.11", "health", "--wait-timeout", "2m")
    assert health.returncode == 1
    assert "waiting for etcd to be healthy: " in health.stdout
    assert health.stderr.startswith("healthcheck error: ")


def test_health_passes_on_a_healthy_cluster(twin):
    done = twin.talosctl("-n", "10.0.10.11", "health", "--wait-timeout", "2m")
    assert done.returncode == 0, done.stderr
    assert "waiting for all k8s nodes to report ready: OK" in done.stdout
    assert "waiting for etcd to be healthy: OK" in done.stdout


def test_health_fails_while_a_node_is_not_ready(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: never-ready, node: worker-2}]\n")
    twin.talosctl("-n", "10.0.10.22", "upgrade", "-i", twin.image("v1.11.2"), "--wait=false")
    done = twin.talosctl("-n", "10.0.10.11", "health", "--wait-timeout=2m")
    assert done.returncode == 1
    assert "worker-2" in done.stderr or "10.0.10.22" in done.stderr
    assert done.stderr.startswith("healthcheck error: ")


def test_etcd_snapshot_writes_a_real_file(twin, tmp_path):
    target = tmp_path / "etcd.snapshot"
    done = twin.talosctl("-n", "10.0.10.11", "etcd", "snapshot", str(target))
    assert done.returncode == 0, done.stderr
    size = target.stat().st_size
    assert size > 0
    assert done.stdout.splitlines()[0] == f'etcd snapshot saved to "{target}" ({size} bytes)'
    missing_dir = twin.talosctl("-n", "10.0.10.11", "etcd", "snapshot", str(tmp_path / "no" / "such" / "file"))
    assert missing_dir.returncode == 1 and "no such file or directory" in missing_dir.stderr


def test_upgrade_k8s_dry_run_changes_nothing_and_the_real_run_moves_every_kubelet(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nkubernetes_version: v1.33.4\n")
    dry = twin.talosctl("-n", "10.0.10.11", "upgrade-k8s", "--to", "1.34.1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert 'updating kubelet to version "1.34.1"' in dry.stdout
    assert _kubelets(twin) == {"v1.33.4"}
    real = twin.talosctl("-n", "10.0.10.11", "upgrade-k8s", "--to", "v1.34.1")
    assert real.returncode == 0, real.stderr
    assert _kubelets(twin) == {"v1.34.1"}


def test_upgrade_k8s_refuses_two_minors_at_once_and_versions_talos_cannot_run(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nkubernetes_version: v1.32.3\n")
    jump = twin.talosctl("-n", "10.0.10.11", "upgrade-k8s", "--to", "1.34.1")
    assert jump.returncode == 1
    assert 'unsupported upgrade path 1.32->1.34 (from "1.32.3" to "1.34.1")' in jump.stderr
    newer = make_twin("reboot_seconds: 0.3\n")
    too_new = newer.talosctl("-n", "10.0.10.11", "upgrade-k8s", "--to", "1.35.0")
    assert too_new.returncode == 1
    assert "version of Kubernetes 1.35.0 is too new to be used with Talos v1.11.1" in too_new.stderr
    assert _kubelets(newer) == {"v1.34.1"}


def _kubelets(twin) -> set[str]:
    return {
        i["status"]["nodeInfo"]["kubeletVersion"] for i in twin.json("kubectl", "get", "nodes", "-o", "json")["items"]
    }
