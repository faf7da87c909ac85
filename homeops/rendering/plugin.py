"""The makejinja plugin: templates see the validated cluster model, never raw YAML.

makejinja passes `data` (its `data_vars`); `cluster_yaml` names the file, which is loaded through
`homeops.cluster.loader`, so a template cannot read a value that did not pass validation.
"""

from __future__ import annotations

import ipaddress

from homeops.cluster.loader import load_cluster
from homeops.cluster.model import Cluster
from homeops.cluster.talos_schematic import schematic_yaml
from homeops.rendering import compiled_templates


# The load balancers whose names the templates give a component: Cilium's Gateways and k8s-gateway's DNS.
GATEWAYS = ("internal-gateway", "external-gateway")
DNS = "k8s-gateway"


def bare(version: str) -> str:
    """v1.19.3 -> 1.19.3, for charts and tags that carry no leading v."""
    return version.removeprefix("v")


def with_prefix(address: ipaddress.IPv4Address | str, network: ipaddress.IPv4Network) -> str:
    """10.0.10.11 in 10.0.0.0/16 -> 10.0.10.11/16, the form Talos's interface addresses take."""
    return f"{address}/{network.prefixlen}"


def minor(version: str) -> str:
    """v1.11.1 -> v1.11"""
    return ".".join(version.split(".")[:2])


# Models the caller has already validated, by the token it passes in makejinja's data_vars:
# `homeops render` and the site load cluster.yaml once, however many makejinja passes there are.
_VALIDATED: dict[str, Cluster] = {}


def provide(cluster: Cluster) -> str:
    token = str(id(cluster))
    _VALIDATED[token] = cluster
    return token


def withdraw(token: str) -> None:
    _VALIDATED.pop(token, None)


class ClusterData:
    def __init__(self, *, data, env=None) -> None:
        if env is not None:  # makejinja's environment of this pass: the one place to give it a bytecode cache
            compiled_templates.share(env)
        token = data.get("cluster_token")
        # run as a plain makejinja loader (no token), it validates the file itself
        self._cluster = _VALIDATED[token] if token in _VALIDATED else load_cluster(data["cluster_yaml"])
        self._node_index = int(data["node_index"]) if "node_index" in data else None

    def data(self):
        cluster = self._cluster
        values = {
            "cluster": cluster,
            "schematic": schematic_yaml(cluster.talos.extensions),
            "uses_zfs": cluster.versions.zfs_localpv is not None,
            "lb": {lb.name: lb for lb in cluster.network.load_balancers},
            "gateway_names": GATEWAYS,
        }
        if self._node_index is not None:
            values |= {"node": cluster.nodes[self._node_index], "node_index": self._node_index}
        return values

    def filters(self):
        return [bare, with_prefix, minor]
