"""Drills of runbooks/etcd-restore.ipynb from where the scheduled backups go: a twin whose cluster.yaml names
`backups.s3` (moto's S3 on 127.0.0.1), an object in the bucket as siderolabs/talos-backup writes it, cp-2's
etcd data lost, then the restore, judged by the twin's final state and the record.

talos-backup (0b3984d3f218, cmd/talos-backup/service/service.go, pkg/talos/talos.go, pkg/encryption/
encryption.go, pkg/s3/s3.go) uploads what Talos's EtcdSnapshot API streams (the snapshot with etcd's
integrity hash appended: it checks `size % 512 == sha256.Size`), age-encrypted to AGE_X25519_PUBLIC_KEY,
as `S3_PREFIX/CLUSTER_NAME-<time.Now() in RFC 3339>.snap.age` (application/octet-stream, no other
metadata): the twin's own `talosctl etcd snapshot` gives that database here. No manifest travels with it,
so the restore has no sha256 to compare: age's authentication of every chunk is the check, and the record
says so."""

from __future__ import annotations

import json
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyrage
import pytest

from homeops import load_cluster

from tests.backup.moto_s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, credentials, server  # noqa: F401 (fixtures)
from tests.runbooks.backup_files import memory  # noqa: F401 (a fixture)
from tests.runbooks.backup_files import plaintext_leaks
from tests.runbooks.test_etcd_restore import (CP1, age, backed_up, key_file, lose, members,  # noqa: F401 (age)
                                              node_ready, raw_state, record_of, record_text)

pytestmark = pytest.mark.slow

BUCKET = "home-ops-etcd"
KEYS = [ACCESS_KEY_ID.encode(), SECRET_ACCESS_KEY.encode()]  # nowhere in the project, records or scratch
EVERY_NODE_READY = {"cp-1": True, "cp-2": True, "worker-1": True, "worker-2": True, "worker-3": True}


@pytest.fixture
def bucket(server, credentials):
    import boto3

    client = boto3.session.Session().client("s3", region_name="us-east-1", endpoint_url=server)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def with_s3(age, server: str):
    """cluster.yaml with the test's age key and scheduled backups to the local S3."""
    def edit(text: str) -> str:
        return age.edit(text) + (f"backups:\n  s3:\n    endpoint: {server}\n    bucket: {BUCKET}\n"
                                 "    path_style: true\n")
    return edit


def uploaded(drill, bucket, zone: timezone = timezone.utc) -> tuple[str, int]:
    """What talos-backup's CronJob does: `talosctl etcd snapshot` from a control plane, age-encrypted to the
    cluster's key, put as PREFIX/CLUSTER-TIME.snap.age, TIME in the pod's time zone. The object's name and the
    revision it holds."""
    cluster = load_cluster(drill.config)
    with tempfile.TemporaryDirectory(prefix="talos-backup-") as pod:  # the pod's own disk, never the project
        plain = Path(pod) / "db.snap"
        drill.tool("talosctl", "-n", CP1, "etcd", "snapshot", str(plain))
        database = plain.read_bytes()
    content = json.loads(database)
    # Go's time.Now().Format(time.RFC3339): seconds, then Z in a UTC pod or the pod's offset (+02:00)
    taken = datetime.strptime(content["taken"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).astimezone(zone)
    name = f"{cluster.cluster.name}-{taken.isoformat().replace('+00:00', 'Z')}.snap.age"
    recipient = pyrage.x25519.Recipient.from_str(str(cluster.secrets.age_public_key))
    bucket.put_object(Bucket=BUCKET, Key=f"{cluster.backup_prefix}/{name}", Body=pyrage.encrypt(database, [recipient]),
                      ContentType="application/octet-stream")
    return name, content["revision"]


def changed_after(drill, node: str) -> int:
    """A change to Kubernetes after the snapshot (the restore goes back before it); the revision it made."""
    drill.tool("kubectl", "cordon", node)
    return raw_state(drill)["resource_version"]


def utc_of(name: str) -> str:
    """The time in a talos-backup object's name, in UTC as the record gives it."""
    taken = datetime.fromisoformat(name.removeprefix("home-ops-").removesuffix(".snap.age").replace("Z", "+00:00"))
    return taken.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def a_second_later(taken: str) -> None:
    """Times have seconds: the next snapshot must be taken after `taken` (UTC) to be newer."""
    while time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) <= taken:
        time.sleep(0.2)


def assert_restored(drill, result, revision: int) -> None:
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: etcd-restore (apply)")
    raw = raw_state(drill)
    assert members(raw) == {"cp-1": True, "cp-2": True}
    assert raw["etcd"]["restored_revision"] == revision
    assert node_ready(drill) == EVERY_NODE_READY
    # The recovery is from a snapshot talos-backup wrote: it has etcd's hash, so it is checked.
    [recovery] = [c for c in result.changes if " bootstrap " in c]
    assert recovery.startswith(f"talosctl -n {CP1} bootstrap --recover-from=") and "skip-hash" not in recovery


def assert_from_s3(result, server: str, name: str, revision: int) -> None:
    record = record_of(result)
    status = record["metadata"]["homeops"]
    assert (status["runbook"], status["mode"], status["outcome"]) == ("etcd-restore", "apply", "completed")
    text = record_text(record)
    taken = utc_of(name)
    source = f"s3://{BUCKET}/home-ops at {server}"
    assert f"snapshot: {name} from {source} ({taken}, revision unknown)" in text
    assert "snapshot checked: no manifest sha256 (age authenticated it), decrypts whole" in text
    assert (f"etcd restored on cp-1 from the backup {name}: the cluster's state went back to the snapshot's time, "
            f"{taken} (revision {revision})") in text
    everything = result.stdout + result.stderr + json.dumps(record)
    assert ACCESS_KEY_ID not in everything and SECRET_ACCESS_KEY not in everything


def test_the_newest_snapshot_is_talos_backups_in_s3_and_it_is_restored(make_drill, memory, age, server, bucket):
    drill = make_drill({}, edit=with_s3(age, server))
    local, manifest = backed_up(drill)  # by hand, earlier
    changed_after(drill, "worker-3")
    a_second_later(manifest["taken"])
    name, revision = uploaded(drill, bucket)  # the CronJob's, later: the newest of every source
    assert revision > manifest["snapshot"]["revision"]
    changed_after(drill, "worker-2")
    lose(drill, "etcd-member-lost", "cp-2")

    result = drill.run("etcd-restore", f"identity={key_file(drill, age)}", apply=True)
    assert_restored(drill, result, revision)
    assert_from_s3(result, server, name, revision)
    assert list(memory.iterdir()) == []  # the fetched object and its plain text are gone with the scratch
    assert plaintext_leaks([drill.directory, memory], KEYS) == []


def test_a_snapshot_named_in_s3_is_restored_though_a_local_backup_is_newer_and_its_time_said_in_utc(
        make_drill, memory, age, server, bucket):
    drill = make_drill({}, edit=with_s3(age, server))
    # a pod whose TZ is not UTC (Europe/Athens): the name has its offset, the record says UTC
    name, revision = uploaded(drill, bucket, timezone(timedelta(hours=2)))
    assert name.endswith("+02:00.snap.age")
    changed_after(drill, "worker-3")
    a_second_later(utc_of(name))
    _, manifest = backed_up(drill)  # newer: the default would take it
    assert manifest["snapshot"]["revision"] > revision
    lose(drill, "etcd-member-lost", "cp-2")

    result = drill.run("etcd-restore", f"identity={key_file(drill, age)}", f"snapshot={name}", apply=True)
    assert_restored(drill, result, revision)
    assert_from_s3(result, server, name, revision)
    assert list(memory.iterdir()) == [] and plaintext_leaks([drill.directory, memory], KEYS) == []



def test_a_bucket_that_cannot_be_listed_is_a_warning_and_the_newest_local_backup_is_restored(
        make_drill, memory, age, server, credentials):
    drill = make_drill({}, edit=with_s3(age, server))  # cluster.yaml names a bucket nobody created
    local, manifest = backed_up(drill)
    lose(drill, "etcd-member-lost", "cp-2")

    result = drill.run("etcd-restore", f"identity={key_file(drill, age)}", apply=True)
    assert_restored(drill, result, manifest["snapshot"]["revision"])
    source = f"s3://{BUCKET}/home-ops at {server}"
    assert f"warning: cannot list the snapshots of {source}: {source}: list: S3 answered NoSuchBucket" in result.stdout
    assert f"snapshot: {local.name} from " in result.stdout and "snapshot checked: sha256 matches" in result.stdout
    everything = result.stdout + result.stderr + json.dumps(record_of(result))
    assert ACCESS_KEY_ID not in everything and SECRET_ACCESS_KEY not in everything


def test_a_snapshot_gone_from_the_bucket_is_refused_before_any_reset(make_drill, memory, age, server, bucket):
    drill = make_drill({}, edit=with_s3(age, server))
    name, _ = uploaded(drill, bucket)
    lose(drill, "etcd-member-lost", "cp-2")
    bucket.delete_object(Bucket=BUCKET, Key=f"home-ops/{name}")  # listed a moment ago, say; gone now
    before = raw_state(drill)

    result = drill.run("etcd-restore", f"identity={key_file(drill, age)}", f"snapshot={name}", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    # The name is no longer listed: refused with every source named, before the copy is even used.
    assert result.last_line.startswith(f"stopped: refused: no backup named {name!r} in ")
    assert f"s3://{BUCKET}/home-ops at {server}" in result.last_line
    assert " bootstrap " not in " ".join(result.changes) and " reset " not in " ".join(result.changes)
    cp1 = next(n for n in raw_state(drill)["nodes"] if n["name"] == "cp-1")
    assert cp1.get("etcd_data", True) and cp1["reboot"] is None
    assert raw_state(drill)["etcd"] == before["etcd"]
