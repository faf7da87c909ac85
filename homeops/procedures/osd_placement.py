"""Which Ceph OSDs run on a node, found the way Rook places them: the one place that decides it.

Rook runs each OSD in a `rook-ceph-osd` pod (label `ceph-osd-id`) pinned to its node, so the pods
say where an OSD runs. The CRUSH host a node's OSDs sit under is not always the node's name
(Rook turns dots into dashes, names PVC-backed OSDs after the PVC, and a rack may sit between
root and host), so names are only a fallback when the pods cannot be read, and a name that
matches nothing never means "no OSD".
"""

from __future__ import annotations

from dataclasses import dataclass

from homeops.errors import RunbookStopped
from homeops.procedures.checks import at_once
from homeops.tools import ceph, kubectl
from homeops.tools.process import ToolError
from homeops.tools.shapes import OsdTree


@dataclass(frozen=True)
class Placement:
    osds: tuple[int, ...]
    crush_hosts: tuple[str, ...]  # the CRUSH host buckets that hold them: where a host flag goes
    how: str  # how they were found, for the record


def crush_name(hostname: str) -> str:
    """Rook's NormalizeCrushName for a hostname: dots become dashes (`worker-1.lan` -> `worker-1-lan`)."""
    return hostname.replace(".", "-")


def placement(node_name: str) -> Placement:
    """The OSDs on `node_name` and their CRUSH hosts. Raises ToolError when Ceph cannot be read and
    RunbookStopped when neither the pods nor the CRUSH names can tell."""
    pods, tree = at_once(_pods_or_error, ceph.osd_tree)
    host_of = {osd: host for host, osds in tree.osds_by_host.items() for osd in osds}
    if not isinstance(pods, ToolError) and pods:
        osds = tuple(sorted(p.osd for p in pods if p.node == node_name))
        hosts = tuple(sorted({host_of.get(o) or next(p.crush_host for p in pods if p.osd == o) for o in osds}))
        return Placement(osds, hosts, "rook-ceph-osd pods")
    by_name = tree.osds_of(crush_name(node_name))
    if by_name:
        return Placement(by_name, (crush_name(node_name),), "CRUSH host of the same name")
    if not any(tree.osds_by_host.values()):
        return Placement((), (), "no OSD in the CRUSH map")
    why = f"the rook-ceph-osd pods cannot be read ({pods})" if isinstance(pods, ToolError) else \
        "no rook-ceph-osd pod was found"
    raise RunbookStopped(
        f"{node_name}: cannot tell which Ceph OSDs run there: {why}, and no CRUSH host is named "
        f"{crush_name(node_name)} (hosts: {_hosts(tree)}); nothing changed")


def _pods_or_error():
    try:
        return kubectl.osd_pods()
    except ToolError as exc:
        return exc


def _hosts(tree: OsdTree) -> str:
    return ", ".join(sorted(h for h, osds in tree.osds_by_host.items() if osds)) or "none"
