"""Every parser over real outputs copied from upstream (tests/tools/fixtures/upstream/INDEX.yaml).

The hand-made fixtures beside them pin our own expectations; these pin the tools' real shapes,
so a parser that only understands what we imagined fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from homeops.tools import ceph, decode, talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import pg_state_is_clean

UPSTREAM = Path(__file__).parent / "fixtures" / "upstream"
INDEX = yaml.safe_load((UPSTREAM / "INDEX.yaml").read_text())


def text(name: str) -> str:
    return (UPSTREAM / name).read_text()


def test_the_index_names_every_upstream_file_and_where_it_comes_from():
    on_disk = {p.name for p in UPSTREAM.iterdir() if p.name != "INDEX.yaml"}
    assert set(INDEX) == on_disk
    for name, entry in INDEX.items():
        assert {"command", "repo", "path", "commit", "what"} <= set(entry), name
        assert "/" in entry["repo"], name


def test_ceph_status_of_luminous_reads_its_nested_osdmap_and_stale_pgs():
    status = ceph.parse_status(json.loads(text("ceph-status-luminous.json")))
    assert (status.health, status.num_osds, status.num_up_osds, status.num_in_osds) == ("HEALTH_WARN", 2, 1, 2)
    assert {c.name for c in status.checks} == {"OSD_DOWN", "OSD_HOST_DOWN", "PG_AVAILABILITY", "POOL_APP_NOT_ENABLED"}
    assert status.num_pgs == 200 and not status.pgs_clean
    assert status.unclean_pgs == "101 stale+active+clean"


def test_osd_trees_of_rook_map_hosts_to_their_osds():
    hosts = ceph.parse_osd_tree(json.loads(text("ceph-osd-tree-hosts.json")))
    assert hosts.osds_by_host == {"minikube": (0, 1, 2), "minikube-2": (3, 4, 5)}
    pacific = ceph.parse_osd_tree(json.loads(text("ceph-osd-tree-pacific.json")))
    assert pacific.osds_by_host == {"node0": (0,), "node1": (1,), "node2": (2,)}
    assert pacific.down_osds == ()


def test_ok_to_stop_answers_yes_with_json_and_no_with_ebusy_and_nothing_on_stdout():
    yes = ceph.parse_ok_to_stop(0, text("ceph-ok-to-stop.json"), "", [1, 2], ["ceph"])
    assert (yes.ok, yes.osds) == (True, (1, 2))
    no = ceph.parse_ok_to_stop(16, "", text("ceph-ok-to-stop-refused.stderr"), [3], ["ceph"])
    assert not no.ok
    assert no.reason == "Error EBUSY: unsafe to stop osd(s) at this time (50 PGs are or would become offline)"


def test_etcd_status_is_read_by_column_name_with_or_without_protocol_and_storage():
    for name in ("talosctl-etcd-status-before-v1.11.txt", "talosctl-etcd-status-v1.11.txt"):
        rows = talosctl.parse_etcd_status(text(name), ["talosctl", "etcd", "status"])
        assert len(rows) == 3, name
        assert all(r.errors == "" and not r.learner for r in rows), name
        assert {r.leader for r in rows} == {rows[0].leader} and len(rows[0].leader) == 16, name
    (first, *_) = talosctl.parse_etcd_status(text("talosctl-etcd-status-before-v1.11.txt"), ["talosctl"])
    assert (first.node, first.member, first.leader) == ("172.20.0.3", "ecebb05b59a776f1", "ecebb05b59a776f1")


def test_etcd_members_skip_the_warning_block_before_the_table():
    members = talosctl.parse_etcd_members(text("talosctl-etcd-members-with-warning.txt"), ["talosctl"])
    assert [(m.node, m.hostname, m.id) for m in members] == [
        ("192.168.1.52", "talos03", "4f3fb4c33808229a"),
        ("192.168.1.52", "talos02", "5225cca9d46339f4"),
        ("192.168.1.52", "talos01", "81048da043fcc3f3"),
    ]


def test_rooks_pg_health_rule_counts_snaptrim_healthy_and_stale_not():
    # Rook's defaultPgHealthyRegex: ^active(\+(clean|deep|scrubbing|snaptrim|snaptrim_wait))+$
    assert pg_state_is_clean("active+clean+snaptrim")
    assert pg_state_is_clean("active+clean+snaptrim_wait")
    assert pg_state_is_clean("active+clean+scrubbing+deep")
    assert not pg_state_is_clean("stale+active+clean")
    assert not pg_state_is_clean("active+undersized+degraded")


def talosctl_json(name: str) -> str:
    """A resource Talos's docs show as `-o yaml`, printed as `-o json` prints it: talosctl's
    output/json.go marshals the same YAML form to a map and writes it as indented JSON."""
    return "".join(json.dumps(doc, indent=4, default=str) + "\n" for doc in yaml.safe_load_all(text(name)))


def test_a_disk_of_talos_docs_is_read_with_its_path_size_and_symlinks():
    (disk,) = talosctl.parse_disks(talosctl_json("talosctl-get-disk-yaml.txt"), ["talosctl", "get", "disks"])
    assert (disk.node, disk.id, disk.dev_path, disk.size) == ("172.20.0.5", "sda", "/dev/sda", 10485760000)
    assert (disk.readonly, disk.cdrom, disk.model) == (False, False, "QEMU HARDDISK")
    assert "/dev/disk/by-path/pci-0000:00:07.0" in disk.names


def test_a_link_of_talos_docs_gives_its_mac():
    (link,) = talosctl.parse_links(talosctl_json("talosctl-get-links-yaml.txt"), ["talosctl", "get", "links"])
    assert (link.id, link.type, link.kind, link.hardware_addr) == ("eth0", "ether", "", "4e:95:8e:8f:e4:47")


def test_the_disks_table_of_talos_docs_names_the_ids_the_json_carries():
    # The table is what an operator sees; the runbook reads -o json. Both name disks by ID.
    rows = decode.table(text("talosctl-get-disks-v1.11.txt"), ("NODE", "ID", "SIZE"), ["talosctl", "get", "disks"])
    assert [r["ID"] for r in rows] == ["loop0", "nvme0n1", "sda", "sdb", "sdc", "vda"]


def test_helm_lists_a_release_with_its_chart_as_name_and_version():
    from homeops.tools import helm

    (release,) = helm.parse_list(text("helm-list.json"), ["helm", "list", "--output", "json"])
    assert (release["name"], release["status"], release["chart"]) == ("test-release", "deployed", "test-chart-1.0.0")


def test_an_etcd_snapshot_is_read_as_talosctl_prints_it():
    argv = ["talosctl", "-n", "IP", "etcd", "snapshot", "db.snapshot"]
    found = talosctl.parse_etcd_snapshot(text("talosctl-etcd-snapshot.txt"), argv)
    assert (found.path, found.saved_bytes, found.hash, found.revision, found.total_keys, found.total_size) == (
        "db.snapshot", 2015264, "c25fd181", 4193, 1287, 3035136)


def test_a_machine_config_resource_is_accepted_and_anything_else_refused_without_showing_it():
    argv = ["talosctl", "-n", "IP", "get", "machineconfig", "-o", "yaml"]
    resource = text("talosctl-get-machineconfig-yaml.txt")
    assert talosctl.checked_machine_config(resource, argv) == resource
    secret_looking = "node: IP\nmetadata:\n    type: Other\ntoken: abcdef.0123456789abcdef\n"
    try:
        talosctl.checked_machine_config(secret_looking, argv)
    except ToolError as exc:
        assert "abcdef" not in str(exc) and exc.stdout == "" and "not shown" in str(exc)
    else:
        raise AssertionError("a resource of another type was accepted")


def test_etcd_alarms_are_none_without_output_and_rows_under_the_header():
    argv = ["talosctl", "etcd", "alarm", "list"]
    assert talosctl.parse_etcd_alarms("", argv) == []
    rows = talosctl.parse_etcd_alarms("NODE         MEMBER             ALARM\n10.0.10.11   3a1b2c3d4e5f6071   NOSPACE\n", argv)
    assert [(a.node, a.member, a.alarm) for a in rows] == [("10.0.10.11", "3a1b2c3d4e5f6071", "NOSPACE")]
