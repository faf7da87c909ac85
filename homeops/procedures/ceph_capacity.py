"""The one rule of whether Ceph can keep every copy without a host or an OSD.

Each replicated pool keeps `size` copies on distinct failure domains (its CRUSH rule's
`chooseleaf ... type host`), and serves I/O while `min_size` of them are there. Without a host,
the failure domains left are those still holding an OSD that is in; fewer than `size` and Ceph
cannot re-replicate: the pool stays degraded until another failure domain joins; fewer than
`min_size` and its I/O stops. With 3 OSD hosts, pools of size 3 and failure domain host, no host
can go: this says so in those words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from homeops.tools import ceph_osds


@dataclass(frozen=True)
class PoolRoom:
    pool: str
    size: int
    min_size: int
    domain: str  # the CRUSH type copies are spread over: host, rack, osd
    domains_now: int  # failure domains holding an OSD that is in
    domains_left: int  # those still holding one without what is removed


@dataclass(frozen=True)
class Capacity:
    without: str  # what is removed, as the text says it: "host worker-1", "osd.3"
    pools: tuple[PoolRoom, ...]

    @property
    def short(self) -> tuple[PoolRoom, ...]:
        """Pools that could not keep every copy."""
        return tuple(p for p in self.pools if p.domains_left < p.size)

    @property
    def keeps_every_copy(self) -> bool:
        return not self.short

    @property
    def keeps_serving(self) -> bool:
        """Every pool still has min_size copies: degraded at worst, never unavailable."""
        return all(p.domains_left >= p.min_size for p in self.pools)

    def explain(self) -> str:
        if self.keeps_every_copy:
            spread = ", ".join(sorted({f"{p.domains_left} {p.domain}s for size {p.size}" for p in self.pools}))
            return f"Ceph can keep every copy without {self.without} ({spread or 'no pool'})"
        first = self.short[0]
        others = [p.pool for p in self.short[1:]]
        pools = f"pool {first.pool}" + (f" (and {', '.join(others)})" if others else "")
        text = (f"Ceph cannot keep every copy without {self.without}: with {first.domains_now} OSD "
                f"{first.domain}s, {pools} has size {first.size} and failure domain {first.domain}, and only "
                f"{first.domains_left} {first.domain}s would be left")
        if self.keeps_serving:
            return text + (f", so it would stay degraded ({first.domains_left} of {first.size} copies) until "
                           f"another {first.domain} with OSDs joins")
        return text + f", fewer than its min_size {first.min_size}: its I/O would stop"


def failure_domain(rule: dict) -> str:
    """The CRUSH type a rule spreads copies over (the type of its choose/chooseleaf step); osd without one."""
    for step in rule.get("steps") or []:
        if str(step.get("op")).startswith("choose"):
            return str(step["type"])
    return "osd"


def _domains(tree: dict, domain: str, removed: set[int]) -> tuple[int, int]:
    """(domains holding an OSD that is in, those still holding one without `removed`). An OSD is a
    domain of type osd by itself, so one walk serves every failure domain."""
    nodes = {n.get("id"): n for n in tree.get("nodes") or []}
    in_osds = {i for i, n in nodes.items() if n.get("type") == "osd" and float(n.get("reweight", 1)) > 0}

    def leaves(node_id) -> set[int]:
        node = nodes.get(node_id) or {}
        if node.get("type") == "osd":
            return {node_id}
        return set().union(*(leaves(c) for c in node.get("children") or []))

    buckets = [leaves(i) & in_osds for i, n in nodes.items() if n.get("type") == domain]
    return sum(1 for b in buckets if b), sum(1 for b in buckets if b - removed)


def judge(pools: list[dict], rules: list[dict], tree: dict, removed: Iterable[int], without: str) -> Capacity:
    removed = set(removed)
    by_id = {r.get("rule_id"): r for r in rules}
    rooms = []
    for pool in pools:
        # Ceph prints every key read here for every pool; a rule missing from the dump spreads over OSDs.
        domain = failure_domain(by_id.get(pool["crush_rule"], {}))
        now, left = _domains(tree, domain, removed)
        rooms.append(PoolRoom(str(pool["pool_name"]), int(pool["size"]), int(pool["min_size"]), domain, now, left))
    return Capacity(without, tuple(rooms))


def osds_of_host(tree: dict, host: str) -> set[int]:
    nodes = {n.get("id"): n for n in tree.get("nodes") or []}
    bucket = next((n for n in nodes.values() if n.get("type") == "host" and n.get("name") == host), {})
    return set(bucket.get("children") or [])  # a host bucket holds OSDs only


def without_osds(osds: Iterable[int], without: str) -> Capacity:
    """Read the pools, their rules and the OSD tree now, and judge Ceph without these OSDs."""
    return judge(ceph_osds.pool_details(), ceph_osds.crush_rules(), ceph_osds.tree_document(), osds, without)


def without_host(host: str) -> Capacity:
    tree = ceph_osds.tree_document()
    return judge(ceph_osds.pool_details(), ceph_osds.crush_rules(), tree, osds_of_host(tree, host), f"host {host}")
