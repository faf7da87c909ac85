"""Maintenance mode: nodes booted from the install image, unconfigured. Only `--insecure` talosctl
calls answer; the nodes are neither in Kubernetes nor in etcd; `get disks|links --insecure` show
the install disk and MAC cluster.yaml gives; `apply-config --insecure` installs and reboots them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from homeops.twin import ScenarioInvalid, load_scenario
from homeops.twin.cluster import advance

UPSTREAM = Path(__file__).resolve().parents[1] / "tools" / "fixtures" / "upstream"
UNKNOWN_AUTHORITY = (
    'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: '
    'tls: failed to verify certificate: x509: certificate signed by unknown authority"'
)
CERTIFICATE_REQUIRED = "remote error: tls: certificate required"


def node_names(twin) -> list[str]:
    return [n["metadata"]["name"] for n in twin.json("kubectl", "get", "nodes", "-o", "json")["items"]]


def machine_config(tmp_path: Path) -> str:
    path = tmp_path / "worker.yaml"
    path.write_text("version: v1alpha1\nmachine:\n  type: worker\n")
    return str(path)


def test_a_node_in_maintenance_is_not_in_kubernetes_nor_in_etcd(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: [worker-3, cp-2]\n")

    assert node_names(twin) == ["cp-1", "worker-1", "worker-2"]
    members = twin.talosctl("-n", "10.0.10.11", "etcd", "members")
    assert members.returncode == 0, members.stderr
    assert "cp-1" in members.stdout and "cp-2" not in members.stdout
    # cp-1 alone is a one-member etcd with quorum: the API answers.
    assert twin.kubectl("get", "nodes").returncode == 0


def test_only_insecure_calls_answer_in_maintenance_mode(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: [worker-3]\n")

    refused = twin.talosctl("-n", "10.0.10.23", "version")
    assert refused.returncode == 1
    assert f"* 10.0.10.23: {UNKNOWN_AUTHORITY}" in refused.stderr
    insecure = twin.talosctl("-n", "10.0.10.23", "version", "--insecure")
    assert insecure.returncode == 0, insecure.stderr
    assert "Tag:         v1.11.1" in insecure.stdout
    stage = twin.talosctl("-n", "10.0.10.23", "get", "machinestatus", "--insecure", "-o", "json")
    assert json.loads(stage.stdout)["spec"]["stage"] == "maintenance"
    # A configured node's apid wants the client certificate --insecure does not send.
    configured = twin.talosctl("-n", "10.0.10.22", "get", "disks", "--insecure")
    assert configured.returncode == 1 and CERTIFICATE_REQUIRED in configured.stderr


def test_maintenance_all_has_no_kubernetes_api(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: all\n")

    done = twin.kubectl("get", "nodes")
    assert done.returncode == 1
    assert "The connection to the server 10.0.50.50:6443 was refused" in done.stderr
    assert all(n.get("maintenance") for n in twin.state()["nodes"])


def test_disks_and_links_report_the_install_disk_and_mac_of_cluster_yaml(make_twin, cluster):
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: all\n")

    for node in cluster.nodes:
        done = twin.talosctl("-n", str(node.address), "get", "disks", "--insecure", "-o", "yaml")
        assert done.returncode == 0, done.stderr
        disks = list(yaml.safe_load_all(done.stdout))
        assert {d["node"] for d in disks} == {str(node.address)}
        assert disks[0]["spec"]["dev_path"] == node.install_disk
        for device in node.osd_devices:  # the OSD disks, found by their by-id link
            assert any(device in d["spec"].get("symlinks", []) for d in disks)
        links = twin.talosctl("-n", str(node.address), "get", "links", "--insecure", "-o", "json")
        assert links.returncode == 0, links.stderr
        decoder, text, found = json.JSONDecoder(), links.stdout.strip(), []
        while text:  # a stream of indented JSON objects, not an array
            item, end = decoder.raw_decode(text)
            found.append(item)
            text = text[end:].strip()
        nics = [link for link in found if link["spec"]["type"] == "ether"]
        assert [nic["spec"]["hardwareAddr"] for nic in nics] == [node.mac_address]


def test_disk_and_link_documents_have_the_fields_of_talos_v1_11(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: [worker-1]\n")
    real_disk = yaml.safe_load((UPSTREAM / "talosctl-get-disk-yaml.txt").read_text())
    real_link = yaml.safe_load((UPSTREAM / "talosctl-get-links-yaml.txt").read_text())

    def documents(kind: str) -> list[dict]:
        done = twin.talosctl("-n", "10.0.10.21", "get", kind, "--insecure", "-o", "yaml")
        return list(yaml.safe_load_all(done.stdout))

    disk, link = documents("disks")[0], documents("links")[1]

    assert list(disk) == list(real_disk) == ["node", "metadata", "spec"]
    assert list(disk["metadata"]) == list(real_disk["metadata"])
    # The docs page says human_size; v1.11's DiskSpec says pretty_size. modalias and rotational are omitempty.
    assert set(real_disk["spec"]) - {"human_size", "modalias", "rotational"} <= set(disk["spec"])
    assert "pretty_size" in disk["spec"]
    assert list(link["metadata"]) == list(real_link["metadata"])
    assert set(real_link["spec"]) <= set(link["spec"])
    table = twin.talosctl("-n", "10.0.10.21", "get", "disks", "--insecure").stdout.splitlines()[0].split()
    assert table[:5] == ["NODE", "NAMESPACE", "TYPE", "ID", "VERSION"]


def test_apply_config_insecure_installs_reboots_and_the_node_joins(make_twin, tmp_path):
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: [worker-3]\n")
    config = machine_config(tmp_path)

    without = twin.talosctl("-n", "10.0.10.23", "apply-config", "--file", config)
    assert without.returncode == 1
    assert without.stderr.strip() == f"error applying new configuration: {UNKNOWN_AUTHORITY}"
    done = twin.talosctl("-n", "10.0.10.23", "apply-config", "--insecure", "--file", config)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

    advance(str(twin.directory), 1.0)
    node = twin.node("worker-3")
    assert twin.ready(node) == "True"
    assert node["status"]["nodeInfo"]["osImage"] == f"Talos ({cluster_talos(twin)})"
    again = twin.talosctl("-n", "10.0.10.23", "apply-config", "--insecure", "--file", config)
    assert again.returncode == 1 and CERTIFICATE_REQUIRED in again.stderr
    assert twin.talosctl("-n", "10.0.10.23", "version").returncode == 0


def cluster_talos(twin) -> str:
    return twin.state()["versions"]["talos"]


def test_apply_config_errors_are_talosctls(make_twin, tmp_path):
    twin = make_twin("reboot_seconds: 0.3\nmaintenance: [worker-3]\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")

    assert twin.talosctl("-n", "10.0.10.23", "apply-config", "--insecure").stderr.strip() == (
        "no filename supplied for configuration")
    assert twin.talosctl("-n", "10.0.10.23", "apply-config", "--insecure", "--file", str(empty)).stderr.strip() == (
        "no configuration data read")
    missing = twin.talosctl("-n", "10.0.10.23", "apply-config", "--insecure", "--file", str(tmp_path / "nope.yaml"))
    nope = tmp_path / "nope.yaml"
    assert missing.stderr.strip() == (
        f'failed to read configuration from "{nope}": open {nope}: no such file or directory')
    staged = twin.talosctl("-n", "10.0.10.23", "apply-config", "--insecure", "--mode", "staged", "--file",
                           machine_config(tmp_path))
    assert "apply configuration --mode='staged' is not supported in maintenance mode" in staged.stderr
    assert twin.state()["nodes"][-1]["maintenance"] is True  # nothing applied


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("maintenance: some\n", "1:14: maintenance: must be `all` or a list of node names, found the string 'some'"),
        ("maintenance: [worker-1, 3]\n", "1:25: maintenance[1]: must be a node name, found an integer (3)"),
        ("maintenance: [worker-1, worker-1]\n", "1:25: maintenance[1]: worker-1 is given twice"),
        ("maintenance: [nobody]\n", "1:15: maintenance[0]: no node named 'nobody' in cluster.yaml (nodes: cp-1, cp-2, "
                                    "worker-1, worker-2, worker-3)"),
    ],
)
def test_the_maintenance_key_is_checked_like_the_others(tmp_path, cluster, text, problem):
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path, cluster)
    assert caught.value.problems == [f"{path}:{problem}"]
