"""`talosctl -n IP reset [--graceful=BOOL] [--reboot] [--system-labels-to-wipe LABEL ...] [--wait=BOOL]`.

As Talos v1.11 (`cmd/talosctl/cmd/talos/reset.go`: --graceful defaults to true, --reboot to false
(the node shuts down), --wait and --insecure do not go together; `internal/pkg/etcd/etcd.go`
LeaveCluster): a graceful reset cordons and drains the node and, on a control plane, leaves etcd
first (which needs quorum); EPHEMERAL holds etcd's data and the kubelet's, STATE the machine
configuration (without it the node boots into maintenance mode); no label wipes both. A reset
without --graceful leaves the member behind in etcd's member list: on a 2-member etcd, quorum is gone.
"""

from __future__ import annotations

import sys

from homeops.twin import clock, cluster, etcd, ids, nodes, output
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import api

LABELS = ("STATE", "EPHEMERAL", "META")


def reset(parsed, twin_dir: str) -> int:
    if len(parsed.positionals) > 1:
        raise ToolFailure(f'Error: unknown command "{parsed.positionals[1]}" for "talosctl reset"')
    wait = parsed.switch("wait", True)
    if wait and parsed.switch("insecure"):
        raise ToolFailure("cannot use --wait and --insecure together")
    labels = [label for value in parsed.all("system-labels-to-wipe") for label in value.split(",") if label]
    unknown = [label for label in labels if label not in LABELS]
    if unknown:
        raise ToolFailure("error executing reset: rpc error: code = InvalidArgument desc = "
                          f'system partition "{unknown[0]}" not found')
    wiped = set(labels) if labels else {"STATE", "EPHEMERAL"}
    graceful, reboot = parsed.switch("graceful", True), parsed.switch("reboot")
    timeout = api.duration(parsed, "timeout", "30m")
    addresses = api.addresses(parsed)
    for address in addresses:
        with cluster.changing(twin_dir) as (live, now):
            node, error = api.reach(live, address, now, parsed.switch("insecure"))
            if error:
                raise ToolFailure("error executing reset: " + api.node_errors([(address, error)]))
            if graceful and node["role"] == "control-plane" and node.get("etcd_member", True):
                if not etcd.available(live, now):
                    raise ToolFailure("error executing reset: " + api.node_errors([(
                        address, "rpc error: code = Unknown desc = failed to leave cluster: etcdserver: no leader")]))
                leave(node)
            _reset(live, node, now, wiped, graceful=graceful, reboot=reboot)
        if wait:
            _follow(twin_dir, address, timeout, reboot)
    return 0


def leave(node: dict) -> None:
    """The member leaves etcd's member list and its data directory is removed; etcd stays stopped."""
    node.update(etcd_member=False, etcd_data=False, etcd_stopped=True)
    node.pop("etcd_learner_until", None)


def _reset(state: dict, node: dict, now: float, wiped: set[str], *, graceful: bool, reboot: bool) -> None:
    state["resource_version"] += 1
    if "EPHEMERAL" in wiped:
        node["etcd_data"] = False
        node.pop("etcd_failure", None)
    if graceful:
        nodes.start_upgrade(state, node, node["talos_version"], now, drain=True)
    else:
        reboot_seconds = state["timing"]["reboot_seconds"]
        node["reboot"] = {
            "requested_at": now, "target_version": node["talos_version"], "next_boot_id": ids.uuid4(),
            "talos_cordoned": False, "drain_blocked": False, "down_at": now, "offline_at": now + reboot_seconds / 4,
            "booting_at": now + reboot_seconds / 2, "up_at": now + reboot_seconds,
        }
    if not reboot:
        node["off"] = True  # shut down: it stays off until someone powers it on
    if "STATE" in wiped:
        node["maintenance"] = True


def _follow(twin_dir: str, address: str, timeout: float, reboot: bool) -> None:
    """--wait: until the node answers again (in maintenance mode if STATE was wiped), or is off."""
    current, start = cluster.observe(twin_dir)
    deadline = start + clock.scaled_wait(timeout, current["timing"]["patience_seconds"])
    output.write(sys.stderr, f"watching nodes: [{address}]")
    while True:
        current, now = cluster.observe(twin_dir)
        node = nodes.find(current, address=address)
        if not reboot and not nodes.api_reachable(node, now):
            output.write(sys.stderr, f"    * {address}: events check condition met")
            return
        if reboot and node["reboot"] is None:
            output.write(sys.stderr, f"    * {address}: post check passed")
            return
        if now >= deadline:
            raise ToolFailure(api.node_errors([(address, "context deadline exceeded")]))
        clock.sleep_until(deadline)
