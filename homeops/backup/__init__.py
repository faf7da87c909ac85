"""Backups of what a cluster cannot be rebuilt without: etcd's snapshot and each node's machine
configuration, both carrying the cluster's secrets, so nothing of them reaches disk unencrypted.

`sealing` encrypts to the age public key of cluster.yaml (`secrets.age_public_key`), `scratch` is the
private memory-backed directory talosctl writes the snapshot into, `sets` lays a backup out on disk
(one directory a backup, its manifest, retention). The procedure is `homeops.procedures.etcd_backup`.
`s3` reads what talos-backup's scheduled CronJob uploaded (cluster.yaml's `backups.s3`).
"""
