"""The bootstrap's file lock: one apply run per workstation, gone with the process that held it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from homeops.runner.local_lock import FILE_NAME, WorkstationLock
from homeops.runner.lock import LockHeld


def test_a_second_lock_is_refused_naming_the_holder(tmp_path):
    first = WorkstationLock(tmp_path, "bootstrap", identity="ana@desk:1")
    first.acquire()
    second = WorkstationLock(tmp_path, "bootstrap", identity="bo@desk:2")
    with pytest.raises(LockHeld, match=r"another bootstrap runs from this workstation \(ana@desk:1 since "):
        second.acquire()
    assert first.release() is None
    second.acquire()  # free again once released
    second.release()


def test_the_lock_file_is_private_and_empty_once_released(tmp_path):
    lock = WorkstationLock(tmp_path / "records", "bootstrap")
    lock.acquire()
    path = tmp_path / "records" / FILE_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    assert "bootstrap" in path.read_text()
    lock.release()
    assert path.read_text() == ""


def test_a_dead_holder_leaves_no_lock_behind(tmp_path):
    # The kernel of a run killed with SIGKILL releases nothing itself: the operating system does.
    script = textwrap.dedent(f"""
        import os
        from homeops.runner.local_lock import WorkstationLock
        WorkstationLock({str(tmp_path)!r}, "bootstrap").acquire()
        os._exit(9)
    """)
    subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    lock = WorkstationLock(tmp_path, "bootstrap")
    lock.acquire()
    lock.release()


def test_the_lease_interface_the_guard_calls_is_there_and_never_loses(tmp_path):
    lock = WorkstationLock(tmp_path, "bootstrap", identity="ana@desk:1")
    lock.acquire()
    lock.keep_renewed(notify=print, on_lost=lambda: None)
    lock.verify()
    lock.cover(600)
    assert lock.lost is None and lock.taken_over is None
    assert lock.describe() == f"{tmp_path / FILE_NAME} held by ana@desk:1 for bootstrap"
    lock.release()


def test_a_restore_holding_the_lock_is_named_to_a_bootstrap(tmp_path):
    # etcd-restore takes the same file (the API it would hold a Lease in is down): the refusal names it.
    restore = WorkstationLock(tmp_path, "etcd-restore", identity="ana@desk:1")
    restore.acquire()
    with pytest.raises(LockHeld, match=r"another etcd-restore runs from this workstation \(ana@desk:1 since "):
        WorkstationLock(tmp_path, "bootstrap", identity="bo@desk:2").acquire()
    restore.release()
