"""`talosctl health`: Talos's cluster checks in order, each retried until it passes or the wait
(scaled, see clock.scaled_wait) runs out."""

from __future__ import annotations

import json
import sys

from homeops.twin import clock, cluster, etcd, nodes, output
from homeops.twin.kube import k8s
from homeops.twin.talos import api
from homeops.twin.failure import ToolFailure


def _health_checks() -> list[tuple[str, object]]:
    def etcd_healthy(current, now):
        bad = etcd.unhealthy_members(current, now)
        return (
            api.node_errors(
                [(n["address"], 'service "etcd" not in expected state "Running"') for n in bad]
            ).strip()
            if bad
            else None
        )

    def apid_ready(current, now):
        bad = [n for n in current["nodes"] if not nodes.api_reachable(n, now)]
        return (
            api.node_errors([(n["address"], api.unreachable(n["address"])) for n in bad]).strip()
            if bad
            else None
        )

    def booted(current, now):
        bad = [n for n in current["nodes"] if nodes.phase(n, now) != nodes.RUNNING]
        stage = nodes.phase(bad[0], now) if bad else None
        return (
            f"node {bad[0]['address']} is not ready: stage {nodes.REBOOTING if stage == nodes.OFFLINE else stage}"
            if bad
            else None
        )

    def k8s_reachable(current, now):
        vip = current["cluster"]["vip"]
        refused = f'Get "https://{vip}:6443/api/v1/nodes": dial tcp {vip}:6443: connect: connection refused'
        return refused if k8s.api_refused(current, now) else None

    def k8s_ready(current, now):
        cni = current.get("cni", True)
        bad = [n["name"] for n in current["nodes"]
               if not (nodes.registered(n) and nodes.is_ready(n, now) and cni)]
        return f"some nodes are not ready: [{' '.join(bad)}]" if bad else None

    def schedulable(current, now):
        bad = [n["name"] for n in current["nodes"] if n["unschedulable"]]
        return f"some nodes are not schedulable: [{' '.join(bad)}]" if bad else None

    def fine(current, now):
        return None

    return [
        ("etcd to be healthy", etcd_healthy),
        ("etcd members to be consistent across nodes", fine),
        ("etcd members to be control plane nodes", fine),
        ("apid to be ready", apid_ready),
        ("all nodes memory sizes", fine),
        ("all nodes disk sizes", fine),
        ("no diagnostics", fine),
        ("kubelet to be healthy", booted),
        ("all nodes to finish boot sequence", booted),
        ("all k8s nodes to report", k8s_reachable),
        ("all control plane static pods to be running", fine),
        ("all control plane components to be ready", fine),
        ("all k8s nodes to report ready", k8s_ready),
        ("coredns to report ready", fine),
        ("all k8s nodes to report schedulable", schedulable),
    ]


def health(parsed, twin_dir: str) -> int:
    """Run Talos's cluster checks in order, each retried until it passes or the wait times out.

    The real default --wait-timeout is 20m; the twin waits clock.scaled_wait of it.
    """
    wait_timeout = api.duration(parsed, "wait-timeout", "20m")
    current, now = cluster.observe(twin_dir)
    for address in api.addresses(parsed, required=False):
        _, error = api.reach(current, address, now)
        if error:
            raise ToolFailure("healthcheck error: " + api.node_errors([(address, error)]).strip())
    deadline = now + clock.scaled_wait(wait_timeout, current["timing"]["patience_seconds"])
    control_planes = [n["address"] for n in current["nodes"] if n["role"] == "control-plane"]
    workers = [n["address"] for n in current["nodes"] if n["role"] != "control-plane"]
    output.write(
        sys.stdout, f"discovered nodes: control plane: {json.dumps(control_planes)}, worker: {json.dumps(workers)}"
    )
    for title, check in _health_checks():
        said = None
        while True:
            current, now = cluster.observe(twin_dir)
            reason = check(current, now)
            if reason is None:
                output.write(sys.stdout, f"waiting for {title}: OK")
                break
            if reason != said:
                output.write(sys.stdout, f"waiting for {title}: {reason}")
                said = reason
            if now >= deadline:
                raise ToolFailure(f"healthcheck error: rpc error: code = DeadlineExceeded desc = {title}: {reason}")
            clock.sleep_until(deadline)
    return 0
