"""etcd_backup's judgement of etcd, step by step: which member is chosen, what is refused and what only
warned, and its parameters, with talosctl's answers set per test."""

from __future__ import annotations

import dataclasses

import pytest

from homeops.errors import RunbookStopped
from homeops.procedures import etcd_backup
from homeops.tools import talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import EtcdAlarm, EtcdStatus


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
