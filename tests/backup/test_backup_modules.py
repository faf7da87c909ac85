"""homeops.backup: encryption that round-trips and leaves nothing half-written, the memory-backed
scratch directory (and its refusal elsewhere), backup sets and retention that touches only backups."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from homeops.backup import scratch, sets
from homeops.backup.sealing import KeyInvalid, describe, recipient, seal_bytes, seal_file

from tests.runbooks.backup_files import AGE_HEADER, plaintext_leaks

MOUNTINFO = """\
22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
25 22 0:21 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw
26 22 0:22 / /run/user/1000 rw,nosuid,nodev shared:4 - tmpfs tmpfs rw,mode=700
27 22 252:1 / /home/me/my\\040disk rw shared:5 - xfs /dev/vdb rw
"""


@pytest.fixture
def identity():
    return x25519.Identity.generate()


def test_sealed_files_decrypt_to_what_went_in_and_name_their_ciphertexts_digest(tmp_path, identity):
    to = recipient(str(identity.to_public()))
    plain = tmp_path / "plain"
    plain.write_bytes(b"x" * 3_000_000)
    from_file = seal_file(plain, tmp_path / "a.age", to)
    from_memory = seal_bytes(b"token: abcdef.0123456789abcdef", tmp_path / "b.age", to)
    assert pyrage.decrypt(from_file.path.read_bytes(), [identity]) == b"x" * 3_000_000
    assert pyrage.decrypt(from_memory.path.read_bytes(), [identity]) == b"token: abcdef.0123456789abcdef"
    for sealed in (from_file, from_memory):
        assert sealed.path.read_bytes().startswith(AGE_HEADER)
        assert stat.S_IMODE(sealed.path.stat().st_mode) == 0o600
        assert describe(sealed.path) == sealed and len(sealed.sha256) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.age", "b.age", "plain"]  # no .part left


def test_a_failed_encryption_leaves_no_partial_file(tmp_path, identity):
    to = recipient(str(identity.to_public()))
    with pytest.raises(FileNotFoundError):
        seal_file(tmp_path / "missing", tmp_path / "a.age", to)
    with pytest.raises(TypeError):
        seal_bytes("not bytes", tmp_path / "b.age", to)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_key_that_is_not_an_age_recipient_is_refused_by_name():
    with pytest.raises(KeyInvalid, match="'age1nope' is not an age X25519 public key"):
        recipient("age1nope")


def test_the_filesystem_of_a_path_is_its_deepest_mount():
    assert scratch.filesystem_type("/dev/shm/x", MOUNTINFO) == "tmpfs"
    assert scratch.filesystem_type("/dev/shmx", MOUNTINFO) == "ext4"
    assert scratch.filesystem_type("/run/user/1000", MOUNTINFO) == "tmpfs"
    assert scratch.filesystem_type("/home/me/my disk/backups", MOUNTINFO) == "xfs"
    assert scratch.filesystem_type("/home/me", MOUNTINFO) == "ext4"


def test_scratch_refuses_a_directory_on_disk(monkeypatch, tmp_path):
    monkeypatch.setenv(scratch.ENV, str(tmp_path))
    monkeypatch.setattr(scratch, "filesystem_type", lambda path, mountinfo=None: "ext4")
    with pytest.raises(scratch.ScratchUnavailable, match=f"tried {tmp_path} \\(ext4\\).*set HOMEOPS_SCRATCH"):
        scratch.base_directory()
    monkeypatch.setenv(scratch.ENV, str(tmp_path / "missing"))
    with pytest.raises(scratch.ScratchUnavailable, match="missing \\(missing\\)"):
        scratch.base_directory()


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm")
def test_scratch_is_private_in_memory_and_gone_after_a_failure(monkeypatch):
    monkeypatch.delenv(scratch.ENV, raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    with pytest.raises(RuntimeError), scratch.private_directory() as memory:
        assert scratch.filesystem_type(memory) in scratch.MEMORY_FILESYSTEMS
        assert stat.S_IMODE(memory.stat().st_mode) == 0o700
        (memory / "etcd.snapshot").write_bytes(b"plain")
        raise RuntimeError("talosctl failed")
    assert not memory.exists()


def test_retention_counts_only_backups_oldest_first(tmp_path):
    def backup(name: str, manifest: str | None = '{"complete": true}') -> Path:
        path = tmp_path / name
        path.mkdir()
        if manifest is not None:
            (path / sets.MANIFEST).write_text(manifest)
        return path

    second = backup("etcd-20260101T000000Z-2")
    first = backup("etcd-20260101T000000Z")
    later = backup("etcd-20260102T000000Z")
    backup("etcd-20250101T000000Z", manifest=None)  # not one of ours: no manifest
    backup("etcd-20250102T000000Z", manifest='{"complete": false}')  # incomplete: kept, never counted
    backup("etcd-20250103T000000Z", manifest="not json")
    backup("etcd-notes")
    (tmp_path / "etcd-20240101T000000Z").write_text("a file")
    assert sets.existing(tmp_path) == [first, second, later]
    assert sets.beyond(tmp_path, keep=2) == [first]
    assert sets.beyond(tmp_path, keep=2, adding=1) == [first, second]
    assert sets.beyond(tmp_path, keep=5) == []


def test_two_backups_in_one_second_get_their_own_directories(tmp_path):
    one, two = sets.new_set(tmp_path / "b", now=0), sets.new_set(tmp_path / "b", now=0)
    assert (one.name, two.name) == ("etcd-19700101T000000Z", "etcd-19700101T000000Z-2")
    assert stat.S_IMODE(one.stat().st_mode) == 0o700


def test_the_leak_scan_finds_a_planted_secret(tmp_path):
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "copy").write_bytes(b'{"snapshot": "homeops-twin"}')
    (tmp_path / "config").write_bytes(b"token: abcdef.0123456789abcdef")
    assert len(plaintext_leaks([tmp_path], [b"abcdef.0123456789abcdef"])) == 2
