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


def test_scratch_looks_in_homeops_scratch_alone_or_else_the_runtime_directory_then_dev_shm(monkeypatch):
    monkeypatch.delenv(scratch.ENV, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert scratch.candidates() == ["/run/user/1000", "/dev/shm"]
    monkeypatch.setenv("XDG_RUNTIME_DIR", "")
    assert scratch.candidates() == ["/dev/shm"]
    monkeypatch.setenv(scratch.ENV, "/mnt/ram")
    assert scratch.candidates() == ["/mnt/ram"]


def test_a_new_set_makes_its_private_destination_with_its_parents(tmp_path):
    previous = os.umask(0o022)
    try:
        made = sets.new_set(tmp_path / "not" / "yet" / "there", now=86400)
    finally:
        os.umask(previous)
    assert made == tmp_path / "not" / "yet" / "there" / "etcd-19700102T000000Z"
    assert stat.S_IMODE(made.parent.stat().st_mode) == 0o700 and stat.S_IMODE(made.stat().st_mode) == 0o700


def test_the_hundredth_backup_of_one_second_is_refused_by_name(tmp_path):
    (tmp_path / "etcd-19700101T000000Z").mkdir()
    for count in range(2, 100):
        (tmp_path / f"etcd-19700101T000000Z-{count}").mkdir()
    with pytest.raises(FileExistsError) as refused:
        sets.new_set(tmp_path, now=0)
    assert str(refused.value) == f"{tmp_path / 'etcd-19700101T000000Z'}: 99 backups in one second"
    assert not (tmp_path / "etcd-19700101T000000Z-100").exists()


def test_backups_of_one_second_are_ordered_by_their_count_not_as_text(tmp_path):
    names = ["etcd-20260101T000000Z-10", "etcd-20260101T000000Z-2", "etcd-20260101T000000Z"]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / sets.MANIFEST).write_text('{"complete": true}')
    assert [p.name for p in sets.existing(tmp_path)] == list(reversed(names))
    assert sets._order(tmp_path / names[2]) < sets._order(tmp_path / names[1])


def test_the_manifest_is_private_and_written_as_stable_indented_json(tmp_path):
    previous = os.umask(0o022)
    try:
        path = sets.write_manifest(tmp_path, {"taken": "2026-12-06T17:40:00Z", "files": [{"name": "a", "sha256": "0"}],
                                              "complete": True})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == (
        '{\n  "complete": true,\n  "files": [\n    {\n      "name": "a",\n      "sha256": "0"\n    }\n  ],\n'
        '  "taken": "2026-12-06T17:40:00Z"\n}\n')
    assert sets.read_manifest(tmp_path)["complete"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == [sets.MANIFEST]  # no .part left


def test_a_sealed_file_names_its_own_size_and_digest_and_binary_plaintext_goes_in_unchanged(tmp_path, identity):
    import hashlib

    plain = tmp_path / "snapshot.db"
    data = bytes(range(256)) * 9000  # bbolt pages: not text, and more than one 1 MiB read
    plain.write_bytes(data)
    sealed = seal_file(plain, tmp_path / "etcd.snapshot.age", recipient(str(identity.to_public())))
    ciphertext = sealed.path.read_bytes()
    assert pyrage.decrypt(ciphertext, [identity]) == data
    assert sealed.size == len(ciphertext) > 1 << 20
    assert sealed.sha256 == hashlib.sha256(ciphertext).hexdigest()


MOUNTS_WITH_EDGES = """\

garbage line without a separator at all
22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
25 22 0:21 / /dev/shm rw,nosuid,nodev shared:3 - tmpfs tmpfs rw
29 22 0:23 / /srv/BOX rw shared:7 - tmpfs tmpfs rw
31 22 252:2 / /mnt/abc rw shared:6 - xfs /dev/vdc rw
30 22 252:3 / /media/Müll rw shared:8 - vfat /dev/sdb1 rw
"""


def test_unreadable_lines_are_skipped_and_a_mount_of_the_same_length_elsewhere_is_not_the_paths():
    assert scratch.filesystem_type("/dev/shm/x", MOUNTS_WITH_EDGES) == "tmpfs"  # not /mnt/abc's, also 8 long
    assert scratch.filesystem_type("/srv/BOX/etcd.snapshot", MOUNTS_WITH_EDGES) == "tmpfs"
    assert scratch.filesystem_type("/media/Müll/backups", MOUNTS_WITH_EDGES) == "vfat"  # not escaped: read as is
    assert scratch.filesystem_type("/home", MOUNTS_WITH_EDGES) == "ext4"


def test_scratch_names_every_directory_it_tried(monkeypatch, tmp_path):
    monkeypatch.delenv(scratch.ENV, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setattr(scratch, "filesystem_type", lambda path, mountinfo=None: "ext4")
    with pytest.raises(scratch.ScratchUnavailable) as refused:
        scratch.base_directory()
    assert f"(tried {tmp_path} (ext4), /dev/shm (ext4)): set HOMEOPS_SCRATCH" in str(refused.value)
