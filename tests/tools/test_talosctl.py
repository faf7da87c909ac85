"""talosctl: version JSON lines, the machinestatus stream, etcd tables, and the upgrade commands."""

from __future__ import annotations

import pytest

from homeops.gate import Gate
from homeops.tools import talosctl
from homeops.tools.decode import ToolOutputInvalid
from homeops.tools.process import ToolError

IMAGE = "factory.talos.dev/installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.11.1"


def test_version_reads_the_servers_tag(fake_tools, fixture_text):
    fake_tools.respond(["talosctl", "-n", "10.0.10.21", "version", "--json"], stdout=fixture_text("talosctl-version.jsonl"))
    version = talosctl.version("10.0.10.21")
    assert (version.node, version.tag) == ("10.0.10.21", "v1.11.1")


def test_version_json_without_a_tag_is_refused(fixture_text):
    with pytest.raises(ToolOutputInvalid, match=r"\.version\.tag"):
        talosctl.parse_versions('{"metadata":{"hostname":"n"},"version":{}}\n', ["talosctl", "version", "--json"])


def test_machinestatus_is_a_stream_of_pretty_printed_objects(fixture_text):
    statuses = talosctl.parse_machine_status(fixture_text("talosctl-get-machinestatus.json"), ["talosctl"])
    assert [(s.node, s.stage, s.ready) for s in statuses] == [
        ("10.0.10.21", "running", True),
        ("10.0.10.22", "booting", False),
    ]
    assert statuses[1].unmet_conditions == ("nodeReady", "staticPods")


def test_etcd_members_table(fixture_text):
    members = talosctl.parse_etcd_members(fixture_text("talosctl-etcd-members.txt"), ["talosctl", "etcd", "members"])
    assert [(m.hostname, m.id, m.learner) for m in members] == [
        ("cp-1", "3f2b0a1c9d8e7f60", False),
        ("cp-2", "8e7d6c5b4a392817", False),
    ]


def test_etcd_status_with_an_empty_and_a_filled_errors_column(fixture_text):
    (healthy,) = talosctl.parse_etcd_status(fixture_text("talosctl-etcd-status.txt"), ["talosctl"])
    assert healthy.errors == "" and healthy.member == healthy.leader == "3f2b0a1c9d8e7f60"
    (failing,) = talosctl.parse_etcd_status(fixture_text("talosctl-etcd-status-errors.txt"), ["talosctl"])
    assert failing.node == "10.0.10.12"
    assert failing.errors == "etcdserver: no space, NOSPACE"


def test_upgrade_plan_prints_the_exact_command_and_runs_nothing(fake_tools, capsys):
    talosctl.upgrade(Gate(apply=False), "10.0.10.21", IMAGE, timeout=900)
    assert fake_tools.calls() == []
    assert capsys.readouterr().out.strip() == f"PLAN: talosctl -n 10.0.10.21 upgrade -i {IMAGE} --timeout 900s"


def test_a_rejected_upgrade_is_a_tool_error_with_talos_reason(fake_tools, fixture_text):
    argv = ["talosctl", "-n", "10.0.10.11", "upgrade", "-i", IMAGE, "--timeout", "600s", "--force"]
    fake_tools.respond(argv, stderr=fixture_text("talosctl-upgrade-rejected.stderr"), returncode=1)
    with pytest.raises(ToolError, match="insufficient to maintain quorum") as caught:
        talosctl.upgrade(Gate(apply=True), "10.0.10.11", IMAGE, timeout=600, force=True)
    assert caught.value.returncode == 1
    assert fake_tools.calls() == [argv]


def test_upgrade_k8s_dry_run_is_read_only_and_the_real_one_goes_through_the_gate(fake_tools, capsys):
    dry = ["talosctl", "-n", "10.0.10.11", "upgrade-k8s", "--to", "1.34.1", "--dry-run"]
    fake_tools.respond(dry, stdout="automatically detected the lowest Kubernetes version 1.34.0\n")
    assert "lowest Kubernetes version 1.34.0" in talosctl.upgrade_k8s_dry_run("10.0.10.11", "v1.34.1")
    talosctl.upgrade_k8s(Gate(apply=False), "10.0.10.11", "v1.34.1")
    assert fake_tools.calls() == [dry]
    assert capsys.readouterr().out.strip() == "PLAN: talosctl -n 10.0.10.11 upgrade-k8s --to 1.34.1"


def test_etcd_snapshot_goes_through_the_gate(fake_tools, capsys):
    talosctl.etcd_snapshot(Gate(apply=False), "10.0.10.11", "records/etcd.snapshot")
    assert fake_tools.calls() == []
    assert capsys.readouterr().out.strip() == "PLAN: talosctl -n 10.0.10.11 etcd snapshot records/etcd.snapshot"


def test_the_client_version_is_the_tag_of_the_client_block(fake_tools):
    fake_tools.respond(["talosctl", "version", "--client"],
                       stdout="Client:\n\tTag:         v1.10.6\n\tSHA:         6c3d1c2a\n\tOS/Arch:     linux/amd64\n")
    assert talosctl.client_version() == "v1.10.6"


def test_version_json_is_server_objects_only(fake_tools):
    line = '{"metadata":{"hostname":"10.0.10.21"},"version":{"tag":"v1.11.1","goVersion":"go1.24.6","os":"linux"}}\n'
    fake_tools.respond(["talosctl", "-n", "10.0.10.21", "version", "--json"], stdout=line)
    assert talosctl.version("10.0.10.21").tag == "v1.11.1"


# --- maintenance mode and the initial setup -----------------------------------------------------

def _as_talosctl_json(*resources: dict) -> str:
    """What `talosctl get -o json` prints: each resource as indented JSON, one after another."""
    import json

    return "".join(json.dumps(r, indent=4) + "\n" for r in resources)


def test_disks_of_a_node_in_maintenance_mode_are_read_without_credentials(fake_tools):
    argv = ["talosctl", "-n", "10.0.10.21", "get", "disks", "--insecure", "-o", "json"]
    fake_tools.respond(argv, stdout=_as_talosctl_json(
        {"node": "10.0.10.21", "metadata": {"id": "sda", "type": "Disks.block.talos.dev"},
         "spec": {"dev_path": "/dev/sda", "size": 512110190592, "readonly": False, "cdrom": False,
                  "model": "Samsung SSD", "serial": "S1", "symlinks": ["/dev/disk/by-id/ata-Samsung_SSD_S1"]}},
        {"node": "10.0.10.21", "metadata": {"id": "sr0"}, "spec": {"dev_path": "/dev/sr0", "cdrom": True}},
    ))
    sda, sr0 = talosctl.disks_insecure("10.0.10.21")
    assert (sda.id, sda.dev_path, sda.size, sda.cdrom) == ("sda", "/dev/sda", 512110190592, False)
    assert sda.names == {"/dev/sda", "/dev/disk/by-id/ata-Samsung_SSD_S1"}
    assert sr0.cdrom and sr0.size == 0 and sr0.symlinks == ()
    assert fake_tools.calls() == [argv]


def test_a_disk_without_dev_path_is_named_from_its_id_as_talos_before_v1_9_did():
    (disk,) = talosctl.parse_disks(_as_talosctl_json({"metadata": {"id": "vda"}, "spec": {"size": 1}}), ["talosctl"])
    assert disk.dev_path == "/dev/vda"


def test_a_resource_without_an_id_is_not_a_disk():
    with pytest.raises(ToolOutputInvalid, match="Disk resources"):
        talosctl.parse_disks('{"metadata": {}, "spec": {}}', ["talosctl", "get", "disks"])


def test_links_give_each_nics_mac_in_lower_case(fake_tools):
    argv = ["talosctl", "-n", "10.0.10.21", "get", "links", "--insecure", "-o", "json"]
    fake_tools.respond(argv, stdout=_as_talosctl_json(
        {"node": "10.0.10.21", "metadata": {"id": "lo"}, "spec": {"type": "loopback", "hardwareAddr": "00:00:00:00:00:00"}},
        {"node": "10.0.10.21", "metadata": {"id": "enp1s0"},
         "spec": {"type": "ether", "kind": "", "hardwareAddr": "BC:24:11:00:10:21", "permanentAddr": "bc:24:11:00:10:21"}},
    ))
    lo, nic = talosctl.links_insecure("10.0.10.21")
    assert (nic.id, nic.type, nic.kind, nic.hardware_addr, nic.permanent_addr) == (
        "enp1s0", "ether", "", "bc:24:11:00:10:21", "bc:24:11:00:10:21")
    assert lo.type == "loopback"


def test_a_node_not_in_maintenance_mode_is_a_tool_error(fake_tools):
    argv = ["talosctl", "-n", "10.0.10.21", "get", "links", "--insecure", "-o", "json"]
    fake_tools.respond(argv, returncode=1, stderr=(
        'error getting resources: rpc error: code = Unavailable desc = connection error: desc = "transport: '
        'authentication handshake failed: remote error: tls: certificate required"\n'))
    with pytest.raises(ToolError, match="certificate required"):
        talosctl.links_insecure("10.0.10.21")


def test_the_setup_changes_go_through_the_gate_with_their_exact_commands(fake_tools, capsys):
    gate = Gate(apply=False)
    talosctl.apply_config_insecure(gate, "10.0.10.11", "talos/generated/cp-1.yaml")
    talosctl.bootstrap(gate, "10.0.10.11")
    talosctl.kubeconfig(gate, "10.0.10.11", "kubeconfig")
    assert fake_tools.calls() == []
    assert capsys.readouterr().out.splitlines() == [
        "PLAN: talosctl apply-config --insecure --nodes 10.0.10.11 --file talos/generated/cp-1.yaml",
        "PLAN: talosctl bootstrap --nodes 10.0.10.11",
        "PLAN: talosctl kubeconfig --nodes 10.0.10.11 kubeconfig --merge=false --force",
    ]


def test_a_second_bootstrap_fails_with_talos_own_words(fake_tools):
    argv = ["talosctl", "bootstrap", "--nodes", "10.0.10.11"]
    fake_tools.respond(argv, returncode=1, stderr=(
        "error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n"))
    with pytest.raises(ToolError, match=talosctl.ALREADY_BOOTSTRAPPED):
        talosctl.bootstrap(Gate(apply=True), "10.0.10.11")
