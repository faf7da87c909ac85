"""What the Backup and disaster recovery page says about this cluster's backups, from the model."""

from __future__ import annotations

from homeops.backup import sets
from homeops.cluster.model import Cluster
from homeops.rendering import tree
from homeops.site.markdown import cell, code, table

LOCAL_DESTINATION = "backups/"
USER_SECRET = "kubernetes/apps/backup/talos-backup/s3-credentials.sops.yaml"


def backup_destinations(cluster: Cluster) -> str:
    """Where backups go, what each holds and when it is taken: the local directory always, S3 when configured."""
    key = code(cluster.secrets.age_public_key) if cluster.secrets.age_public_key else "_no key: set secrets.age_public_key_"
    rows = [(
        code(LOCAL_DESTINATION + sets.PREFIX + "TIME/"),
        f"{code(sets.SNAPSHOT_FILE)}, {code(sets.machine_config_file('NODE'))} per node, {code(sets.MANIFEST)}",
        "by hand (etcd-backup), and inside control-plane-upgrade before it changes anything",
        key,
    )]
    if cluster.backups is not None:
        s3 = cluster.backups.s3
        where = f"s3://{s3.bucket}/{cluster.backup_prefix}/"
        rows.append((
            code(where) + (f" at {code(s3.endpoint)}" if s3.endpoint else f" (AWS, {cell(s3.region)})"),
            code(f"{cluster.cluster.name}-TIME.snap.age") + " (etcd only)",
            f"the CronJob {code('backup/talos-backup')}: {code(s3.schedule)} (UTC)",
            key,
        ))
    return table(("Where", "What", "When", "Encrypted to"), rows)


def s3_credentials_keys() -> str:
    """The Secret you write for talos-backup, as tree.USER_SECRETS describes it."""
    namespace, name, _ = tree.USER_SECRETS[USER_SECRET]
    rows = [
        (code(name), code("AWS_ACCESS_KEY_ID"), "the S3 access key's ID"),
        (code(name), code("AWS_SECRET_ACCESS_KEY"), "its secret: allowed to put objects into the bucket under the prefix"),
    ]
    return f"{code(USER_SECRET)} (namespace {code(namespace)}):\n\n" + table(("Secret", "Key", "What"), rows)
