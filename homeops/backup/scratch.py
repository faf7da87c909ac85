"""A private, memory-backed directory for the one plaintext file a backup cannot avoid.

`talosctl etcd snapshot FILE` (siderolabs/talos cmd/talosctl/cmd/talos/etcd.go) cannot write into a
pipe: it creates FILE.part, copies the stream, fsyncs, renames FILE.part to FILE and then opens
FILE again with etcd's `snapshot.Status` (bbolt, which maps the file) to print the hash and
revision. A FIFO would be replaced by the rename's regular file or fail bbolt, and the revision
and hash the record keeps would be lost. So the snapshot is written into a 0700 directory on a
memory filesystem (tmpfs), encrypted from there into the destination, and the directory removed
whatever happens. tmpfs pages can reach swap: on a machine with unencrypted swap, say so (docs).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ENV = "HOMEOPS_SCRATCH"  # a directory on tmpfs to use instead of $XDG_RUNTIME_DIR or /dev/shm
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
PREFIX = "homeops-backup-"


class ScratchUnavailable(RuntimeError):
    """No memory-backed directory to write the snapshot into."""


def filesystem_type(path: str | Path, mountinfo: str | None = None) -> str | None:
    """The type of the filesystem `path` lies on, from /proc/self/mountinfo (None where unknown)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return None
    real = os.path.realpath(path)
    best, found = -1, None
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        mount_point = _unescape(fields[4])
        fstype = line.split(" - ", 1)[1].split()[0]
        inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > best:  # the deepest mount holding the path, the last one mounted on ties
            best, found = len(mount_point), fstype
        elif inside and len(mount_point) == best:
            found = fstype
    return found


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes (\040 ...).
    return field.encode().decode("unicode_escape") if "\\" in field else field


def candidates() -> list[str]:
    chosen = os.environ.get(ENV)
    if chosen:
        return [chosen]
    return [d for d in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm") if d]


def base_directory() -> Path:
    tried = []
    for candidate in candidates():
        kind = filesystem_type(candidate) if os.path.isdir(candidate) else None
        if kind in MEMORY_FILESYSTEMS:
            return Path(candidate)
        tried.append(f"{candidate} ({kind or 'missing'})")
    raise ScratchUnavailable(
        f"no memory-backed directory to hold the etcd snapshot until it is encrypted (tried {', '.join(tried)}): "
        f"set {ENV} to a directory on tmpfs")


@contextmanager
def private_directory() -> Iterator[Path]:
    """A fresh 0700 directory on tmpfs, removed with everything in it when the block ends."""
    path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base_directory()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
