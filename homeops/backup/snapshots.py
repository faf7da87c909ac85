"""Where etcd-restore finds snapshots: the backups etcd-backup wrote (`LocalSource`), and, when
cluster.yaml names an S3-compatible destination, the scheduled talos-backup uploads
(`homeops.backup.s3.S3Source`). Every source lists its snapshots newest first and fetches one, still
encrypted, into a directory the restore gives (the scratch directory).

A reference carries what its source knows: a local backup's manifest gives the time, revision and
the sha256 of the encrypted file (checked before anything is wiped); a source without a manifest
gives None, and only age's own authentication (every chunk has a MAC) then vouches for the file.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from homeops.backup import sets


@dataclass(frozen=True)
class SnapshotRef:
    source: str  # e.g. "backups/" or "s3://bucket/prefix"
    name: str  # the backup's name in its source (a local set's directory name)
    taken_at: datetime | None
    revision: int | None
    sha256: str | None  # of the encrypted file, as its manifest names it


class SnapshotSource(Protocol):
    def describe(self) -> str: ...

    def list(self) -> list[SnapshotRef]: ...

    def fetch(self, ref: SnapshotRef, into: Path) -> Path: ...


class SnapshotUnavailable(ValueError):
    """A snapshot cannot be listed or fetched (its set is gone, incomplete, or names no file)."""


def parse_time(text: object) -> datetime | None:
    """A manifest's `taken` (`2026-12-06T17:40:00Z`) as an aware datetime; None when absent or malformed."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


_CHUNK = 1 << 20  # bytes read at a time: any size gives the same digest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class LocalSource:
    """The complete backups etcd-backup wrote under `directory` (sets.existing: complete manifests only)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def describe(self) -> str:
        return f"{self.directory}/"

    def list(self) -> list[SnapshotRef]:
        found = [self.ref(path) for path in reversed(sets.existing(self.directory))]
        return [ref for ref in found if ref is not None]

    def ref(self, directory: Path) -> SnapshotRef | None:
        """A reference to the set in `directory` (a backup or a copied database); None without a snapshot file."""
        try:
            manifest = sets.read_manifest(directory)
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or manifest.get("complete") is not True:
            return None
        file = _snapshot_file(manifest)
        if file is None:
            return None
        listed = {f.get("name"): f.get("sha256") for f in manifest.get("files") or [] if isinstance(f, dict)}
        snapshot = manifest.get("snapshot") or {}
        revision = snapshot.get("revision")
        return SnapshotRef(self.describe(), directory.name, parse_time(manifest.get("taken")),
                           revision if isinstance(revision, int) and not isinstance(revision, bool) else None,
                           listed.get(file) if isinstance(listed.get(file), str) else None)

    def path_of(self, ref: SnapshotRef) -> Path:
        directory = self.directory / ref.name
        if ref.name != directory.name or not directory.is_dir():
            raise SnapshotUnavailable(f"{directory}: no such backup")
        try:
            file = _snapshot_file(sets.read_manifest(directory))
        except (OSError, ValueError) as exc:
            raise SnapshotUnavailable(f"{directory}: its manifest cannot be read: {exc}") from None
        if file is None or not (directory / file).is_file():
            raise SnapshotUnavailable(f"{directory}: holds no encrypted snapshot")
        return directory / file

    def fetch(self, ref: SnapshotRef, into: Path) -> Path:
        source = self.path_of(ref)
        target = Path(into) / source.name
        shutil.copyfile(source, target)
        return target


def _snapshot_file(manifest: dict) -> str | None:
    snapshot = manifest.get("snapshot") if isinstance(manifest, dict) else None
    file = snapshot.get("file") if isinstance(snapshot, dict) else None
    # A name inside the set, never a path out of it.
    return file if isinstance(file, str) and file and "/" not in file and file not in (".", "..") else None


def copied_from(directory: Path) -> str | None:
    """The node a set etcd-restore made of a member's database was copied off (a database without an
    integrity hash: its recovery needs --recover-skip-hash-check); None for a snapshot."""
    try:
        manifest = sets.read_manifest(directory)
    except (OSError, ValueError):
        return None
    snapshot = manifest.get("snapshot") if isinstance(manifest, dict) else None
    if not isinstance(snapshot, dict) or snapshot.get("hash_appended") is not False:
        return None
    source = manifest.get("source")
    node = source.get("node") if isinstance(source, dict) else None
    return node if isinstance(node, str) and node else "a member"


def sources_for(session, destination: str | Path) -> list[SnapshotSource]:
    """The local backups, then the S3 destination's when cluster.yaml names one."""
    from homeops.procedures.etcd_backup import destination_of

    found: list[SnapshotSource] = [LocalSource(destination_of(session, destination))]
    if getattr(session.cluster, "backups", None) is not None:
        s3 = _s3_source(session.cluster)
        if s3 is not None:
            found.append(s3)
    return found


def _s3_source(cluster):
    try:  # written on another branch (scheduled backups): absent until it is merged
        from homeops.backup.s3 import S3Source
    except ImportError:
        return None
    return S3Source.from_cluster(cluster)


def newest_first(refs: list[SnapshotRef]) -> list[SnapshotRef]:
    """Every source's snapshots merged, newest first; those of unknown time last, in their sources' order."""
    timed = [r for r in refs if r.taken_at is not None]
    untimed = [r for r in refs if r.taken_at is None]
    return sorted(timed, key=lambda r: r.taken_at, reverse=True) + untimed
