"""How backups lie on disk: one directory a backup (`etcd-20261206T174000Z`) holding its
age-encrypted files and `manifest.json`, which names each file with its sha256 and says what the
snapshot is (node, revision, hash, size as talosctl printed them). The manifest holds no secret.

Retention only ever removes directories this module made: named like a backup and holding a
manifest that says it is complete; anything else in the destination is left alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

PREFIX = "etcd-"
MANIFEST = "manifest.json"
SNAPSHOT_FILE = "etcd.snapshot.age"
# etcd-restore's copy of a member's database (`talosctl cp`) before it wipes anything: a set of its
# own, `etcd-copy-TIME/etcd.db.age`, that the backup names (`_NAME`) and so retention never match.
COPY_PREFIX = "etcd-copy-"
COPY_FILE = "etcd.db.age"
_NAME = re.compile(r"etcd-(?P<stamp>\d{8}T\d{6}Z)(-(?P<count>\d+))?")


def machine_config_file(node: str) -> str:
    return f"machineconfig-{node}.yaml.age"


def set_name(now: float | None = None, prefix: str = PREFIX) -> str:
    return prefix + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def new_set(destination: Path, now: float | None = None, prefix: str = PREFIX) -> Path:
    """A fresh 0700 directory for one backup (never an existing one: two backups in a second get -2).

    `prefix`: COPY_PREFIX for a database etcd-restore copied off a member (never counted by retention)."""
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    base = set_name(now, prefix)
    for attempt in range(1, 100):
        path = destination / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            path.mkdir(mode=0o700)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"{destination / base}: 99 backups in one second")


def existing(destination: Path) -> list[Path]:
    """The complete backups in `destination`, oldest first (their names sort by time).

    An incomplete one (a node's configuration could not be read) is kept for what it holds but
    never counted: it must not push a complete backup out."""
    if not destination.is_dir():
        return []
    found = [p for p in destination.iterdir()
             if p.is_dir() and not p.is_symlink() and _NAME.fullmatch(p.name) and _complete(p)]
    return sorted(found, key=_order)


def _complete(directory: Path) -> bool:
    try:
        return read_manifest(directory).get("complete") is True
    except (OSError, ValueError, AttributeError):
        return False


def _order(path: Path) -> tuple[str, int]:
    name = _NAME.fullmatch(path.name)
    return (name["stamp"], int(name["count"] or 1))


def beyond(destination: Path, keep: int, adding: int = 0) -> list[Path]:
    """The oldest backups past the newest `keep`, counting `adding` backups not written yet."""
    found = existing(destination)
    surplus = len(found) + adding - keep
    return found[:surplus] if surplus > 0 else []


def remove(path: Path) -> None:
    shutil.rmtree(path)


def write_manifest(directory: Path, manifest: dict) -> Path:
    path = directory / MANIFEST
    partial = directory / f".{MANIFEST}.part"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(partial, path)
    return path


def read_manifest(directory: Path) -> dict:
    return json.loads((directory / MANIFEST).read_text())
