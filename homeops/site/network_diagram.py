"""The network diagram of the networking page, as Mermaid source generated from the model.

It draws what the words of the site say:
- the Kubernetes API VIP is one address held by one control-plane node at a time, chosen by an
  election in etcd (Talos "Virtual (shared) IP": "There can be only one owner of the IP address
  at any given time", https://www.talos.dev/v1.11/talos-guides/network/vip/), so it points at the
  control plane as a whole, not at every node like a load balancer would;
- two ways in: from the internet through Cloudflare and the tunnel (cloudflared dials out, so no
  port is open on the router) to the external gateway; from the home network, whose DNS queries
  for the cluster's domain go to k8s-gateway, to the internal gateway.
A load balancer named `k8s-gateway`, `internal-gateway` or `external-gateway` in cluster.yaml is
drawn on its path; any other one is drawn on its own.
"""

from __future__ import annotations

import re

from homeops.cluster.model import Cluster, LoadBalancer

DNS, INTERNAL, EXTERNAL = "k8s-gateway", "internal-gateway", "external-gateway"

# Mermaid reads `#name;` and `#number;` as entities inside a quoted label; everything that could be
# read as markup (HTML, a Markdown string, the label's own quotes) is written that way.
_LABEL_MARKUP = re.compile(r'[#&<>"`\\]')


def _node_id(prefix: str, name: str) -> str:
    # Mermaid ids are safest as plain words; names are DNS labels, so '-' is the only other character.
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def _label(*lines: object) -> str:
    escaped = (_LABEL_MARKUP.sub(lambda m: f"#{ord(m.group())};", " ".join(str(line).split())) for line in lines)
    return '"' + "<br/>".join(escaped) + '"'


def _balancer(lb: LoadBalancer) -> str:
    return f"{_node_id('lb', lb.name)}[{_label(lb.name, lb.address, lb.purpose)}]"


def network_mermaid(cluster: Cluster) -> str:
    """Every address of the cluster, and the two paths into it, as a Mermaid flowchart (top to bottom,
    so that it stays readable on a phone)."""
    net = cluster.network
    named = {lb.name: lb for lb in net.load_balancers}
    dns, internal, external = named.get(DNS), named.get(INTERNAL), named.get(EXTERNAL)
    others = [lb for lb in net.load_balancers if lb.name not in (DNS, INTERNAL, EXTERNAL)]
    out = [
        "flowchart TB",
        f"  internet([{_label('Internet')}])",
        f"  cloudflare[{_label('Cloudflare', '*.' + cluster.cluster.domain)}]",
        f"  home([{_label('Home network', 'laptops, phones')}])",
        f"  router[{_label('Router', 'sends DNS for ' + cluster.cluster.domain + ' to k8s-gateway')}]",
        f"  operator([{_label('Operator', 'kubectl · talosctl · flux')}])",
        f"  subgraph node_network[{_label('Node network ' + str(net.node_cidr))}]",
        f"    vip{{{{{_label('Kubernetes API VIP', net.control_plane_vip, 'one address, held by one node')}}}}}",
        f"    subgraph control_plane[{_label('Control plane (one node holds the VIP, elected through etcd)')}]",
    ]
    out += [f"      {_node_id('node', n.name)}[{_label(n.name, n.address)}]" for n in cluster.control_planes]
    out += ["    end", f"    subgraph workers[{_label('Workers')}]"]
    out += [f"      {_node_id('node', n.name)}[{_label(n.name, n.address)}]" for n in cluster.workers]
    out.append("    end")
    out.append(f"    tunnel[{_label('Cloudflare Tunnel', 'cloudflared, dials out')}]")
    out += [f"    {_balancer(lb)}" for lb in (dns, internal, external, *others) if lb is not None]
    out.append("  end")
    out.append(f"  pods[{_label('Pods ' + str(net.pod_cidr), 'Services ' + str(net.service_cidr))}]")
    out += [
        "  operator --> vip",
        f"  vip -. {_label('held by the elected node')} .- control_plane",
        "  internet --> cloudflare",
        f"  cloudflare -- {_label('tunnel')} --- tunnel",
    ]
    out.append(f"  tunnel --> {_node_id('lb', external.name)}" if external else "  tunnel --> pods")
    out.append("  home --> router")
    if dns is not None:
        out.append(f"  router -- {_label('DNS')} --> {_node_id('lb', dns.name)}")
    if internal is not None:
        if dns is not None:
            out.append(f"  {_node_id('lb', dns.name)} -. {_label('answers with')} .-> {_node_id('lb', internal.name)}")
        else:
            out.append(f"  router --> {_node_id('lb', internal.name)}")
    for lb in (internal, external):
        if lb is not None:
            out.append(f"  {_node_id('lb', lb.name)} --> pods")
    out.append("  workers --- pods")
    return "\n".join(out)


def network_diagram(cluster: Cluster) -> str:
    """The diagram as a fenced block that Material renders to SVG in the browser."""
    return f"```mermaid\n{network_mermaid(cluster)}\n```"
