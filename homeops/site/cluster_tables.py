"""Tables and notes about the machines and addresses of the cluster, straight from the model."""

from __future__ import annotations

from homeops.cluster.model import Cluster
from homeops.site.markdown import admonition, cell, code, table


def node_table(cluster: Cluster) -> str:
    rows = [
        (cell(n.name), cell(n.role), code(n.address), str(n.osd_count))
        for n in cluster.nodes
    ]
    return table(("Node", "Role", "Address", "Ceph OSDs"), rows)


def address_plan(cluster: Cluster) -> str:
    """Every address in use, nodes first, then the VIP and the load balancers (file order)."""
    rows = [(code(address), cell(owner), cell(kind)) for address, owner, kind in cluster.addresses()]
    return table(("Address", "Used by", "Kind"), rows)


def load_balancer_table(cluster: Cluster) -> str:
    balancers = cluster.network.load_balancers
    if not balancers:
        return "_No load-balancer addresses are declared in cluster.yaml._"
    rows = [(cell(lb.name), code(lb.address), cell(lb.purpose)) for lb in balancers]
    return table(("Service", "Address", "Purpose"), rows)


def network_table(cluster: Cluster) -> str:
    net = cluster.network
    rows = [
        ("Node network", code(net.node_cidr), "Machines, the control-plane VIP and the load-balancer addresses"),
        ("Pod network", code(net.pod_cidr), "One address per pod, routed by Cilium"),
        ("Service network", code(net.service_cidr), f"ClusterIP Services; cluster DNS at {code(net.cluster_dns)}"),
        ("Control-plane VIP", code(net.control_plane_vip), "Kubernetes API: one address, held by one control-plane node at a time"),
    ]
    return table(("Network", "Value", "Used for"), rows)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def etcd_availability(cluster: Cluster) -> str:
    """How many control-plane failures etcd survives, as an admonition of the right severity."""
    members, quorum, tolerance = cluster.etcd_members, cluster.etcd_quorum, cluster.etcd_fault_tolerance
    facts = (
        f"cluster.yaml declares {_plural(members, 'control-plane node')}, so etcd has "
        f"{_plural(members, 'member')} and needs {quorum} for quorum."
    )
    if tolerance == 0:
        advice = (
            "It tolerates **no** control-plane failure: losing any one of them stops the Kubernetes API"
            " until it returns."
        )
        if members % 2 == 0:
            odd = members + 1
            advice += (
                f" An even number of members adds no tolerance over one fewer; {odd} control-plane nodes"
                f" would tolerate {_plural(odd - (odd // 2 + 1), 'failure')}."
            )
        return admonition("warning", "etcd tolerates no control-plane failure", f"{facts}\n\n{advice}")
    advice = f"It keeps quorum with up to {_plural(tolerance, 'control-plane node')} down at once."
    return admonition("success", f"etcd tolerates {_plural(tolerance, 'control-plane failure')}",
                      f"{facts}\n\n{advice}")


def component_support_table(cluster: Cluster) -> str:
    """Every known release line of the components whose Kubernetes support is judged, the pinned one
    marked: why a pin is where it is (Flux 2.6 stops at Kubernetes 1.33, so 1.34 needs 2.7)."""
    from homeops.cluster import component_support
    from homeops.cluster.talos_support import minor_of

    kubernetes = minor_of(str(cluster.versions.kubernetes))[1]
    rows = []
    for key in component_support.COMPONENTS:
        pinned = getattr(cluster.versions, key, None)
        pinned_minor = minor_of(str(pinned)) if pinned else None
        for (row_key, minor), support in sorted(component_support.SUPPORT.items()):
            if row_key != key:
                continue
            highest = f"1.{support.highest}" if support.highest is not None else "(no upper bound stated)"
            fits = component_support.supports(support, kubernetes)
            mark = f"**{cell(pinned)}**" if minor == pinned_minor else ""
            rows.append((cell(support.component), cell(f"{minor[0]}.{minor[1]}"), mark,
                         cell(f"1.{support.lowest} to {highest}"), "yes" if fits else "no", cell(support.source)))
    return table(("Component", "Release line", "Pinned", "Supports Kubernetes",
                  f"Runs {cell(cluster.versions.kubernetes)}", "Upstream source"), rows)
