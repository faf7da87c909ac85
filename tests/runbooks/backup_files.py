"""What a drill needs to judge a backup on disk: the test's own age identity (cluster.yaml's
`secrets.age_public_key` is replaced by its public key), decryption, and a scan of directories for
anything a backup must never leave in plain text."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

AGE_HEADER = b"age-encryption.org/v1\n"
SNAPSHOT_MARK = b'"snapshot": "homeops-twin"'  # what the twin's etcd snapshot holds (talos/etcd_commands.py)
_AGE_KEY = re.compile(r"^(\s*age_public_key:\s*)\S+", re.MULTILINE)


@pytest.fixture
def memory(monkeypatch):
    """The runbooks' tmpfs scratch directory, private to this test so it can be scanned afterwards."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    path = Path(tempfile.mkdtemp(prefix="homeops-test-", dir="/dev/shm"))
    monkeypatch.setenv("HOMEOPS_SCRATCH", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class AgeIdentity:
    def __init__(self):
        self.identity = x25519.Identity.generate()
        self.public_key = str(self.identity.to_public())

    def edit(self, cluster_yaml: str) -> str:
        """cluster.yaml with this identity's public key as `secrets.age_public_key`."""
        edited, count = _AGE_KEY.subn(lambda m: m.group(1) + self.public_key, cluster_yaml)
        assert count == 1, "cluster.yaml has one secrets.age_public_key"
        return edited

    def decrypt(self, path: Path) -> bytes:
        return pyrage.decrypt(path.read_bytes(), [self.identity])


def plaintext_leaks(directories: list[Path], secrets: list[bytes]) -> list[str]:
    """Every file under `directories` that holds one of `secrets` (or a snapshot) in plain text."""
    marks = [SNAPSHOT_MARK, *secrets]
    found = []
    for directory in directories:
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()):
            data = path.read_bytes()
            found += [f"{path}: {mark[:30]!r}" for mark in marks if mark in data]
    return found
