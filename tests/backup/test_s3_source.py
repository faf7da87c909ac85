"""S3Source against a local S3 (moto's server on 127.0.0.1) holding objects named as talos-backup names them:
`S3_PREFIX/CLUSTER_NAME-<Go RFC 3339 time>.snap.age` (siderolabs/talos-backup v0.1.0-beta.3, pkg/talos/talos.go
and cmd/talos-backup/service/service.go)."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyrage
import pytest

from homeops.backup import s3
from homeops.backup.s3 import S3Source, S3Unavailable
from homeops.cluster.loader import check_text

from tests.backup.moto_s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, credentials, server  # noqa: F401 (fixtures)

BUCKET = "home-ops-etcd"
IDENTITY = pyrage.x25519.Identity.generate()
SNAPSHOTS = {
    "home-ops/home-ops-2026-12-05T18:00:00Z.snap.age": b"oldest",
    "home-ops/home-ops-2026-12-06T12:00:00Z.snap.age": b"newest",
    # a pod whose clock is not UTC writes the offset; 13:00+02:00 is 11:00Z, older than 12:00Z
    "home-ops/home-ops-2026-12-06T13:00:00+02:00.snap.age": b"offset",
}
NOT_SNAPSHOTS = {
    "home-ops/README.txt": b"notes",
    "home-ops/old/home-ops-2026-12-01T00:00:00Z.snap.age": b"below the prefix",
    "home-ops/home-ops-2026-12-06T06:00:00Z.snap.zst.age": b"compressed (ENABLE_COMPRESSION)",
    "home-ops-2/home-ops-2026-12-07T00:00:00Z.snap.age": b"another prefix that starts the same",
}


@pytest.fixture(autouse=True)
def only_the_tests_credentials(credentials):
    pass


@pytest.fixture
def bucket(server: str):
    source = S3Source(BUCKET, "home-ops", endpoint=server, path_style=True)
    client = source.client()
    client.create_bucket(Bucket=BUCKET)
    for key, body in {**SNAPSHOTS, **NOT_SNAPSHOTS}.items():
        client.put_object(Bucket=BUCKET, Key=key, Body=pyrage.encrypt(body, [IDENTITY.to_public()]))
    yield source
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_it_lists_talos_backups_snapshots_under_the_prefix_newest_first(bucket: S3Source, server: str):
    refs = bucket.list()
    assert [r.name for r in refs] == ["home-ops-2026-12-06T12:00:00Z.snap.age",
                                      "home-ops-2026-12-06T13:00:00+02:00.snap.age",
                                      "home-ops-2026-12-05T18:00:00Z.snap.age"]
    assert refs[0].taken_at == datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
    assert refs[1].taken_at == datetime(2026, 12, 6, 11, tzinfo=timezone.utc)
    assert refs[1].taken_at.utcoffset() == timedelta(hours=2)
    assert {(r.source, r.revision, r.sha256) for r in refs} == {(f"s3://{BUCKET}/home-ops at {server}", None, None)}


def test_it_fetches_one_still_encrypted_private_and_whole(bucket: S3Source, tmp_path: Path):
    newest = bucket.list()[0]
    into = tmp_path / "scratch"
    path = bucket.fetch(newest, into)
    assert path == into / newest.name
    assert path.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert pyrage.decrypt(path.read_bytes(), [IDENTITY]) == b"newest"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in into.iterdir()) == [newest.name]


def test_a_snapshot_gone_from_the_bucket_is_named_and_leaves_no_partial_file(bucket: S3Source, tmp_path: Path):
    ref = bucket.list()[0]
    bucket.client().delete_object(Bucket=BUCKET, Key=f"home-ops/{ref.name}")
    with pytest.raises(S3Unavailable) as stopped:
        bucket.fetch(ref, tmp_path)
    assert str(stopped.value).startswith(f"{bucket.describe()}: fetch {ref.name}: S3 answered ")
    assert "404" in str(stopped.value) or "NoSuchKey" in str(stopped.value)
    assert list(tmp_path.iterdir()) == []


def test_a_name_that_is_not_a_snapshot_of_the_prefix_is_never_fetched(bucket: S3Source, tmp_path: Path):
    for name in ("../home-ops-2/home-ops-2026-12-07T00:00:00Z.snap.age", "README.txt", ""):
        ref = s3.SnapshotRef(bucket.describe(), name, None, None, None)
        with pytest.raises(S3Unavailable, match="is not the name of a talos-backup snapshot"):
            bucket.fetch(ref, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_bucket_is_named_without_any_credential(server: str):
    source = S3Source("no-such-bucket", "home-ops", endpoint=server, path_style=True)
    with pytest.raises(S3Unavailable) as stopped:
        source.list()
    message = str(stopped.value)
    assert message == f"s3://no-such-bucket/home-ops at {server}: list: S3 answered NoSuchBucket"
    assert SECRET_ACCESS_KEY not in message and ACCESS_KEY_ID not in message


def test_without_credentials_it_says_where_they_are_read_from(server: str, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(S3Unavailable, match="no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        S3Source(BUCKET, "home-ops", endpoint=server, path_style=True).list()


def test_an_unreachable_endpoint_is_named(monkeypatch):
    monkeypatch.setattr(s3, "CONNECT_TIMEOUT", 1)
    # a port nothing listens on, on this machine only
    source = S3Source(BUCKET, "home-ops", endpoint="http://127.0.0.1:9", path_style=True)
    with pytest.raises(S3Unavailable, match=r"list: Could not connect to the endpoint URL"):
        source.list()


def test_talos_backups_names_are_read_and_others_are_not():
    assert s3.taken_at("home-ops-2026-12-06T12:00:00Z.snap.age") == datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
    assert s3.taken_at("my-cluster-2-2026-01-02T03:04:05-07:00.snap.age") == datetime(
        2026, 1, 2, 10, 4, 5, tzinfo=timezone.utc)
    for name in ("home-ops-2026-12-06T12:00:00Z.snap", "home-ops-2026-12-06T12:00:00Z.snap.zst.age",
                 "home-ops-2026-12-06.snap.age", "home-ops-2026-12-06T12:00:00.123Z.snap.age", "manifest.json"):
        assert s3.taken_at(name) is None, name


def test_from_cluster_takes_cluster_yamls_destination(repo_root: Path):
    text = (repo_root / "cluster.yaml").read_text() + (
        "backups:\n  s3:\n    endpoint: http://minio.example.com:9000\n    bucket: etcd\n    path_style: true\n")
    cluster = check_text(text).cluster
    source = S3Source.from_cluster(cluster)
    assert (source.bucket, source.prefix, source.endpoint, source.region, source.path_style) == (
        "etcd", "home-ops", "http://minio.example.com:9000", "us-east-1", True)
    assert source.describe() == "s3://etcd/home-ops at http://minio.example.com:9000"
    aws = S3Source("etcd", "a/b/", region="eu-west-1")
    assert (aws.prefix, aws.describe()) == ("a/b", "s3://etcd/a/b")
