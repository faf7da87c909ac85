"""etcd_backup from end to end in one process: what a complete backup writes (every file, the whole manifest),
what it says, what retention removes, what plan mode shows and writes (nothing), and the summary the runbook
prints. talosctl's answers are set per test; the gate's output is read from its stream."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import etcd_backup
from homeops.procedures.session import Session
from homeops.tools import talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import EtcdAlarm, EtcdSnapshot, EtcdStatus

pytestmark = pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm")
IDENTITY = x25519.Identity.generate()
SNAPSHOT = b"bbolt pages \x00\x01\x02 of etcd"


def lines(out: io.StringIO) -> list[str]:
    # each line after the time of day the gate stamps it with
    return [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in out.getvalue().splitlines()]


@pytest.fixture
def cluster(cluster_model):
    return cluster_model.model_copy(update={"secrets": cluster_model.secrets.model_copy(
        update={"age_public_key": str(IDENTITY.to_public())})})


@pytest.fixture
def talos(monkeypatch):
    """A healthy etcd; every node answers with its machine configuration; the snapshot is written as talosctl does."""
    monkeypatch.setattr(talosctl, "etcd_status",
                        lambda address, **_: [EtcdStatus(address, "8f1e", "8f1e", False, "")])
    monkeypatch.setattr(talosctl, "etcd_alarms", lambda address, **_: [])
    taken = []

    def snapshot(gate, address, path, why=""):
        if not gate.apply:
            return None
        taken.append((address, why))
        Path(path).write_bytes(SNAPSHOT)
        return EtcdSnapshot(path, len(SNAPSHOT), "0000abcd", 1004, 17, 20480)

    monkeypatch.setattr(talosctl, "etcd_snapshot", snapshot)
    monkeypatch.setattr(talosctl, "machine_config", lambda address, **_: f"spec:\n  token: secret-of-{address}\n")
    return taken


def session(cluster, tmp_path: Path, apply: bool) -> tuple[Session, io.StringIO]:
    out = io.StringIO()
    return Session(cluster, Gate(apply, out=out), wait_timeout=0.5, poll_interval=0.01, project=tmp_path), out


def old_backups(root: Path, *names: str) -> list[Path]:
    made = []
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "manifest.json").write_text('{"complete": true}')
        made.append(root / name)
    return made


def test_a_complete_backup_writes_every_file_encrypted_names_each_and_keeps_the_newest(cluster, talos, tmp_path):
    first, second = old_backups(tmp_path / "backups", "etcd-20250101T000000Z", "etcd-20250102T000000Z")
    run, out = session(cluster, tmp_path, apply=True)
    backup = etcd_backup.take_backup(run, "backups", keep=2, why="before the upgrade")

    assert talos == [("10.0.10.11", "before the upgrade")]
    directory = backup.directory
    assert directory.parent == tmp_path / "backups" and directory.name.startswith("etcd-")
    names = ["etcd.snapshot.age", *(f"machineconfig-{n.name}.yaml.age" for n in cluster.nodes)]
    assert sorted(p.name for p in directory.iterdir()) == sorted([*names, "manifest.json"])
    assert pyrage.decrypt((directory / "etcd.snapshot.age").read_bytes(), [IDENTITY]) == SNAPSHOT
    assert pyrage.decrypt((directory / "machineconfig-cp-2.yaml.age").read_bytes(), [IDENTITY]) == (
        b"spec:\n  token: secret-of-10.0.10.12\n")

    manifest = json.loads((directory / "manifest.json").read_text())
    taken = manifest.pop("taken")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", taken)
    assert manifest == {
        "complete": True,
        "recipient": str(IDENTITY.to_public()),
        "source": {"node": "cp-1", "address": "10.0.10.11"},
        "snapshot": {"file": "etcd.snapshot.age", "revision": 1004, "hash": "0000abcd", "saved_bytes": len(SNAPSHOT),
                     "total_keys": 17, "total_size": 20480},
        "files": [{"name": f.name, "what": what, "sha256": f.sha256, "size": f.size} for what, f in backup.files],
        "warnings": [],
    }
    assert [(f["name"], f["what"]) for f in manifest["files"]] == [
        ("etcd.snapshot.age", "etcd snapshot of cp-1"),
        *((f"machineconfig-{n.name}.yaml.age", f"machine configuration of {n.name}") for n in cluster.nodes)]
    for entry in manifest["files"]:
        assert entry["size"] == (directory / entry["name"]).stat().st_size

    said = lines(out)
    assert (f"etcd snapshot of cp-1: revision 1004, hash 0000abcd, {len(SNAPSHOT)} bytes (total keys 17, "
            "total size 20480)") in said
    sealed = backup.files[0][1]
    assert f"encrypted: {sealed.path} sha256 {sealed.sha256} ({sealed.size} bytes)" in said
    assert f"backup written: {directory} ({len(names)} encrypted files, manifest manifest.json)" in said
    assert f"removed the backup {first}: only the newest 2 are kept" in said
    assert (backup.removed, first.exists(), second.exists()) == ([first], False, True)
    assert not any("secret-of" in line for line in said)

    assert etcd_backup.summary(backup, apply=True).splitlines() == [
        f"backup {directory}: etcd snapshot from cp-1 at revision 1004 (hash 0000abcd, {len(SNAPSHOT)} bytes)",
        *(f"  {f.name}  sha256 {f.sha256}  {f.size} bytes  ({what})" for what, f in backup.files),
        "  removed (retention): etcd-20250101T000000Z",
    ]


def test_without_keep_no_backup_is_removed(cluster, talos, tmp_path):
    [old] = old_backups(tmp_path / "backups", "etcd-20250101T000000Z")
    run, out = session(cluster, tmp_path, apply=True)
    backup = etcd_backup.take_backup(run, tmp_path / "backups")
    assert old.exists() and backup.removed == []
    assert not any(line.startswith("removed") for line in lines(out))


def test_a_plan_shows_each_step_and_what_retention_would_remove_and_writes_nothing(cluster, talos, tmp_path):
    first, second = old_backups(tmp_path / "backups", "etcd-20250101T000000Z", "etcd-20250102T000000Z")
    run, out = session(cluster, tmp_path, apply=False)
    backup = etcd_backup.take_backup(run, "backups", keep=2)
    shown = lines(out)
    key = str(IDENTITY.to_public())
    assert backup.directory is None and backup.files == [] and backup.snapshot is None
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == [first.name, second.name]
    encrypt = [line for line in shown if line.startswith("PLAN: would encrypt the snapshot")]
    assert len(encrypt) == 1 and f"to {key} into {tmp_path / 'backups'}/etcd-" in encrypt[0]
    assert encrypt[0].endswith("/etcd.snapshot.age (the plain copy stays in memory)")
    reads = [line for line in shown if line.startswith("PLAN: would read ")]
    assert [line.split("'s machine configuration", 1)[0].removeprefix("PLAN: would read ") for line in reads] == [
        n.name for n in cluster.nodes]
    cp1 = cluster.nodes[0]
    assert reads[0].startswith(f"PLAN: would read cp-1's machine configuration (talosctl -n {cp1.address} get "
                               f"machineconfig -o yaml) and encrypt it to {key} into ")
    assert reads[0].endswith("/machineconfig-cp-1.yaml.age  # it carries the cluster's secrets: only the encrypted "
                             "file is written")
    # a plan counts the backup it would add: with keep=2 the older of the two would go
    assert [line for line in shown if "remove" in line] == [
        f"PLAN: would remove the backup {first}  # only the newest 2 are kept"]
    assert etcd_backup.summary(backup, apply=False) == (
        "plan: etcd's snapshot from cp-1 and every node's machine configuration would be encrypted into a new "
        "backup; nothing was written")


def test_warnings_are_said_once_kept_in_the_manifest_and_the_summary(cluster, talos, monkeypatch, tmp_path):
    def status(address, **_):
        if address == "10.0.10.11":
            raise ToolError(["talosctl"], 1, "connection refused")
        return [EtcdStatus(address, "8f1e", "8f1e", False, "")]

    monkeypatch.setattr(talosctl, "etcd_status", status)
    monkeypatch.setattr(talosctl, "etcd_alarms", lambda address, **_: [EtcdAlarm(address, "8f1e", "NOSPACE")])
    run, out = session(cluster, tmp_path, apply=True)
    backup = etcd_backup.take_backup(run, "backups")
    assert talos[0][0] == "10.0.10.12"
    said = [line for line in lines(out) if line.startswith("warning: ")]
    assert len(said) == 2 and said[0].startswith("warning: etcd member unhealthy, snapshot taken from cp-2 instead: "
                                                 "cp-1: ")
    assert said[1].startswith("warning: etcd alarm NOSPACE on member 8f1e: ")
    manifest = json.loads((backup.directory / "manifest.json").read_text())
    assert manifest["warnings"] == [w.removeprefix("warning: ") for w in said]
    assert manifest["source"] == {"node": "cp-2", "address": "10.0.10.12"}
    assert etcd_backup.summary(backup, apply=True).splitlines()[-2:] == [f"  {w}" for w in said]


def test_warnings_of_a_source_chosen_in_a_step_before_are_not_said_again(cluster, talos, tmp_path):
    run, out = session(cluster, tmp_path, apply=True)
    chosen = (cluster.control_planes[1], ["said by the step before"])
    backup = etcd_backup.take_backup(run, "backups", chosen=chosen)
    assert backup.source.name == "cp-2" and backup.warnings == ["said by the step before"]
    assert not any(line.startswith("warning: ") for line in lines(out))


def test_a_relative_destination_is_under_the_project_and_an_absolute_one_is_itself(cluster, tmp_path):
    run, _ = session(cluster, tmp_path, apply=True)
    assert etcd_backup.destination_of(run, "backups") == tmp_path / "backups"
    assert etcd_backup.destination_of(run, "/srv/backups") == Path("/srv/backups")


def test_the_alarm_part_of_etcds_errors_is_dropped_and_the_rest_kept():
    assert etcd_backup._errors_beyond_alarms("memberID:1 alarm:NOSPACE") == ""
    assert etcd_backup._errors_beyond_alarms(
        "memberID:1 alarm:NOSPACE, etcdserver: no leader ,  slow disk") == "etcdserver: no leader, slow disk"


def test_a_key_that_is_not_age_stops_the_run_naming_the_setting(cluster_model, tmp_path):
    broken = cluster_model.model_copy(update={"secrets": cluster_model.secrets.model_copy(
        update={"age_public_key": "age1notakey"})})
    run, _ = session(broken, tmp_path, apply=True)
    with pytest.raises(RunbookStopped) as stopped:
        etcd_backup.age_recipient(run)
    assert str(stopped.value).startswith("refused: secrets.age_public_key: 'age1notakey' is not an age X25519 "
                                         "public key")
    assert str(stopped.value).endswith("; nothing written")


def test_refusals_say_what_where_and_that_nothing_was_written(cluster, talos, monkeypatch, tmp_path):
    run, _ = session(cluster, tmp_path, apply=True)
    workers_only = cluster.model_copy(update={"nodes": cluster.workers})
    with pytest.raises(RunbookStopped) as stopped:
        etcd_backup.choose_source(session(workers_only, tmp_path, apply=True)[0])
    assert str(stopped.value) == "refused: cluster.yaml has no control-plane node to take an etcd snapshot from"

    monkeypatch.setattr(talosctl, "etcd_status", lambda address, **_: [] if address == "10.0.10.11" else [
        EtcdStatus(address, "8f1e", "8f1e", False, "slow disk"), EtcdStatus(address, "8f1e", "8f1e", False, "no leader")])
    with pytest.raises(RunbookStopped) as stopped:
        etcd_backup.choose_source(run)
    assert str(stopped.value) == (
        "refused: no control-plane node's etcd answers without errors (cp-1: no status; cp-2: slow disk; no leader): "
        "a snapshot needs a healthy member; see the disaster-recovery page (etcd-restore); nothing written")

    asked = []
    monkeypatch.setattr(talosctl, "etcd_status", lambda address, **_: [] if address == "10.0.10.11" else [
        EtcdStatus(address, "8f1e", "8f1e", False, "")])

    def alarms(address, **_):
        asked.append(address)
        raise ToolError(["talosctl"], 1, "deadline exceeded")

    monkeypatch.setattr(talosctl, "etcd_alarms", alarms)
    with pytest.raises(RunbookStopped) as stopped:
        etcd_backup.choose_source(run)
    assert asked == ["10.0.10.12"]  # the alarms of the chosen member, by its own address
    assert str(stopped.value).startswith("refused: cannot tell whether etcd has an alarm (")
    assert str(stopped.value).endswith("deadline exceeded); nothing written")

    monkeypatch.setattr(talosctl, "etcd_alarms", lambda address, **_: [
        EtcdAlarm(address, "8f1e", "CORRUPT"), EtcdAlarm(address, "9a2b", "CORRUPT")])
    with pytest.raises(RunbookStopped, match=r"^refused: etcd reports CORRUPT on member 8f1e, CORRUPT on member 9a2b: "):
        etcd_backup.choose_source(run)

    monkeypatch.setattr(talosctl, "etcd_alarms", lambda address, **_: [EtcdAlarm(address, "8f1e", "NOSPACE")])
    _, [_, nospace] = etcd_backup.choose_source(run)
    assert nospace == (
        "etcd alarm NOSPACE on member 8f1e: etcd accepts no writes until its space is compacted, defragmented and "
        "the alarm disarmed (Talos's etcd-maintenance guide); its data is intact, so the backup goes on")


def test_without_an_age_key_the_refusal_says_why_it_matters(cluster, tmp_path):
    keyless = cluster.model_copy(update={"secrets": cluster.secrets.model_copy(update={"age_public_key": None})})
    with pytest.raises(RunbookStopped) as stopped:
        etcd_backup.age_recipient(session(keyless, tmp_path, apply=True)[0])
    assert str(stopped.value) == ("refused: cluster.yaml has no secrets.age_public_key, and backups are encrypted to "
                                  "it (they hold the cluster's secrets); nothing written")


def test_a_bad_keep_stops_take_backup_before_etcd_is_asked(cluster, talos, tmp_path):
    with pytest.raises(RunbookStopped, match="^keep must be a whole number of backups, 1 or more, got 0"):
        etcd_backup.take_backup(session(cluster, tmp_path, apply=True)[0], "backups", keep=0)
    assert talos == [] and not (tmp_path / "backups").exists()


def test_the_snapshot_goes_to_a_file_named_for_it_in_memory_and_the_default_why_is_said(cluster, talos, monkeypatch,
                                                                                         tmp_path):
    paths = []
    original = talosctl.etcd_snapshot

    def recording(gate, address, path, why=""):
        paths.append(path)
        return original(gate, address, path, why=why)

    monkeypatch.setattr(talosctl, "etcd_snapshot", recording)
    etcd_backup.take_backup(session(cluster, tmp_path, apply=True)[0], "backups")
    [path] = paths
    assert Path(path).name == "etcd.snapshot" and not Path(path).exists()
    assert talos == [("10.0.10.11", "a copy of the cluster's state and secrets to restore from")]


def test_no_memory_backed_directory_refuses_and_writes_nothing(cluster, talos, monkeypatch, tmp_path):
    from homeops.backup import scratch

    monkeypatch.setattr(scratch, "base_directory", lambda: (_ for _ in ()).throw(
        scratch.ScratchUnavailable("no memory-backed directory (tried /dev/shm (ext4))")))
    with pytest.raises(RunbookStopped) as stopped:
        etcd_backup.take_backup(session(cluster, tmp_path, apply=True)[0], "backups")
    assert str(stopped.value) == "refused: no memory-backed directory (tried /dev/shm (ext4)); nothing written"
    assert list((tmp_path / "backups").iterdir()) == []


def test_the_manifest_time_is_utc_whatever_the_local_zone(cluster, talos, monkeypatch, tmp_path):
    import time
    from datetime import datetime, timezone

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: a local time would be another day
    time.tzset()
    try:
        backup = etcd_backup.take_backup(session(cluster, tmp_path, apply=True)[0], "backups")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    taken = datetime.strptime(json.loads((backup.directory / "manifest.json").read_text())["taken"],
                              "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - taken).total_seconds()) < 60


def test_without_a_project_a_relative_destination_stays_relative(cluster):
    alone = Session(cluster, Gate(True, out=io.StringIO()), wait_timeout=0.5, poll_interval=0.01)
    assert etcd_backup.destination_of(alone, "backups") == Path("backups")


def test_a_plan_shows_every_backup_retention_would_remove(cluster, talos, tmp_path):
    old = old_backups(tmp_path / "backups", "etcd-20250101T000000Z", "etcd-20250102T000000Z", "etcd-20250103T000000Z")
    run, out = session(cluster, tmp_path, apply=False)
    etcd_backup.take_backup(run, "backups", keep=1)
    assert [line for line in lines(out) if "remove" in line] == [
        f"PLAN: would remove the backup {path}  # only the newest 1 are kept" for path in old]
    assert all(path.exists() for path in old)
