"""Rules that relate several fields of cluster.yaml: overlaps, duplicates, membership, etcd quorum.

Each rule is a small function from `Facts` to the problems it finds. `Facts` holds only the
values that passed their own format check (a missing or malformed field is None, a node that
did not parse at all is absent), so a rule never reports a consequence of an error already
reported, and a half-broken file still gets every rule that can run on what is left.

Every rule is linear (one pass with a dict or set), so a 10,000-node file checks in
milliseconds; the CIDR overlap rule compares three networks only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from homeops.cluster import component_support, talos_schematic
from homeops.cluster.talos_support import UnknownTalosVersion, supported_kubernetes
from homeops.cluster.talos_support import minor_of as _minor_of
from homeops.safe_yaml.problems import DataPath, Problem, Severity, dotted

Position = tuple[int, int]

REPLICA_COUNT = 3  # Rook's default replicated pool: size 3, one copy per host


@dataclass(frozen=True)
class NodeFacts:
    index: int
    name: str | None
    role: str | None
    address: ipaddress.IPv4Address | None
    osd_count: int | None  # None when the role or osds did not parse


@dataclass(frozen=True)
class LoadBalancerFacts:
    index: int
    name: str | None
    address: ipaddress.IPv4Address | None


@dataclass(frozen=True)
class Facts:
    """What the rules may rely on: every value here passed its format check."""

    file: str
    locate: Callable[[DataPath], Position]
    node_cidr: ipaddress.IPv4Network | None = None
    pod_cidr: ipaddress.IPv4Network | None = None
    service_cidr: ipaddress.IPv4Network | None = None
    control_plane_vip: ipaddress.IPv4Address | None = None
    talos_version: str | None = None
    kubernetes_version: str | None = None
    nodes: tuple[NodeFacts, ...] = ()
    # False when `nodes` is missing or malformed, or a node's role or osds did not parse: counting would mislead.
    roles_known: bool = True
    load_balancers: tuple[LoadBalancerFacts, ...] = ()
    # (versions key, version) of every parsed component version the support table may judge
    component_versions: tuple[tuple[str, str], ...] = ()
    zfs_localpv_version: str | None = None
    schematic_id: str | None = None
    extensions: tuple[str, ...] | None = None  # None when talos.extensions did not parse
    s3_backups: bool = False  # backups.s3 is written (whether or not its own values parsed)
    # "set", "absent", or "unknown" when secrets.age_public_key had a problem of its own
    age_public_key: str = "unknown"

    def problem(self, code: str, path: DataPath, message: str, severity: Severity = "error") -> Problem:
        line, column = self.locate(path)
        return Problem(line, column, dotted(path), message, severity, self.file, code)

    def line_of(self, path: DataPath) -> int:
        return self.locate(path)[0]

    def addresses(self) -> Iterator[tuple[DataPath, ipaddress.IPv4Address, str]]:
        """(path, address, owner) of every parsed node, VIP and load-balancer address, in file order."""
        for node in self.nodes:
            if node.address is not None:
                yield ("nodes", node.index, "address"), node.address, f"node {node.name or node.index}"
        if self.control_plane_vip is not None:
            yield ("network", "control_plane_vip"), self.control_plane_vip, "the control-plane VIP"
        for lb in self.load_balancers:
            if lb.address is not None:
                path = ("network", "load_balancers", lb.index, "address")
                yield path, lb.address, f"load balancer {lb.name or lb.index}"


# --- errors ------------------------------------------------------------------------------------


def cidr_overlap(facts: Facts) -> list[Problem]:
    """Node, pod and service networks must be disjoint; one inside another counts as overlap."""
    named = [
        (("network", key), net)
        for key, net in (("node_cidr", facts.node_cidr), ("pod_cidr", facts.pod_cidr),
                         ("service_cidr", facts.service_cidr))
        if net is not None
    ]
    problems = []
    for i, (first_path, first) in enumerate(named):
        for later_path, later in named[i + 1:]:
            # Two CIDR blocks are either nested or disjoint: they cannot partly overlap.
            if later.subnet_of(first):
                how = "lies inside"
            elif later.supernet_of(first):
                how = "contains"
            else:
                continue
            problems.append(facts.problem(
                "cidr-overlap", later_path,
                f"{later} {how} {dotted(first_path)} {first} (line {facts.line_of(first_path)}): "
                "node, pod and service networks must not overlap"))
    return problems


def address_outside_node_cidr(facts: Facts) -> list[Problem]:
    """Node addresses, the VIP and load-balancer addresses live in node_cidr."""
    if facts.node_cidr is None:
        return []
    return [
        facts.problem("address-outside-node-cidr", path,
                      f"{address} ({owner}) is outside network.node_cidr {facts.node_cidr}")
        for path, address, owner in facts.addresses()
        if address not in facts.node_cidr
    ]


def address_reserved(facts: Facts) -> list[Problem]:
    """The network and broadcast addresses of node_cidr belong to no machine."""
    network = facts.node_cidr
    if network is None or network.prefixlen >= 31:  # /31 and /32 have no network or broadcast address
        return []
    reserved = {network.network_address: "network", network.broadcast_address: "broadcast"}
    return [
        facts.problem("address-reserved", path,
                      f"{address} ({owner}) is the {reserved[address]} address of network.node_cidr {network}")
        for path, address, owner in facts.addresses()
        if address in reserved
    ]


def address_used_twice(facts: Facts) -> list[Problem]:
    """No two of the nodes, the VIP and the load balancers share an address."""
    first_use: dict[ipaddress.IPv4Address, tuple[DataPath, str]] = {}
    problems = []
    for path, address, owner in facts.addresses():
        if address in first_use:
            first_path, first_owner = first_use[address]
            problems.append(facts.problem(
                "address-used-twice", path,
                f"{address} ({owner}) is already used by {first_owner} at {dotted(first_path)} "
                f"(line {facts.line_of(first_path)})"))
        else:
            first_use[address] = (path, owner)
    return problems


def _names_used_twice(facts: Facts, code: str, kind: str,
                      named: Iterable[tuple[DataPath, str | None]]) -> list[Problem]:
    first_use: dict[str, DataPath] = {}
    problems = []
    for path, name in named:
        if name is None:
            continue
        if name in first_use:
            first = first_use[name]
            problems.append(facts.problem(
                code, path, f"{kind} name {name!r} is already used at {dotted(first)} (line {facts.line_of(first)})"))
        else:
            first_use[name] = path
    return problems


def duplicate_node_name(facts: Facts) -> list[Problem]:
    """Node names are hostnames: each is used once."""
    return _names_used_twice(facts, "duplicate-node-name", "node",
                             ((("nodes", n.index, "name"), n.name) for n in facts.nodes))


def duplicate_load_balancer_name(facts: Facts) -> list[Problem]:
    """Load-balancer names are Service names: each is used once."""
    return _names_used_twice(facts, "duplicate-load-balancer-name", "load-balancer",
                             ((("network", "load_balancers", lb.index, "name"), lb.name)
                              for lb in facts.load_balancers))


def no_control_plane(facts: Facts) -> list[Problem]:
    """Without a control-plane node there is no Kubernetes API and no etcd."""
    if not facts.roles_known or any(n.role == "control-plane" for n in facts.nodes):
        return []
    return [facts.problem("no-control-plane", ("nodes",),
                          "no node has role control-plane: the cluster needs at least one (three for etcd to "
                          "tolerate a failure)")]


def service_cidr_too_small(facts: Facts) -> list[Problem]:
    """The cluster DNS Service takes the 10th address of the service network."""
    network = facts.service_cidr
    if network is None or network.num_addresses > 11:  # .10 must exist and not be the broadcast address
        return []
    return [facts.problem(
        "service-cidr-too-small", ("network", "service_cidr"),
        f"{network} holds {network.num_addresses} addresses, too few for the cluster DNS address "
        f"(its 10th address, {network.network_address + 10}): use a /28 or larger")]


# --- warnings ----------------------------------------------------------------------------------


def even_control_planes(facts: Facts) -> list[Problem]:
    """etcd needs a majority (quorum); an even member count adds a failure point and no tolerance."""
    if not facts.roles_known:
        return []
    members = sum(1 for n in facts.nodes if n.role == "control-plane")
    if members == 0 or members % 2:
        return []
    quorum = members // 2 + 1
    tolerated = members - quorum
    tolerance = "no failure" if tolerated == 0 else f"{tolerated} failed member(s), no more than {members - 1} would"
    message = (f"{members} control-plane nodes: etcd needs a quorum of {quorum} of {members} members, "
               f"so it tolerates {tolerance}")
    if members == 2:
        message += (", and Talos refuses to upgrade a control-plane node of a 2-member etcd "
                    "(it would lose quorum) unless forced")
    message += f"; use {members - 1} or {members + 1} control-plane nodes"
    return [facts.problem("even-control-planes", ("nodes",), message, "warning")]


def kubernetes_unsupported(facts: Facts) -> list[Problem]:
    """The Talos release supports a window of Kubernetes minors."""
    if facts.talos_version is None or facts.kubernetes_version is None:
        return []
    try:
        lowest, highest = supported_kubernetes(facts.talos_version)
    except UnknownTalosVersion as exc:
        return [facts.problem("kubernetes-unsupported", ("versions", "talos"),
                              f"{exc}: cannot check versions.kubernetes against it", "warning")]
    talos_major, talos_minor = _minor_of(facts.talos_version)
    kube_major, kube_minor = _minor_of(facts.kubernetes_version)
    if kube_major == 1 and lowest <= kube_minor <= highest:
        return []
    return [facts.problem(
        "kubernetes-unsupported", ("versions", "kubernetes"),
        f"Kubernetes {facts.kubernetes_version} is outside what Talos {talos_major}.{talos_minor} supports "
        f"(Kubernetes 1.{lowest} to 1.{highest}, line {facts.line_of(('versions', 'talos'))})", "warning")]


def too_few_ceph_hosts(facts: Facts) -> list[Problem]:
    """A replicated Ceph pool keeps each copy on another host, so it needs as many hosts as copies."""
    if not facts.roles_known:
        return []
    hosts = [n.name for n in facts.nodes if n.osd_count]
    if len(hosts) >= REPLICA_COUNT:
        return []
    which = f" ({', '.join(str(h) for h in hosts)})" if hosts else ""
    return [facts.problem(
        "too-few-ceph-hosts", ("nodes",),
        f"{len(hosts)} Ceph host(s) with OSDs{which}: a replicated Ceph pool of size {REPLICA_COUNT} needs "
        f"{REPLICA_COUNT} hosts, or it stays degraded", "warning")]


def zfs_extension_missing(facts: Facts) -> list[Problem]:
    """The ZFS provisioner needs the zfs kernel module, which only the siderolabs/zfs extension ships."""
    if facts.zfs_localpv_version is None or facts.extensions is None or "siderolabs/zfs" in facts.extensions:
        return []
    return [facts.problem(
        "zfs-extension-missing", ("versions", "zfs_localpv"),
        "the ZFS provisioner is pinned but talos.extensions does not list siderolabs/zfs: without it the nodes "
        "have no zfs kernel module (add it, then take talos.schematic_id from the Image Factory)")]


def schematic_stale(facts: Facts) -> list[Problem]:
    """talos.schematic_id should name the schematic of talos.extensions, or the nodes boot without them."""
    if facts.schematic_id is None or facts.extensions is None:
        return []
    expected = talos_schematic.schematic_id(facts.extensions)
    if facts.schematic_id == expected:
        return []
    listed = ", ".join(facts.extensions) or "no extension"
    return [facts.problem(
        "schematic-stale", ("talos", "schematic_id"),
        f"this is not the Image Factory ID of the schematic with {listed} (that is {expected}; "
        "POST talos/schematic.yaml to https://factory.talos.dev/schematics): fine only if your schematic "
        "has more customization than talos.extensions", "warning")]


def component_unsupported(facts: Facts) -> list[Problem]:
    """Rook, Cilium, Flux and cert-manager each support a window of Kubernetes minors."""
    if facts.kubernetes_version is None:
        return []
    kube_major, kube_minor = _minor_of(facts.kubernetes_version)
    problems = []
    for key, version in facts.component_versions:
        support = component_support.support_of(key, version)
        if support is None or (kube_major == 1 and component_support.supports(support, kube_minor)):
            continue
        window = f"1.{support.lowest} to 1.{support.highest}" if support.highest else f"1.{support.lowest} and later"
        fitting = component_support.lowest_supporting(key, kube_minor)
        advice = (f"; {support.component} {fitting[0]}.{fitting[1]} is the lowest release that supports it"
                  if fitting else f"; no known {support.component} release supports it")
        problems.append(facts.problem(
            "component-unsupported", ("versions", key),
            f"{support.component} {version} supports Kubernetes {window}, not {facts.kubernetes_version} "
            f"(line {facts.line_of(('versions', 'kubernetes'))}){advice} (source: {support.source})", "warning"))
    return problems


def backups_need_age_key(facts: Facts) -> list[Problem]:
    """talos-backup encrypts each snapshot to secrets.age_public_key: without it there is nothing to encrypt to."""
    if not facts.s3_backups or facts.age_public_key != "absent":
        return []
    return [facts.problem(
        "backups-need-age-key", ("backups", "s3"),
        "scheduled backups need secrets.age_public_key: talos-backup encrypts every etcd snapshot to it before "
        "the upload (an unencrypted snapshot holds every Secret of the cluster); set it (`age-keygen -y` prints it)")]


RULES: tuple[Callable[[Facts], list[Problem]], ...] = (
    cidr_overlap,
    address_outside_node_cidr,
    address_reserved,
    address_used_twice,
    duplicate_node_name,
    duplicate_load_balancer_name,
    no_control_plane,
    service_cidr_too_small,
    even_control_planes,
    kubernetes_unsupported,
    too_few_ceph_hosts,
    zfs_extension_missing,
    schematic_stale,
    component_unsupported,
    backups_need_age_key,
)


def check(facts: Facts) -> list[Problem]:
    """Every rule's problems, in rule order (the loader sorts them by position)."""
    return [problem for rule in RULES for problem in rule(facts)]
