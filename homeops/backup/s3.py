"""The S3 bucket talos-backup's CronJob uploads to, as a snapshot source (`homeops.backup.snapshots`).

siderolabs/talos-backup (v0.1.0-beta.3, 11ca8c57ddbb: pkg/talos/talos.go and cmd/talos-backup/service/service.go)
names each object `S3_PREFIX/CLUSTER_NAME-TIME.snap.age`, TIME in Go's RFC 3339 (`2026-12-06T18:00:00Z`) and the
file age-encrypted to AGE_X25519_PUBLIC_KEY; the rendered CronJob sets S3_PREFIX to cluster.yaml's
`backups.s3.prefix` (default: cluster.name). `list()` gives those objects directly under the prefix, newest
first; `fetch()` copies one, still encrypted, into a directory (0600, renamed once whole), never decrypting it.

Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the
shared credentials file): none is read, held or printed here, and an error names the bucket and S3's error
code, never a key. boto3 is imported on first use (a restore that reads only `backups/` never loads it).
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from homeops.backup.snapshots import SnapshotRef, SnapshotUnavailable

if TYPE_CHECKING:
    from homeops.cluster.model import Cluster

SUFFIX = ".snap.age"
# talos-backup's name: CLUSTER_NAME-<time.RFC3339>.snap.age (Go's RFC 3339 has no fractional seconds)
_NAME = re.compile(r"(?P<cluster>.+)-(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d))\.snap\.age")
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60


class S3Unavailable(SnapshotUnavailable):
    """The bucket could not be listed or an object fetched: what, where and S3's error code, no credential.

    A SnapshotUnavailable like every source's, so the restore treats an unreachable bucket as it treats a
    missing backup: a warning while it lists (the local backups still count), a refusal before any reset."""


def taken_at(name: str) -> datetime | None:
    """When talos-backup took the snapshot, from its object name (None for a name it did not write)."""
    found = _NAME.fullmatch(name)
    if found is None:
        return None
    return datetime.fromisoformat(found["time"].replace("Z", "+00:00"))


class S3Source:
    def __init__(self, bucket: str, prefix: str, *, endpoint: str | None = None, region: str = "us-east-1",
                 path_style: bool = False, client=None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint
        self.region = region
        self.path_style = path_style
        self._client = client

    @classmethod
    def from_cluster(cls, cluster: Cluster) -> S3Source:
        s3 = cluster.backups.s3
        return cls(s3.bucket, cluster.backup_prefix, endpoint=s3.endpoint, region=s3.region,
                   path_style=s3.path_style)

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                            retries={"max_attempts": 3, "mode": "standard"},
                            s3={"addressing_style": "path" if self.path_style else "auto"})
            self._client = boto3.session.Session().client(
                "s3", region_name=self.region, endpoint_url=self.endpoint, config=config)
        return self._client

    def list(self) -> list[SnapshotRef]:
        """talos-backup's snapshots directly under the prefix, newest first; other objects are not snapshots."""
        found = []
        with _answers(self, "list"):
            pages = self.client().get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/")
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(self.prefix) + 1:]
                    when = taken_at(name)
                    if "/" in name or when is None:
                        continue
                    found.append(SnapshotRef(source=self.describe(), name=name, taken_at=when, revision=None,
                                             sha256=None))
        return sorted(found, key=lambda ref: (ref.taken_at, ref.name), reverse=True)

    def fetch(self, ref: SnapshotRef, into: Path) -> Path:
        """The snapshot's object, still encrypted, as `into/NAME` (0600; a partial download never has the name)."""
        if "/" in ref.name or ref.name in ("", ".", "..") or taken_at(ref.name) is None:
            raise S3Unavailable(f"{ref.name!r} is not the name of a talos-backup snapshot")
        into.mkdir(parents=True, exist_ok=True)
        target = into / ref.name
        partial = into / f".{ref.name}.part"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle, _answers(self, f"fetch {ref.name}"):
                self.client().download_fileobj(self.bucket, f"{self.prefix}/{ref.name}", handle)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return target


class _answers:
    """Turns botocore's failures into S3Unavailable naming the bucket and S3's error code."""

    def __init__(self, source: S3Source, doing: str) -> None:
        self.source, self.doing = source, doing

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None:
            return False
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = f"{self.source.describe()}: {self.doing}"
        if isinstance(error, NoCredentialsError):
            raise S3Unavailable(f"{where}: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                                "(or AWS_PROFILE) in the environment") from None
        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code", "?")
            raise S3Unavailable(f"{where}: S3 answered {code}") from None
        if isinstance(error, BotoCoreError):
            # botocore's own messages name the endpoint or the setting, never a key's value
            raise S3Unavailable(f"{where}: {error}") from None
        return False
