"""`talosctl etcd leave`, `talosctl etcd remove-member ID` and `talosctl etcd alarm list`.

As Talos v1.11 (siderolabs/talos release-1.11: `cmd/talosctl/cmd/talos/etcd.go`, the server's
EtcdLeaveCluster and EtcdRemoveMemberByID in `internal/app/machined/internal/server/v1alpha1/
v1alpha1_server.go`, `internal/pkg/etcd/etcd.go`): both go through etcd with "require leader", so
without quorum they fail with `etcdserver: no leader`; a member ID is written in hex; leave removes
the node's own member and its data directory; alarm list prints `NODE MEMBER ALARM` rows only when
there is an alarm (the `etcd-nospace` fault raises NOSPACE on its node's member).
"""

from __future__ import annotations

import sys

from homeops.twin import cluster, etcd, faults, output, table
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import api
from homeops.twin.talos.reset import leave

NO_LEADER = "etcdserver: no leader"


def command(parsed, twin_dir: str, sub: str, words: list[str]) -> int:
    if sub == "alarm":
        return _alarm(parsed, twin_dir, words)
    addresses = api.addresses(parsed)
    if sub == "leave":
        if words:
            raise ToolFailure(f'Error: unknown command "{words[0]}" for "talosctl etcd leave"')
        if len(addresses) > 1:
            raise ToolFailure('command "etcd leave" is not supported with multiple nodes')
    elif len(words) != 1:
        raise ToolFailure(f"Error: accepts 1 arg(s), received {len(words)}")
    else:
        try:
            int(words[0], 16)
        except ValueError:
            raise ToolFailure(f'error parsing member ID: strconv.ParseUint: parsing "{words[0]}": invalid syntax') \
                from None
    what = "etcd leave" if sub == "leave" else "etcd remove member"
    with cluster.changing(twin_dir) as (live, now):
        for address in addresses:
            node, error = api.reach(live, address, now)
            if not error and node["role"] != "control-plane":
                error = f"rpc error: code = Unimplemented desc = {what} is only available on control plane nodes"
            if not error and not etcd.available(live, now):
                prefix = "failed to leave cluster" if sub == "leave" else "failed to remove member"
                error = f"rpc error: code = Unknown desc = {prefix}: {NO_LEADER}"
            if not error and sub == "leave":
                leave(node)
            elif not error:
                error = _remove(live, words[0])
            if error:
                raise ToolFailure(api.node_errors([(address, error)]) if sub != "leave" else error)
    return 0


def _remove(state: dict, text: str) -> str | None:
    wanted = int(text, 16)
    for member in etcd.members(state):
        if int(member["member_id"], 16) == wanted:
            # Out of the member list; whatever data its node still holds is stale (a reset wipes it).
            member["etcd_member"] = False
            member.pop("etcd_learner_until", None)
            state["resource_version"] += 1
            return None
    return "rpc error: code = NotFound desc = etcdserver: member not found"


def _alarm(parsed, twin_dir: str, words: list[str]) -> int:
    if words[:1] != ["list"] or len(words) > 1:
        raise ToolFailure("the homeops twin supports `talosctl etcd alarm list` only")
    addresses = api.addresses(parsed)
    current, now = cluster.observe(twin_dir)
    errors, rows = [], []
    for address in addresses:
        node, error = api.reach(current, address, now)
        if not error and node["role"] != "control-plane":
            error = "rpc error: code = Unimplemented desc = etcd alarm list is only available on control plane nodes"
        if not error and not etcd.available(current, now):
            error = f"rpc error: code = Unknown desc = {NO_LEADER}"
        if error:
            errors.append((address, error))
            continue
        rows += [[address, member["member_id"], "NOSPACE"] for member in etcd.members(current)
                 if faults.active(current, "etcd-nospace", member["name"])]
    if errors and len(errors) == len(addresses):
        raise ToolFailure("error getting alarms: " + api.node_errors(errors))
    if errors:
        output.write(sys.stderr, "WARNING: " + api.node_errors(errors))
    if rows:
        output.write(sys.stdout, table.aligned([["NODE", "MEMBER", "ALARM"], *rows]))
    return 0
