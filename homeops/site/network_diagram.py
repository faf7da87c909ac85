"""The network diagram of the networking page, as Mermaid source generated from the model."""

from __future__ import annotations

import re

from homeops.cluster.model import Cluster


def _node_id(prefix: str, name: str) -> str:
    # Mermaid ids are safest as plain words; names are DNS labels, so '-' is the only other character.
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _label(*lines: object) -> str:
    text = "<br/>".join(str(line) for line in lines)
    return '"' + text.replace('"', "#quot;") + '"'


def network_mermaid(cluster: Cluster) -> str:
    """Every address of the cluster as a Mermaid flowchart.

    Operator → VIP → control plane; load balancers → workers. Top to bottom, so that the labels stay
    readable at page width.
    """
    net = cluster.network
    out = [
        "flowchart TB",
        f"  operator([{_label('Operator', 'kubectl · talosctl · flux')}])",
        f"  subgraph node_network[{_label('Node network ' + str(net.node_cidr))}]",
        f"    vip([{_label('Kubernetes API VIP', net.control_plane_vip)}])",
        f"    subgraph control_plane[{_label('Control plane')}]",
    ]
    out += [f"      {_node_id('node', n.name)}[{_label(n.name, n.address)}]" for n in cluster.control_planes]
    out += ["    end", f"    subgraph workers[{_label('Workers')}]"]
    out += [f"      {_node_id('node', n.name)}[{_label(n.name, n.address)}]" for n in cluster.workers]
    out.append("    end")
    if net.load_balancers:
        out.append(f"    subgraph load_balancers[{_label('Load balancers (Cilium)')}]")
        out += [
            f"      {_node_id('lb', lb.name)}[{_label(lb.name, lb.address, lb.purpose)}]"
            for lb in net.load_balancers
        ]
        out.append("    end")
    out.append("  end")
    out.append(
        f"  pods[{_label('Pods ' + str(net.pod_cidr), 'Services ' + str(net.service_cidr))}]"
    )
    out.append("  operator --> vip")
    out += [f"  vip --> {_node_id('node', n.name)}" for n in cluster.control_planes]
    if net.load_balancers and cluster.workers:
        out.append("  load_balancers --> workers")
    out.append("  workers --- pods")
    return "\n".join(out)


def network_diagram(cluster: Cluster) -> str:
    """The diagram as a fenced block that Material renders to SVG in the browser."""
    return f"```mermaid\n{network_mermaid(cluster)}\n```"
