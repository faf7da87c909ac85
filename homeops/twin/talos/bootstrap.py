"""`talosctl bootstrap [--recover-from FILE [--recover-skip-hash-check]]` and `talosctl kubeconfig PATH`.

Texts from siderolabs/talos release-1.11: `cmd/talosctl/cmd/talos/bootstrap.go` (one node only, the
"recovering from snapshot" line, "error executing bootstrap: "), `internal/app/machined/internal/
server/v1alpha1/v1alpha1_server.go` (Bootstrap: "bootstrap is not available yet", "bootstrap can
only be performed on a control plane node", AlreadyExists "etcd data directory is not empty";
EtcdRecover: "etcd service is not ready for recovery yet") and `internal/app/machined/pkg/system/
services/etcd.go` (a failed recovery fails the etcd service, not the bootstrap call), and
`cmd/talosctl/cmd/talos/kubeconfig.go`.
"""

from __future__ import annotations

import json
import os
import sys
import zlib

from homeops.twin import cluster, etcd, nodes, output
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import api

KUBECONFIG_MARKER = "homeops-twin"  # in every kubeconfig the twin writes: the only files it overwrites


def bootstrap(parsed, twin_dir: str) -> int:
    addresses = api.addresses(parsed)
    if len(addresses) > 1:
        raise ToolFailure('command "bootstrap" is not supported with multiple nodes')
    if len(parsed.positionals) > 1:
        raise ToolFailure(f'Error: unknown command "{parsed.positionals[1]}" for "talosctl bootstrap"')
    source = parsed.value("recover-from")
    snapshot = read_snapshot(source) if source else None
    if snapshot:
        output.write(sys.stdout, f'recovering from snapshot "{source}": hash {snapshot["hash"]:08x}, '
                                 f'revision {snapshot["revision"]}, total keys {snapshot["keys"]}, '
                                 f'total size {snapshot["size"]}')
    with cluster.changing(twin_dir) as (live, now):
        node, error = api.reach(live, addresses[0], now)
        if not error:
            error = _refusal(node, now, recovering=snapshot is not None)
        if error:
            raise ToolFailure(("error uploading snapshot: " if error == NOT_READY_FOR_RECOVERY else
                               "error executing bootstrap: ") + error)
        _form(live, node, now, snapshot, parsed.switch("recover-skip-hash-check"))
    return 0


NOT_READY_FOR_RECOVERY = "rpc error: code = FailedPrecondition desc = etcd service is not ready for recovery yet"


def _refusal(node: dict, now: float, recovering: bool) -> str | None:
    if nodes.phase(node, now) != nodes.RUNNING:
        return "rpc error: code = FailedPrecondition desc = bootstrap is not available yet"
    if node["role"] != "control-plane":
        if recovering:
            return NOT_READY_FOR_RECOVERY
        return "rpc error: code = FailedPrecondition desc = bootstrap can only be performed on a control plane node"
    if node.get("etcd_data", True):
        if recovering:
            return NOT_READY_FOR_RECOVERY  # etcd runs: it is not waiting in Preparing for a snapshot
        return "rpc error: code = AlreadyExists desc = etcd data directory is not empty"
    return None


def _form(state: dict, node: dict, now: float, snapshot: dict | None, skip_hash_check: bool) -> None:
    """A one-member etcd on `node`; every other control plane is out of it and joins once wiped."""
    if snapshot and not snapshot["hash_appended"] and not skip_hash_check:
        # The etcd service fails after the call returned: the API call itself succeeded.
        node["etcd_failure"] = ("error recovering from the snapshot: snapshot missing hash but "
                                "--skip-hash-check=false")
        return
    node.pop("etcd_failure", None)
    for other in etcd.members(state):
        if other is not node:
            other["etcd_member"] = False
    node.update(etcd_member=True, etcd_data=True)
    node.pop("etcd_learner_until", None)
    state["etcd"]["formed_at"] = now
    if snapshot:
        state["resource_version"] = snapshot["revision"]
        state["leases"] = snapshot["leases"]
        state["etcd"]["restored_revision"] = snapshot["revision"]


def read_snapshot(path: str) -> dict:
    """What etcd's snapshot.Status reads from a file `talosctl etcd snapshot` wrote (or a copied database)."""
    try:
        with open(path, "rb") as handle:
            payload = handle.read()
    except OSError as exc:
        raise ToolFailure(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("snapshot") != "homeops-twin":
        raise ToolFailure("invalid database")
    return {
        "hash": zlib.crc32(payload),
        "revision": data["revision"],
        "keys": len(data["leases"]) + 1042,
        "size": len(payload),
        "leases": data["leases"],
        "hash_appended": data.get("hash_appended", True),
    }


def kubeconfig(parsed, twin_dir: str) -> int:
    addresses = api.addresses(parsed)
    if len(addresses) > 1:
        raise ToolFailure('command "kubeconfig" is not supported with multiple nodes')
    words = parsed.positionals[1:]
    if len(words) > 1:
        raise ToolFailure(f"Error: accepts at most 1 arg(s), received {len(words)}")
    if not words:
        # Talos merges into ~/.kube/config: a twin must never point a real kubectl at a cluster address.
        raise ToolFailure("the homeops twin writes a kubeconfig only to a path you give: talosctl kubeconfig PATH")
    current, now = cluster.observe(twin_dir)
    node, error = api.reach(current, addresses[0], now)
    if not error and node["role"] != "control-plane":
        error = "rpc error: code = Unimplemented desc = kubeconfig is only available on control plane nodes"
    if error:
        raise ToolFailure("error copying: " + error)
    path = os.path.normpath(words[0])
    if os.path.isdir(path):
        path = os.path.join(path, "kubeconfig")
    force, merge = parsed.switch("force"), parsed.switch("merge", True)
    if os.path.exists(path):
        if not (force or merge):
            raise ToolFailure(f'kubeconfig file already exists, use --force to overwrite: "{path}"')
        with open(path, encoding="utf-8", errors="replace") as handle:
            if KUBECONFIG_MARKER not in handle.read():
                raise ToolFailure(f'the homeops twin does not merge into "{path}", which it did not write')
    else:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(_kubeconfig_text(current))
    return 0


def _pem(kind: str) -> str:
    import base64  # only a kubeconfig needs it; every other talosctl call would pay for it (and struct)

    body = base64.b64encode(os.urandom(96)).decode()
    return base64.b64encode(f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n".encode()).decode()


def _kubeconfig_text(state: dict) -> str:
    """An admin kubeconfig in talosctl's shape: fresh random (worthless) key material every time."""
    name = state["cluster"]["name"]
    return (
        "apiVersion: v1\nkind: Config\n"
        f"# written by the {KUBECONFIG_MARKER}: no credential of any cluster\n"
        "clusters:\n"
        f"    - name: {name}\n      cluster:\n        server: https://{state['cluster']['vip']}:6443\n"
        f"        certificate-authority-data: {_pem('CERTIFICATE')}\n"
        "contexts:\n"
        f"    - name: admin@{name}\n      context:\n        cluster: {name}\n        namespace: default\n"
        f"        user: admin@{name}\n"
        f"current-context: admin@{name}\n"
        "users:\n"
        f"    - name: admin@{name}\n      user:\n        client-certificate-data: {_pem('CERTIFICATE')}\n"
        f"        client-key-data: {_pem('EC PRIVATE KEY')}\n"
    )
