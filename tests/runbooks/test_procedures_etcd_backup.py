"""etcd_backup's judgement of etcd, step by step: which member is chosen, what is refused and what only
warned, and its parameters, with talosctl's answers set per test."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from homeops.errors import RunbookStopped
from homeops.procedures import etcd_backup
from homeops.tools import talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import EtcdAlarm, EtcdSnapshot, EtcdStatus


def answers(monkeypatch, errors: dict[str, str | Exception], alarms: list[str] = ()):
    """cp-1 at 10.0.10.11, cp-2 at 10.0.10.12: each one's ERRORS cell, or the error talosctl exits with."""
    def status(address, **_):
        answer = errors.get(address, "")
        if isinstance(answer, Exception):
            raise answer
        return [EtcdStatus(address, "8f1e", "8f1e", False, answer)]

    monkeypatch.setattr(talosctl, "etcd_status", status)
    monkeypatch.setattr(talosctl, "etcd_alarms", lambda address, **_: [EtcdAlarm(address, "8f1e", a) for a in alarms])


def test_a_healthy_etcd_is_snapshotted_from_the_first_control_plane(monkeypatch, session_for):
    answers(monkeypatch, {})
    node, warnings = etcd_backup.choose_source(session_for(apply=True))
    assert (node.name, warnings) == ("cp-1", [])


def test_an_unreachable_member_warns_and_the_next_healthy_one_is_chosen(monkeypatch, session_for):
    down = ToolError(["talosctl"], 1, "error: rpc error: code = Unavailable desc = connection refused")
    answers(monkeypatch, {"10.0.10.11": down})
    node, [warning] = etcd_backup.choose_source(session_for(apply=True))
    assert node.name == "cp-2"
    assert warning.startswith("etcd member unhealthy, snapshot taken from cp-2 instead: cp-1: ")
    assert "connection refused" in warning


def test_no_healthy_member_is_refused_naming_each(monkeypatch, session_for):
    answers(monkeypatch, {"10.0.10.11": "etcdserver: no leader", "10.0.10.12": "etcdserver: no leader"})
    with pytest.raises(RunbookStopped) as stopped:
        etcd_backup.choose_source(session_for(apply=True))
    assert str(stopped.value).startswith("refused: no control-plane node's etcd answers without errors (cp-1: "
                                         "etcdserver: no leader; cp-2: etcdserver: no leader)")


def test_nospace_in_the_status_errors_is_the_alarm_not_an_unhealthy_member(monkeypatch, session_for):
    # etcd's Status lists raised alarms among its errors, on every member.
    alarm = "memberID:10352628263183015014 alarm:NOSPACE"
    answers(monkeypatch, {"10.0.10.11": alarm, "10.0.10.12": alarm}, alarms=["NOSPACE"])
    node, [warning] = etcd_backup.choose_source(session_for(apply=True))
    assert node.name == "cp-1" and warning.startswith("etcd alarm NOSPACE on member 8f1e: ")
    assert "its data is intact, so the backup goes on" in warning


def test_corrupt_is_refused(monkeypatch, session_for):
    answers(monkeypatch, {}, alarms=["CORRUPT"])
    with pytest.raises(RunbookStopped, match=r"^refused: etcd reports CORRUPT on member 8f1e: a snapshot may hold "
                                             r"damaged data.*nothing written$"):
        etcd_backup.choose_source(session_for(apply=True))


@pytest.mark.parametrize("keep", [0, -1, True, 2.5, "3"])
def test_keep_must_be_a_whole_number_of_backups(session_for, keep):
    with pytest.raises(RunbookStopped, match=f"^keep must be a whole number of backups, 1 or more, got {keep!r}"):
        etcd_backup.check_parameters(session_for(apply=True), keep)


def test_without_an_age_key_nothing_is_written(session_for):
    session = session_for(apply=True)
    cluster = session.cluster.model_copy(update={"secrets": session.cluster.secrets.model_copy(
        update={"age_public_key": None})})
    with pytest.raises(RunbookStopped, match="^refused: cluster.yaml has no secrets.age_public_key"):
        etcd_backup.check_parameters(dataclasses.replace(session, cluster=cluster), 3)


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm")
def test_a_node_that_does_not_answer_leaves_an_incomplete_backup_and_removes_nothing(monkeypatch, session_for,
                                                                                      tmp_path):
    answers(monkeypatch, {})
    session = dataclasses.replace(session_for(apply=True), project=tmp_path)
    silent = session.cluster.workers[0]

    def snapshot(gate, address, path, why=""):
        Path(path).write_bytes(b"plain database")
        return EtcdSnapshot(path, 14, "0000abcd", 1004, 1, 14)

    def machine_config(address, **_):
        if address == str(silent.address):
            raise ToolError(["talosctl"], 1, "error: rpc error: code = Unavailable desc = connection refused")
        return f"node: {address}\nmetadata:\n    type: MachineConfigs.config.talos.dev\nspec:\n    version: v1alpha1\n"

    monkeypatch.setattr(talosctl, "etcd_snapshot", snapshot)
    monkeypatch.setattr(talosctl, "machine_config", machine_config)
    old = tmp_path / "backups" / "etcd-20250101T000000Z"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text('{"complete": true}')

    with pytest.raises(RunbookStopped) as stopped:
        etcd_backup.take_backup(session, "backups", keep=1)
    assert str(stopped.value).startswith(f"{silent.name}: stopped at step 'machine configuration': ")
    assert str(stopped.value).endswith("is incomplete (its manifest says so) and no older backup was removed")
    [new] = [p for p in (tmp_path / "backups").iterdir() if p != old]
    manifest = json.loads((new / "manifest.json").read_text())
    before = [n.name for n in session.cluster.nodes][:[n.name for n in session.cluster.nodes].index(silent.name)]
    assert manifest["complete"] is False and manifest["snapshot"]["revision"] == 1004
    assert [f["name"] for f in manifest["files"]] == ["etcd.snapshot.age", *(f"machineconfig-{n}.yaml.age"
                                                                           for n in before)]
    assert old.is_dir()


def test_a_snapshot_that_fails_leaves_no_backup_directory(monkeypatch, session_for, tmp_path):
    answers(monkeypatch, {})
    session = dataclasses.replace(session_for(apply=True), project=tmp_path)

    def refused(gate, address, path, why=""):
        raise ToolError(["talosctl"], 1, "error reading snapshot: rpc error: etcdserver: no leader")

    monkeypatch.setattr(talosctl, "etcd_snapshot", refused)
    with pytest.raises(RunbookStopped, match="^cp-1: stopped at step 'etcd snapshot': .*no leader"):
        etcd_backup.take_backup(session, "backups", keep=1)
    assert list((tmp_path / "backups").iterdir()) == []
