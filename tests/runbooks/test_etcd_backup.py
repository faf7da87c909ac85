"""Drills of runbooks/etcd-backup.ipynb: a backup leaves only age-encrypted files that decrypt (with
the test's own identity) to the twin's snapshot and machine configurations, named in the record
with their sha256; retention; and what an unhealthy etcd does to it."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import pytest

from homeops import load_cluster
from homeops.twin import cluster as twin_cluster
from homeops.twin.talos import machine_config

from tests.runbooks.backup_files import memory  # noqa: F401 (a fixture)
from tests.runbooks.backup_files import AGE_HEADER, AgeIdentity, plaintext_leaks

pytestmark = pytest.mark.slow

CONTROL_PLANES = {"cp-1": "10.0.10.11", "cp-2": "10.0.10.12"}


@pytest.fixture
def age():
    return AgeIdentity()


def backups(drill) -> list[Path]:
    root = drill.twin / "backups"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def twin_state(drill) -> dict:
    twin_cluster.advance(str(drill.twin), 0)
    return json.loads((drill.twin / "state.json").read_text())


def machine_secrets(drill) -> list[bytes]:
    state = twin_state(drill)
    return [machine_config.token(state, node).encode() for node in state["nodes"]]


def test_a_backup_leaves_only_encrypted_files_that_restore_the_snapshot_and_every_config(make_drill, memory, age):
    drill = make_drill({}, edit=age.edit)
    revision = twin_state(drill)["resource_version"]
    result = drill.run("etcd-backup", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: etcd-backup (apply)")

    # From cp-1's own address, never the VIP, into memory.
    vip = str(load_cluster(drill.config).network.control_plane_vip)
    assert result.changes == [f"talosctl -n 10.0.10.11 etcd snapshot {memory}/{_only(memory, result)}/etcd.snapshot"]
    assert vip not in result.changes[0]

    [backup] = backups(drill)
    # A rehearsal's backups go into the twin: its retention never removes, nor a rehearsed restore picks, a real one.
    assert not (drill.directory / "backups").exists()
    nodes = [n.name for n in load_cluster(drill.config).nodes]
    encrypted = ["etcd.snapshot.age", *(f"machineconfig-{n}.yaml.age" for n in nodes)]
    assert sorted(p.name for p in backup.iterdir()) == sorted([*encrypted, "manifest.json"])
    for name in encrypted:
        assert (backup / name).read_bytes().startswith(AGE_HEADER), name
        assert (backup / name).stat().st_mode & 0o077 == 0, name

    # The twin's database at the snapshot's moment: after the run took its Lease (a write), before it
    # gave it back.
    snapshot = json.loads(age.decrypt(backup / "etcd.snapshot.age"))
    assert snapshot["snapshot"] == "homeops-twin"
    assert revision < snapshot["revision"] < twin_state(drill)["resource_version"]
    revision = snapshot["revision"]
    for node in load_cluster(drill.config).nodes:
        printed = drill.tool("talosctl", "-n", str(node.address), "get", "machineconfig", "-o", "yaml").stdout
        assert age.decrypt(backup / f"machineconfig-{node.name}.yaml.age").decode() == printed

    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["source"] == {"node": "cp-1", "address": "10.0.10.11"}
    assert manifest["snapshot"]["revision"] == revision
    listed = {f["name"]: f["sha256"] for f in manifest["files"]}
    assert listed == {name: hashlib.sha256((backup / name).read_bytes()).hexdigest() for name in encrypted}
    [record] = [p for p in drill.records.rglob("*.ipynb")]
    record_text = record.read_text()
    for name, digest in listed.items():
        assert f"{backup / name} sha256 {digest}" in result.stdout
        assert digest in record_text
    assert f"revision {revision}, hash " in record_text

    # Nothing in plain text anywhere: the drill (backups, records, the twin), the scratch directory
    # (empty again) and the system's temporary directory.
    assert list(memory.iterdir()) == []
    assert plaintext_leaks([drill.directory, memory], machine_secrets(drill)) == []
    assert not [p for p in Path(tempfile.gettempdir()).glob("homeops-backup-*")]


def _only(memory: Path, result) -> str:
    """The private directory the runbook made inside `memory` (gone now), as the snapshot command named it."""
    line = next(c for c in result.changes if " etcd snapshot " in c)
    return Path(line.split()[-1]).parent.name


def test_plan_shows_the_snapshot_and_every_file_and_writes_nothing(make_drill, memory, age):
    drill = make_drill({}, edit=age.edit)
    result = drill.run("etcd-backup")
    assert result.code == 0, result.stdout + result.stderr
    assert [c for c in result.changes if " etcd snapshot " in c][0].startswith("talosctl -n 10.0.10.11 etcd snapshot ")
    assert any(c.startswith("would read cp-2's machine configuration") for c in result.changes)
    assert backups(drill) == [] and list(memory.iterdir()) == []


def _old_backup(root: Path, stamp: str) -> Path:
    path = root / f"etcd-{stamp}"
    path.mkdir(parents=True)
    (path / "manifest.json").write_text('{"complete": true}')
    return path


def test_retention_removes_the_oldest_beyond_keep_and_nothing_else(make_drill, memory, age):
    drill = make_drill({}, edit=age.edit)
    root = drill.twin / "backups"
    oldest, older, newest = (_old_backup(root, s) for s in ("20250101T000000Z", "20250102T000000Z",
                                                             "20250103T000000Z"))
    notes = root / "etcd-notes"
    notes.mkdir()
    planned = drill.run("etcd-backup", "keep=2")
    assert planned.code == 0, planned.stdout + planned.stderr
    assert [c for c in planned.changes if c.startswith("would remove")] == [
        f"would remove the backup {oldest}", f"would remove the backup {older}"]
    assert oldest.is_dir() and older.is_dir()

    result = drill.run("etcd-backup", "keep=2", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    [new] = [p for p in backups(drill) if p not in (newest, notes)]
    assert sorted(backups(drill)) == sorted([newest, new, notes]) and (new / "etcd.snapshot.age").is_file()
    assert not oldest.exists() and not older.exists() and newest.is_dir() and notes.is_dir()
    assert f"removed the backup {oldest}: only the newest 2 are kept" in result.stdout


def test_the_nospace_alarm_warns_and_the_backup_is_taken(make_drill, memory, age):
    drill = make_drill({"faults": [{"fault": "etcd-nospace", "node": "cp-1"}]}, edit=age.edit)
    result = drill.run("etcd-backup", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "warning: etcd alarm NOSPACE on member " in result.stdout
    [backup] = backups(drill)
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["complete"] and any("NOSPACE" in w for w in manifest["warnings"])


def test_an_unhealthy_member_warns_and_the_snapshot_comes_from_the_healthy_one(make_drill, memory, age):
    drill = make_drill({"faults": [{"fault": "etcd-unhealthy", "node": "cp-1"}]}, edit=age.edit)
    result = drill.run("etcd-backup", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "warning: etcd member unhealthy, snapshot taken from cp-2 instead: cp-1: " in result.stdout
    assert [c.split()[2] for c in result.changes if " etcd snapshot " in c] == ["10.0.10.12"]
    assert len(backups(drill)) == 1


def test_without_quorum_it_refuses_and_writes_nothing(make_drill, memory, age):
    drill = make_drill({"faults": [{"fault": "etcd-member-lost", "node": "cp-2"}]}, edit=age.edit)
    result = drill.run("etcd-backup")
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: refused: no control-plane node's etcd answers without errors "
                                       "(cp-1: etcdserver: no leader; cp-2: ")
    assert "a snapshot needs a healthy member" in result.last_line and "nothing written" in result.last_line
    assert result.changes == [] and backups(drill) == [] and list(memory.iterdir()) == []
    # Applied, it stops before that: without quorum there is no API server to hold the maintenance lock.
    applied = drill.run("etcd-backup", apply=True)
    assert applied.code == 1 and applied.last_line.startswith("failed: cannot take the maintenance lock")
    assert backups(drill) == [] and list(memory.iterdir()) == []
