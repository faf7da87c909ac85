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


def _machines(title: str, nodes) -> str:
    return _label(title, *(f"{n.name} {n.address}" for n in nodes))


def network_mermaid(cluster: Cluster) -> str:
    """Every address of the cluster, and the two paths into it, as a Mermaid flowchart.

    Top to bottom and about two boxes wide, so that it stays readable on a phone: the two ways in
    side by side, then the pods, then the workers beside the API VIP over the control plane.
    """
    net = cluster.network
    domain = cluster.cluster.domain
    named = {lb.name: lb for lb in net.load_balancers}
    dns, internal, external = named.get(DNS), named.get(INTERNAL), named.get(EXTERNAL)
    others = [lb for lb in net.load_balancers if lb.name not in (DNS, INTERNAL, EXTERNAL)]
    lb = lambda balancer: _node_id("lb", balancer.name)  # noqa: E731
    out = [
        # Tighter than Mermaid's defaults, and long labels wrapped: the diagram keeps its text size on a phone.
        "---",
        "config:",
        "  flowchart:",
        "    nodeSpacing: 16",
        "    rankSpacing: 32",
        "    wrappingWidth: 150",
        "---",
        "flowchart TB",
        f"  internet([{_label('Internet')}])",
        f"  cloudflare[{_label('Cloudflare', '*.' + domain)}]",
        f"  tunnel[{_label('Cloudflare Tunnel', 'cloudflared dials out')}]",
        f"  home([{_label('Home network')}])",
        f"  router[{_label('Router', 'DNS for ' + domain, 'to k8s-gateway')}]",
    ]
    out += [f"  {_balancer(b)}" for b in (dns, internal, external, *others) if b is not None]
    out += [
        f"  pods[{_label('Pods ' + str(net.pod_cidr), 'Services ' + str(net.service_cidr))}]",
        f"  subgraph node_network[{_label('Node network ' + str(net.node_cidr))}]",
        f"    workers[{_machines('Workers', cluster.workers)}]",
        f"    vip{{{{{_label('Kubernetes API VIP', net.control_plane_vip, 'one address')}}}}}",
        f"    control_plane[{_machines('Control plane', cluster.control_planes)}]",
        "  end",
        f"  operator([{_label('Operator', 'kubectl · talosctl · flux')}])",
        # The way in from the internet.
        "  internet --> cloudflare",
        f"  cloudflare -- {_label('tunnel')} --- tunnel",
        f"  tunnel --> {lb(external)}" if external else "  tunnel --> pods",
        # The way in from home.
        "  home --> router",
    ]
    if dns is not None:
        out.append(f"  router -- {_label('DNS')} --> {lb(dns)}")
        if internal is not None:
            out.append(f"  {lb(dns)} -. {_label('answers with')} .-> {lb(internal)}")
    elif internal is not None:
        out.append(f"  router --> {lb(internal)}")
    out += [f"  {lb(b)} --> pods" for b in (internal, external) if b is not None]
    out += [
        "  pods --- workers",
        "  pods ~~~ operator",  # an invisible link: the operator sits below, not in a third column
        # The API: one address, held by one control-plane node at a time.
        "  operator --> vip",
        f"  vip -. {_label('held by one node', 'elected through etcd')} .- control_plane",
    ]
    return "\n".join(out)


def network_diagram(cluster: Cluster) -> str:
    """The diagram as a fenced block that Material renders to SVG in the browser."""
    return f"```mermaid\n{network_mermaid(cluster)}\n```"
