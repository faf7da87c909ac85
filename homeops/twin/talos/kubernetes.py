"""`talosctl upgrade-k8s --to X [--dry-run]`: one minor at a time, within what the running Talos
supports; the real run moves every node's kubelet."""

from __future__ import annotations

import json
import sys

from homeops.twin import cluster, nodes, output, versions
from homeops.twin.kube import k8s
from homeops.twin.talos import api
from homeops.twin.failure import ToolFailure


def upgrade_k8s(parsed, twin_dir: str) -> int:
    addresses = api.addresses(parsed)
    current, now = cluster.observe(twin_dir)
    node, error = api.reach(current, addresses[0], now)
    if error:
        raise ToolFailure("error: " + api.node_errors([(addresses[0], error)]))
    if node["role"] != "control-plane":
        raise ToolFailure(f"error: node {addresses[0]} is not a control plane node")
    if k8s.api_refused(current, now):
        vip = current["cluster"]["vip"]
        raise ToolFailure(
            f'error: error building kubernetes client: Get "https://{vip}:6443/version": '
            f"dial tcp {vip}:6443: connect: connection refused"
        )
    lowest = min((n["kubelet_version"] for n in current["nodes"]), key=lambda v: versions.parse(v) or (0, 0, 0))
    source = (parsed.value("from") or lowest).lstrip("v")
    target_text = parsed.value("to")
    if target_text is None:
        _, newest = versions.kubernetes_range(node["talos_version"])
        target_text = f"{newest[0]}.{newest[1]}.0"
    target = target_text.lstrip("v")
    if versions.parse(target) is None:
        raise ToolFailure(f'error: invalid version "{target_text}"')
    from_minor, to_minor = versions.parse(source)[:2], versions.parse(target)[:2]
    if not (from_minor == to_minor or (to_minor[0] == from_minor[0] and to_minor[1] == from_minor[1] + 1)):
        raise ToolFailure(
            f"error: unsupported upgrade path {from_minor[0]}.{from_minor[1]}->{to_minor[0]}.{to_minor[1]} "
            f'(from "{source}" to "{target}")'
        )
    oldest_talos = min((n["talos_version"] for n in current["nodes"]), key=lambda v: versions.parse(v) or (0, 0, 0))
    unsupported = versions.kubernetes_supported(oldest_talos, target)
    if unsupported:
        raise ToolFailure(f"error: {unsupported}")
    down = [n for n in current["nodes"] if not nodes.is_ready(n, now)]
    if down:
        raise ToolFailure(
            "error: " + api.node_errors([(n["address"], api.unreachable(n["address"])) for n in down])
        )
    dry_run = parsed.switch("dry-run")
    control_planes = [n["address"] for n in current["nodes"] if n["role"] == "control-plane"]
    workers = [n["address"] for n in current["nodes"] if n["role"] != "control-plane"]
    lines = [
        f"automatically detected the lowest Kubernetes version {lowest.lstrip('v')}"
        if not parsed.value("from")
        else f"upgrading from {source}",
        f"discovered controlplane nodes {json.dumps(control_planes)}",
        f"discovered worker nodes {json.dumps(workers)}",
        "checking for removed Kubernetes component flags",
        "checking for removed Kubernetes API resource versions",
    ]
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        lines.append(f'updating "{component}" to version "{target}"')
        for address in control_planes:
            lines.append(f' > "{address}": starting update' + (" (skipped in dry-run)" if dry_run else ""))
    lines.append(f'updating kubelet to version "{target}"')
    for address in control_planes + workers:
        lines.append(f' > "{address}": starting update' + (" (skipped in dry-run)" if dry_run else ""))
    lines.append("updating manifests" + (" (dry run: nothing applied)" if dry_run else ""))
    output.write(sys.stdout, "\n".join(lines))
    if not dry_run:
        with cluster.changing(twin_dir) as (live, _):
            for each in live["nodes"]:
                each["kubelet_version"] = "v" + target
            live["resource_version"] += 1
    return 0
