"""`talosctl -n IP service etcd [status]`: the etcd service's state as Talos's service runner reports it.

Layout from siderolabs/talos release-1.11 `pkg/machinery/formatters/formatters.go`
(RenderServicesInfo: NODE, ID, STATE, HEALTH, then EVENTS newest first, "[State]: message (AGE ago)")
and event texts from `internal/app/machined/pkg/system/service_runner.go` ("Running pre state",
"Creating service runner") and `runner/containerd/containerd.go` ("Started task ...").
Running: a member whose etcd runs; Preparing: a control plane waiting to join or for `bootstrap`;
Failed: a recovery from a snapshot that failed its hash check; Finished: stopped by `etcd leave`.
"""

from __future__ import annotations

import sys

from homeops.twin import clock, cluster, etcd, output, table
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import api

SERVICES = ("etcd",)


def service(parsed, twin_dir: str) -> int:
    words = parsed.positionals[1:]
    if len(words) > 2:
        raise ToolFailure(f"Error: accepts at most 2 arg(s), received {len(words)}")
    if not words:
        raise ToolFailure("the homeops twin lists no services; ask for one: talosctl service etcd")
    name, action = words[0], (words[1] if len(words) > 1 else "status")
    if action in ("start", "stop", "restart"):
        raise ToolFailure(f"the homeops twin does not {action} services")
    if action != "status":
        raise ToolFailure(f'unsupported service action: "{action}"')
    if name not in SERVICES:
        raise ToolFailure(f"the homeops twin models only these services: {', '.join(SERVICES)}")
    addresses = api.addresses(parsed)
    current, now = cluster.observe(twin_dir)
    errors, blocks = [], []
    for address in addresses:
        node, error = api.reach(current, address, now)
        if error:
            errors.append((address, error))
        elif node["role"] == "control-plane":
            blocks.append(_info(current, node, now))
    if not blocks:
        if errors:
            raise ToolFailure("error listing services: " + api.node_errors(errors))
        raise ToolFailure(f'service "{name}" is not registered on any nodes')
    if errors:
        output.write(sys.stderr, "WARNING: " + api.node_errors(errors))
    output.write(sys.stdout, table.aligned([row for block in blocks for row in block]))
    return 0


def state_of(current: dict, node: dict, now: float) -> str:
    if node.get("etcd_failure"):
        return "Failed"
    if node.get("etcd_stopped"):
        return "Finished"  # stopped by `etcd leave` until the next boot
    return "Running" if etcd.running(current, node, now) else "Preparing"


def _info(current: dict, node: dict, now: float) -> list[list[str]]:
    state = state_of(current, node, now)
    booted = node["ready_since"]

    def ago(moment: float) -> str:
        return f"({clock.format_duration(max(round(now - moment), 0))} ago)"

    events = [["Preparing", "Running pre state", booted]]
    health = "?"
    if state == "Running":
        started = booted + current["timing"]["recovery_seconds"]
        events += [["Preparing", "Creating service runner", started],
                   ["Running", "Started task etcd (PID 2510) for container etcd", started],
                   ["Running", "Health check successful", started]]
        health = "OK"
    elif state == "Failed":
        events.append(["Failed", node["etcd_failure"], booted])
    rows = [["NODE", node["address"]], ["ID", "etcd"], ["STATE", state], ["HEALTH", health]]
    label = "EVENTS"
    for kind, message, moment in reversed(events):
        rows.append([label, f"[{kind}]: {message} {ago(moment)}"])
        label = ""
    return rows
