"""Checks of the cluster's health, and of the cluster against cluster.yaml, each returning CheckResults.

The preflight gates of the maintenance runbooks (nodes Ready, etcd healthy, Ceph HEALTH_OK with
clean PGs and no flags, Flux Ready) and the extra comparisons of cluster-health live here.
"""

from __future__ import annotations

from functools import partial

from pathlib import Path

from homeops.cluster.model import Cluster
from homeops.rendering.inventory import GATEWAY_SERVICE_PREFIX, rendered_helm_releases
from homeops.procedures.checks import CheckResult, at_once, failed, guarded, verdict
from homeops.procedures.resume import own_leftovers
from homeops.tools import ceph, flux, kubectl, talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import EtcdMember, EtcdStatus, FluxObject, NodeStatus


def nodes_ready(nodes: list[NodeStatus]) -> CheckResult:
    problems = []
    for n in nodes:
        if not n.is_ready:
            problems.append(f"{n.name} not Ready (Ready={n.ready})")
        elif n.unschedulable:
            problems.append(f"{n.name} cordoned")
    return verdict("nodes Ready", problems, f"{len(nodes)} nodes Ready and schedulable")


def node_versions(cluster: Cluster, nodes: list[NodeStatus]) -> list[CheckResult]:
    talos_drift = [
        f"{n.name} runs Talos {n.talos_version or repr(n.os_image)}, cluster.yaml says {cluster.versions.talos}"
        for n in nodes if n.talos_version != cluster.versions.talos
    ]
    kube_drift = [
        f"{n.name} runs kubelet {n.kubelet_version}, cluster.yaml says {cluster.versions.kubernetes}"
        for n in nodes if n.kubelet_version != cluster.versions.kubernetes
    ]
    return [
        verdict("Talos versions", talos_drift, f"every node runs {cluster.versions.talos}"),
        verdict("Kubernetes versions", kube_drift, f"every kubelet runs {cluster.versions.kubernetes}"),
    ]


def node_inventory(cluster: Cluster, nodes: list[NodeStatus]) -> CheckResult:
    seen = {n.name: n for n in nodes}
    problems = []
    for expected in cluster.nodes:
        actual = seen.pop(expected.name, None)
        if actual is None:
            problems.append(f"{expected.name} is in cluster.yaml but not in the cluster")
            continue
        if actual.role != expected.role:
            problems.append(f"{expected.name} has role {actual.role}, cluster.yaml says {expected.role}")
        if actual.internal_ip != str(expected.address):
            problems.append(f"{expected.name} has address {actual.internal_ip}, cluster.yaml says {expected.address}")
    problems += [f"{name} is in the cluster but not in cluster.yaml" for name in seen]
    fine = f"{len(cluster.nodes)} nodes match cluster.yaml (names, roles, addresses)"
    return verdict("node inventory", problems, fine)


def etcd_member_list(cluster: Cluster, control_planes=None) -> tuple[list[EtcdMember] | None, list[str]]:
    """The member list from the first control-plane node that answers, and the errors of those that did not."""
    errors = []
    for cp in control_planes or cluster.control_planes:  # any member lists them all; a rebooting one hides none
        try:
            return talosctl.etcd_members(str(cp.address)), errors
        except ToolError as exc:
            errors.append(str(exc))
    return None, errors


def _etcd_status(address: str) -> list[EtcdStatus] | ToolError:
    try:
        return talosctl.etcd_status(address)
    except ToolError as exc:
        return exc


def etcd(cluster: Cluster, control_planes=None) -> list[CheckResult]:
    """Members as cluster.yaml expects them, each answering without errors; the fault tolerance as a warning.

    `control_planes`: the members expected, when not every control plane of cluster.yaml (node-add: the
    one about to join is not a member yet)."""
    control_planes = tuple(control_planes) if control_planes is not None else cluster.control_planes
    if not control_planes:
        return [failed("etcd members", "cluster.yaml has no control-plane node")]
    # The member list and every member's status are independent reads: all of them at once.
    (members, errors), *answers = at_once(
        partial(etcd_member_list, cluster, control_planes), *(partial(_etcd_status, str(cp.address)) for cp in control_planes)
    )
    if members is None:
        return [failed("etcd members", "; ".join(errors))]
    names = sorted(m.hostname for m in members)
    expected = sorted(cp.name for cp in control_planes)
    problems = []
    if names != expected:
        problems.append(f"members {', '.join(names) or 'none'}, cluster.yaml expects {', '.join(expected)}")
    problems += [f"{m.hostname} is still a learner" for m in members if m.learner]
    results = [verdict("etcd members", problems, f"{len(members)} members: {', '.join(names)}")]

    unhealthy = []
    for cp, answer in zip(control_planes, answers):
        if isinstance(answer, ToolError):
            unhealthy.append(f"{cp.name}: {answer}")
            continue
        unhealthy += [f"{cp.name}: {s.errors}" for s in answer if s.errors]
    results.append(verdict("etcd health", unhealthy, "every member answers without errors"))

    quorum = len(members) // 2 + 1
    tolerance = len(members) - quorum
    detail = f"{len(members)} members, quorum {quorum}: tolerates {tolerance} member(s) down"
    results.append(CheckResult("etcd fault tolerance", "ok" if tolerance > 0 else "warn", detail))
    return results


def talos_client(cluster: Cluster) -> CheckResult:
    """A warning when the talosctl on PATH is of another Talos minor than the cluster runs.

    Talos recommends the client that matches the cluster; an older or newer one prints other
    tables (etcd status without PROTOCOL and STORAGE before v1.11.0) and may lack flags.
    """
    check = "talosctl client"
    try:
        client = talosctl.client_version()
    except ToolError as exc:
        return CheckResult(check, "warn", f"cannot read the talosctl client's version: {exc}")
    wanted = cluster.versions.talos
    if _minor(client) != _minor(wanted):
        return CheckResult(check, "warn", f"talosctl {client} is not of the cluster's Talos minor "
                                          f"({wanted}): install talosctl {_minor(wanted)}.x")
    return CheckResult(check, "ok", f"talosctl {client} matches the cluster's Talos {_minor(wanted)}")


def _minor(tag: str) -> str:
    return ".".join(tag.lstrip("v").split(".")[:2])


def ceph_health() -> list[CheckResult]:
    def read() -> list[CheckResult]:
        status, dump = at_once(ceph.status, ceph.osd_dump)
        checks = "; ".join(f"{c.name}: {c.message}" for c in status.checks)
        flags = sorted(dump.maintenance_flags) + [
            f"{flag} on host {host}"
            for host, host_flags in sorted(dump.host_flags.items())
            for flag in sorted(host_flags)
        ]
        return [
            CheckResult(
                "Ceph health", "ok" if status.health == "HEALTH_OK" else "FAIL",
                f"{status.health}, {status.num_up_osds}/{status.num_osds} OSDs up" + (f": {checks}" if checks else ""),
            ),
            verdict("Ceph PGs", [f"not clean: {status.unclean_pgs}"] if not status.pgs_clean else [],
                    f"all {status.num_pgs} PGs active+clean"),
            verdict("Ceph flags", [f"set: {', '.join(flags)}"] if flags else [], "no maintenance flags set"),
        ]

    return guarded("Ceph health", read)


def flux_objects() -> list[FluxObject]:
    """Every Kustomization, then every HelmRelease: `flux.objects()`, with the two reads at once."""
    kustomizations, helmreleases = at_once(flux.kustomizations, flux.helmreleases)
    return kustomizations + helmreleases


def flux_ready() -> list[CheckResult]:
    def read() -> list[CheckResult]:
        objects = flux_objects()
        problems = [o.problem for o in objects if o.problem]
        problems += [f"{o} is suspended" for o in objects if o.suspended and o.is_ready]
        return [verdict("Flux Ready", problems, f"{len(objects)} Kustomizations and HelmReleases Ready")]

    return guarded("Flux Ready", read)


def load_balancers(cluster: Cluster) -> list[CheckResult]:
    def read() -> list[CheckResult]:
        services = {s.name: s for s in kubectl.load_balancers()}
        problems = []
        for lb in cluster.network.load_balancers:
            # Cilium names a Gateway's Service cilium-gateway-NAME; other Services carry the name itself
            service = services.get(lb.name) or services.get(GATEWAY_SERVICE_PREFIX + lb.name)
            if service is None:
                problems.append(f"no LoadBalancer Service named {lb.name} or {GATEWAY_SERVICE_PREFIX}{lb.name}")
            elif str(lb.address) not in service.addresses:
                held = ", ".join(service.addresses) or "no address"
                problems.append(f"{service.namespace}/{service.name} holds {held}, cluster.yaml says {lb.address}")
        fine = f"{len(cluster.network.load_balancers)} Services hold their cluster.yaml addresses"
        return [verdict("load balancers", problems, fine)]

    return guarded("load balancers", read)


def chart_versions(cluster: Cluster, project: Path | None) -> list[CheckResult]:
    """Each HelmRelease runs the chart version kubernetes/ renders (status.history[0], newest first)."""
    def read() -> list[CheckResult]:
        rendered = rendered_helm_releases(cluster, project)
        running = {}
        for item in kubectl.items(["get", flux.HELMRELEASES, "-A"], timeout=flux.READ_TIMEOUT):
            metadata, history = item.get("metadata") or {}, (item.get("status") or {}).get("history") or []
            running[(metadata.get("namespace", ""), metadata.get("name", ""))] = (
                history[0].get("chartVersion") if history else None)
        problems = []
        for release in rendered:
            key = (release.namespace, release.name)
            if key not in running:
                problems.append(f"HelmRelease {release.namespace}/{release.name} is not in the cluster")
            elif running[key] != release.version:
                problems.append(f"HelmRelease {release.namespace}/{release.name} runs chart {release.chart} "
                                f"{running[key] or '(none yet)'}, kubernetes/ renders {release.version}")
        return [verdict("chart versions", problems, f"{len(rendered)} HelmReleases run their rendered chart version")]

    return guarded("chart versions", read)


def maintenance_gates(cluster: Cluster) -> list[CheckResult]:
    """What must hold before any node is touched: nodes Ready, etcd healthy, Ceph clean, Flux Ready.

    The checks only read, each through its own tools, so they run at once; the results keep this order.
    """
    nodes, etcd_results, ceph_results, flux_results, client = at_once(
        partial(guarded, "nodes Ready", lambda: [nodes_ready(kubectl.nodes())]),
        partial(etcd, cluster),
        ceph_health,
        flux_ready,
        partial(talos_client, cluster),
    )
    etcd_results = [r for r in etcd_results if r.check != "etcd fault tolerance"]
    # What an earlier run of this runbook left (one node out of service) is finished, not a stop.
    return own_leftovers(cluster, nodes + etcd_results + ceph_results + flux_results + [client])


def _node_checks(cluster: Cluster) -> list[CheckResult]:
    try:
        nodes = kubectl.nodes()
    except ToolError as exc:
        return [failed("nodes Ready", str(exc))]
    return [nodes_ready(nodes), *node_versions(cluster, nodes), node_inventory(cluster, nodes)]


def cluster_health(cluster: Cluster, project: Path | None = None) -> list[CheckResult]:
    """Everything cluster-health reports: the maintenance gates plus the comparison with cluster.yaml
    and with the chart versions kubernetes/ renders (the one in `project`, else rendered for `cluster`).

    Every check only reads, so they all run at once; the results keep this order.
    """
    parts = at_once(
        partial(_node_checks, cluster),
        partial(etcd, cluster),
        ceph_health,
        flux_ready,
        partial(load_balancers, cluster),
        lambda: [talos_client(cluster)],
        partial(chart_versions, cluster, project),
    )
    return [result for part in parts for result in part]
