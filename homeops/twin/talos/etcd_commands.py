"""`talosctl etcd members|status|snapshot FILE`: the tables with talosctl's columns, and a small
real snapshot file."""

from __future__ import annotations

import json
import os
import sys
import zlib

from homeops.twin import clock, cluster, etcd, output, table
from homeops.twin.talos import api, membership
from homeops.twin.failure import ToolFailure


def etcd_command(parsed, twin_dir: str) -> int:
    words = parsed.positionals[1:]
    sub = words[0] if words else None
    if sub in ("leave", "remove-member", "alarm"):
        return membership.command(parsed, twin_dir, sub, words[1:])
    if sub not in ("members", "status", "snapshot"):
        raise ToolFailure(
            f'Error: unknown command "{sub or ""}" for "talosctl etcd"\nRun \'talosctl etcd --help\' for usage.'
        )
    addresses = api.addresses(parsed)
    current, now = cluster.observe(twin_dir)
    if sub == "snapshot":
        return _snapshot(current, now, addresses, words[1:])
    rows, errors = [], []
    for address in addresses:
        node, error = api.reach(current, address, now)
        if not error and node["role"] != "control-plane":
            what = "member list" if sub == "members" else "etcd status"
            error = f"rpc error: code = Unimplemented desc = {what} is only available on control plane nodes"
        if not error and not etcd.running(current, node, now) and not etcd.members(current):
            error = NOT_RUNNING
        if error:
            errors.append((address, error))
            continue
        rows += _members_rows(current, address, now) if sub == "members" else [_status_row(current, node, now)]
    if not rows:
        raise ToolFailure(
            f"error getting {'members' if sub == 'members' else 'status'}: " + api.node_errors(errors)
        )
    if errors:
        output.write(sys.stderr, "WARNING: " + api.node_errors(errors))
    header = MEMBER_HEADER if sub == "members" else STATUS_HEADER
    if sub == "status" and api.client_before(current, 11):
        # talosctl before v1.11.0 prints no PROTOCOL and STORAGE columns.
        keep = [i for i, name in enumerate(STATUS_HEADER) if name not in ("PROTOCOL", "STORAGE")]
        header = [header[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    output.write(sys.stdout, table.aligned([header] + rows))
    return 0


# A control plane whose etcd has not started (waiting for `talosctl bootstrap`): Talos's local
# etcd client cannot connect.
NOT_RUNNING = ("rpc error: code = Unknown desc = failed to create etcd client: error building etcd client: "
               "context deadline exceeded")
MEMBER_HEADER = ["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"]
STATUS_HEADER = [
    "NODE", "MEMBER", "DB SIZE", "IN USE", "LEADER", "RAFT INDEX", "RAFT TERM", "RAFT APPLIED INDEX", "LEARNER",
    "PROTOCOL", "STORAGE", "ERRORS",
]


def _members_rows(current: dict, address: str, now: float) -> list[list[str]]:
    return [
        [address, m["member_id"], m["name"], f"https://{m['address']}:2380", f"https://{m['address']}:2379",
         str(etcd.is_learner(m, now)).lower()]
        for m in etcd.members(current)
    ]


def _status_row(current: dict, node: dict, now: float) -> list[str]:
    data = current["etcd"]
    healthy = etcd.healthy(current, node, now)
    leader = etcd.leader(current, now)
    size, used = data["db_size"], data["in_use"]
    return [
        node["address"],
        node["member_id"],
        f"{size / 1e6:.0f} MB",
        f"{used / 1e6:.1f} MB ({100 * used / size:.2f}%)",
        leader["member_id"] if healthy and leader else "0000000000000000",
        str(data["raft_index"]),
        str(data["raft_term"]),
        str(data["raft_index"] if healthy else data["raft_index"] - 1742),
        str(etcd.is_learner(node, now)).lower(),
        "3.6.4",
        "3.6.0",
        "" if healthy else "etcdserver: no leader",
    ]


def database(current: dict, now: float, hash_appended: bool = True) -> bytes:
    """A small stand-in for the etcd database: what the twin's API server holds, and its revision.

    `etcd snapshot` appends an integrity hash; the database file copied off a node has none
    (`hash_appended: false`), so a restore from it needs --recover-skip-hash-check."""
    content = {"snapshot": "homeops-twin", "taken": clock.rfc3339(now), "leases": current["leases"],
               "revision": current["resource_version"]}
    if not hash_appended:
        content["hash_appended"] = False
    return json.dumps(content, indent=1).encode()


def _snapshot(current: dict, now: float, addresses: list[str], words: list[str]) -> int:
    if len(words) != 1:
        raise ToolFailure(f"Error: accepts 1 arg(s), received {len(words)}")
    if len(addresses) != 1:
        raise ToolFailure('error: command "snapshot" is not supported with multiple nodes')
    address, target = addresses[0], words[0]
    node, error = api.reach(current, address, now)
    if not error and node["role"] != "control-plane":
        error = "rpc error: code = Unimplemented desc = etcd snapshot is only available on control plane nodes"
    if not error and not etcd.healthy(current, node, now):
        error = "rpc error: code = Unavailable desc = etcdserver: no leader"
    if error:
        raise ToolFailure("error reading snapshot: " + api.node_errors([(address, error)]))
    payload = database(current, now)
    partial = f"{target}.part"
    try:
        with open(partial, "wb") as handle:
            handle.write(payload)
        os.replace(partial, target)
    except OSError as exc:
        raise ToolFailure(f"error: open {partial}: {exc.strerror.lower() if exc.strerror else exc}") from None
    output.write(sys.stdout, f'etcd snapshot saved to "{target}" ({len(payload)} bytes)')
    output.write(
        sys.stdout,
        f"snapshot info: hash {zlib.crc32(payload):08x}, revision {current['resource_version']}, total keys "
        f"{len(current['leases']) + 1042}, total size {len(payload)}",
    )
    return 0
