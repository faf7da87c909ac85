"""`talosctl -n IP cp /var/lib/etcd/member/snap/db DIR`: the etcd database copied off a control plane.

Talos's disaster-recovery guide (v1.11, `website/content/v1.11/advanced/disaster-recovery.md`)
copies it when no snapshot can be taken (no quorum); it has no integrity hash, so a restore from
it needs `bootstrap --recover-skip-hash-check`. talosctl's own rules from release-1.11
`cmd/talosctl/cmd/talos/copy.go`: one node, two arguments, the local path a directory (made if missing).
"""

from __future__ import annotations

import os

from homeops.twin import cluster
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import api, etcd_commands

ETCD_DATABASE = "/var/lib/etcd/member/snap/db"


def copy(parsed, twin_dir: str) -> int:
    words = parsed.positionals[1:]
    if len(words) != 2:
        raise ToolFailure(f"Error: accepts 2 arg(s), received {len(words)}")
    source, local = words
    addresses = api.addresses(parsed)
    if len(addresses) > 1:
        raise ToolFailure('command "copy" is not supported with multiple nodes')
    if source != ETCD_DATABASE:
        raise ToolFailure(f"the homeops twin copies only {ETCD_DATABASE}")
    if local == "-":
        raise ToolFailure("the homeops twin does not stream archives to stdout: give a local directory")
    current, now = cluster.observe(twin_dir)
    node, error = api.reach(current, addresses[0], now)
    if not error and (node["role"] != "control-plane" or not node.get("etcd_data", True)):
        error = f"rpc error: code = Unknown desc = lstat {ETCD_DATABASE}: no such file or directory"
    if error:
        raise ToolFailure("error copying: " + error)
    local = os.path.normpath(local)
    if os.path.exists(local) and not os.path.isdir(local):
        raise ToolFailure(f'local path "{words[1]}" should be a directory')
    os.makedirs(local, exist_ok=True)
    with open(os.path.join(local, "db"), "wb") as handle:
        handle.write(etcd_commands.database(current, now, hash_appended=False))
    return 0
