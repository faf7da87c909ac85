"""`kubectl cordon`, `uncordon` and `drain`: the node's schedulability, and a drain's evictions,
including PDB refusals (HTTP 429) until kubectl's global timeout."""

from __future__ import annotations

import sys
import time

from homeops.twin import clock, cluster, faults, output
from homeops.twin.kube import k8s
from homeops.twin.args import UsageError
from homeops.twin.failure import ToolFailure


def cordon(parsed, twin_dir: str, current: dict, now: float) -> int:
    verb, names = parsed.positionals[0], parsed.positionals[1:]
    if not names:
        raise ToolFailure(f"error: USAGE: {verb} NODE [flags]\nSee 'kubectl {verb} -h' for help and examples")
    wanted = verb == "cordon"
    with cluster.changing(twin_dir) as (live, moment):
        for name in names:
            node = node_named(live, name)
            if node["unschedulable"] == wanted:
                output.write(sys.stdout, f"node/{name} already {verb}ed")
                continue
            node["unschedulable"] = wanted
            if not wanted and node["drained"] and node["reboot"] is None:
                # The evicted pods (its OSDs among them) schedule again; Ceph recovers what they missed.
                node["drained"] = False
                node["recovered_at"] = max(node["recovered_at"], moment + live["timing"]["recovery_seconds"])
            live["resource_version"] += 1
            output.write(sys.stdout, f"node/{name} {verb}ed")
    return 0


def node_named(current: dict, name: str) -> dict:
    for node in k8s.registered_nodes(current):
        if node["name"] == name:
            return node
    raise ToolFailure(f'Error from server (NotFound): nodes "{name}" not found')


def drain(parsed, twin_dir: str, current: dict, now: float) -> int:
    names = parsed.positionals[1:]
    if len(names) != 1:
        raise ToolFailure("error: USAGE: drain NODE [flags]\nSee 'kubectl drain -h' for help and examples")
    name = names[0]
    try:
        timeout = clock.parse_duration(parsed.value("timeout", "0s"))
    except ValueError as exc:
        raise UsageError(f'invalid argument "{parsed.value("timeout")}" for "--timeout" flag: {exc}') from None
    with cluster.changing(twin_dir) as (live, _):
        node = node_named(live, name)
        already = node["unschedulable"]
        node["unschedulable"] = True
        pods = k8s.pods_on(live, node)
    output.write(sys.stdout, f"node/{name} {'already cordoned' if already else 'cordoned'}")
    problems = []
    if pods["daemonset"] and not parsed.switch("ignore-daemonsets"):
        problems.append(
            "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): " + ", ".join(pods["daemonset"])
        )
    if pods["emptydir"] and not parsed.switch("delete-emptydir-data"):
        problems.append(
            "cannot delete Pods with local storage (use --delete-emptydir-data to override): "
            + ", ".join(pods["emptydir"])
        )
    if problems:
        listed = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        raise ToolFailure(_drain_failure(name, listed))
    if pods["daemonset"]:
        output.write(sys.stderr, "Warning: ignoring DaemonSet-managed Pods: " + ", ".join(pods["daemonset"]))
    for pod in pods["evictable"]:
        output.write(sys.stdout, f"evicting pod {pod}")
    if pods["evictable"] and faults.active(current, "drain-blocked", name):
        _wait_out_disruption_budget(name, pods["evictable"], timeout, current["timing"]["patience_seconds"])
    for pod in pods["evictable"]:
        output.write(sys.stdout, f"pod/{pod.split('/', 1)[1]} evicted")
    with cluster.changing(twin_dir) as (live, moment):
        drained = node_named(live, name)
        if not drained["drained"]:
            drained["drained"], drained["drained_at"] = True, moment
    output.write(sys.stdout, f"node/{name} drained")
    return 0


def _wait_out_disruption_budget(name: str, pods: list[str], timeout: float, patience: float) -> None:
    """Every eviction is refused (HTTP 429): retry like kubectl until the global timeout.

    kubectl retries every 5 s; the twin waits `scaled_wait(timeout)` of real time in all
    (see clock.scaled_wait) and retries a few times within it, then reports the real timeout.
    """
    waited = clock.scaled_wait(timeout, patience)
    deadline = clock.now() + waited
    retry = max(waited / 4, clock.POLL_SECONDS)
    while True:
        for pod in pods:
            namespace, pod_name = pod.split("/", 1)
            output.write(
                sys.stderr,
                f'error when evicting pods/"{pod_name}" -n "{namespace}" (will retry after 5s): Cannot evict pod as it '
                "would violate the pod's disruption budget.",
            )
        if clock.now() + retry > deadline:
            break
        time.sleep(retry)
    namespace, pod_name = pods[0].split("/", 1)
    reason = (
        f'error when evicting pods/"{pod_name}" -n "{namespace}": '
        f"global timeout reached: {clock.format_duration(timeout or waited)}"
    )
    output.write(sys.stderr, f'There are pending pods in node "{name}" when an error occurred: {reason}')
    raise ToolFailure(_drain_failure(name, reason))


def _drain_failure(name: str, reason: str) -> str:
    return (
        f'error: unable to drain node "{name}" due to error: {reason}, continuing command...\n'
        f"There are pending nodes to be drained:\n {name}\nerror: {reason}"
    )
