"""osd-replace: one OSD out of Ceph, its disk wiped, a new OSD on it (Rook's "Ceph OSD Management").

Refused, with nothing changed: PGs not clean (unless the operator says the disk is failing), or
Ceph unable to keep every copy without the OSD (ceph_capacity; unless the operator accepts a
degraded pool, which is recorded). The disk is the one `ceph osd metadata` names, found among
the node's disks by the name cluster.yaml's `osd_devices` gives it (its `/dev/disk/by-id` name, or
its /dev path), used by no other OSD and not the install disk; `talosctl wipe disk` clears it. If
Rook then makes no OSD on it, the disk may still carry Ceph's label (siderolabs/talos#10797): the
stop says to zap it with Rook's steps and run again.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeops.cluster.model import Node
from homeops.errors import RunbookStopped
from homeops.procedures import ceph_capacity, osd_removal, waits
from homeops.procedures.node_maintenance import pgs_seen
from homeops.procedures.osd_placement import crush_name
from homeops.procedures.osd_removal import Removal, guarded, stop
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.runner.outcome import again_with
from homeops.tools import ceph, ceph_osds, node_removal
from homeops.tools.process import ToolError
from homeops.tools.shapes import Disk

ZAP_HINT = ("the disk may still carry Ceph's label (siderolabs/talos#10797): zap it with Rook's steps "
            "(sgdisk --zap-all, dd of zeros at its start, blkdiscard on an SSD, partprobe; see the page Replacing an "
            "OSD) and Rook makes "
            "the new OSD on it by itself; do not run this again for the same OSD id once Ceph shows it, "
            "that would replace the new OSD")


@dataclass(frozen=True)
class Target:
    osd: int
    node: Node
    host: str  # its CRUSH host
    disk: str  # /dev/disk/by-id/... from cluster.yaml
    name: str  # the kernel's name Talos wipes by: nvme0n1
    exists: bool  # still in Ceph's OSD map (False on a re-run after the purge)


def chosen(session: Session, osd: str | int, disk: str = "") -> Target:
    """The OSD, its node and its disk, or a stop that changes nothing."""
    try:
        number = int(str(osd).strip().removeprefix("osd."))
    except ValueError:
        raise RunbookStopped(f"osd must be an OSD id (a number, as in `ceph osd tree`), got {osd!r}; "
                             "nothing changed") from None
    try:
        tree = ceph_osds.tree_document()
    except ToolError as exc:
        raise RunbookStopped(f"cannot read the OSD tree: {exc}; nothing changed") from None
    host = next((n.get("name") for n in tree.get("nodes") or []
                 if n.get("type") == "host" and number in (n.get("children") or [])), None)
    if host is None:
        return _purged_already(session, number, disk)
    node = next((n for n in session.cluster.nodes if crush_name(n.name) == host), None)
    if node is None:
        raise RunbookStopped(f"osd.{number} sits under CRUSH host {host}, which is no node of cluster.yaml; "
                             "nothing changed")
    try:
        meta = ceph_osds.metadata(number)
        disks = node_removal.disks(str(node.address))
    except ToolError as exc:
        raise RunbookStopped(f"cannot read osd.{number}'s disk: {exc}; nothing changed") from None
    if len(meta.devices) != 1:
        raise RunbookStopped(f"osd.{number} uses {len(meta.devices)} devices ({', '.join(meta.devices) or 'none'}):"
                             " this runbook replaces OSDs on one whole disk only; nothing changed")
    name = meta.devices[0]
    found = next((d for d in disks if d.id == name), None)
    links = set(found.names) if found else set()
    named = [device for device in map(str, node.osd_devices) if device in links]
    if not named:
        raise RunbookStopped(f"osd.{number}'s disk {name} on {node.name} is none of its osd_devices in "
                             f"cluster.yaml ({', '.join(map(str, node.osd_devices)) or 'none'}); nothing changed")
    try:
        _nothing_else_uses(number, node, found, host, tree)
    except ToolError as exc:
        raise RunbookStopped(f"cannot read the other OSDs of {host}: {exc}; nothing changed") from None
    return Target(number, node, host, named[0], name, True)


def _nothing_else_uses(osd: int, node: Node, disk: Disk, host: str, tree: dict) -> None:
    """Not the install disk (cluster.yaml may name it /dev/sda or by its /dev/disk/by-id name), and no
    other OSD of the host on the same disk."""
    name = disk.id
    if _is_install_disk(node, disk):
        raise RunbookStopped(f"osd.{osd}'s disk {name} is {node.name}'s install disk; nothing changed")
    for other in sorted(ceph_capacity.osds_of_host(tree, host) - {osd}):
        if name in ceph_osds.metadata(other).devices:
            raise RunbookStopped(f"the disk {name} on {node.name} also holds osd.{other}: wiping it would destroy "
                                 f"osd.{other} too; nothing changed")


def _is_install_disk(node: Node, disk: Disk) -> bool:
    return str(node.install_disk) in disk.names


def _purged_already(session: Session, osd: int, disk: str) -> Target:
    """A re-run after the purge: Ceph no longer knows the OSD. Its disk is the one named (-p disk=...),
    or else the one disk of cluster.yaml's osd_devices that holds no OSD."""
    try:
        free = _free_disks(session)
    except ToolError as exc:
        raise RunbookStopped(f"osd.{osd} is not in Ceph's OSD tree, and the disks cannot be read: {exc}; "
                             "nothing changed") from None
    wanted = disk.strip()
    chosen_ones = [f for f in free if f[1] == wanted] if wanted else free
    if len(chosen_ones) != 1:
        named = ", ".join(f"{n.name}:{d}" for n, d, _ in free) or "none"
        why = (f"{wanted} is not a free disk of cluster.yaml's osd_devices" if wanted
               else "pass its disk as -p disk=/dev/disk/by-id/...")
        raise RunbookStopped(f"osd.{osd} is not in Ceph's OSD tree (free osd_devices disks: {named}): {why}; "
                             "nothing changed")
    node, device, name = chosen_ones[0]
    session.say(f"osd.{osd} is no longer in Ceph: finishing its replacement on {device} ({node.name}), the "
                "free disk of cluster.yaml's osd_devices")
    return Target(osd, node, crush_name(node.name), device, name, False)


def _free_disks(session: Session) -> list[tuple[Node, str, str]]:
    """(node, device as osd_devices names it, kernel name) of each osd_devices disk no OSD uses, never
    the install disk."""
    tree = ceph_osds.tree_document()
    free = []
    for node in session.cluster.nodes:
        if not node.osd_devices:
            continue
        used = {d for o in ceph_capacity.osds_of_host(tree, crush_name(node.name))
                for d in ceph_osds.metadata(o).devices}
        for disk in node_removal.disks(str(node.address)):
            for device in map(str, node.osd_devices):
                if device in disk.names and disk.id not in used and not _is_install_disk(node, disk):
                    free.append((node, device, disk.id))
    return free


def preflight(session: Session, target: Target, state: Removal, *, failing_disk: bool, accept_degraded: bool) -> bool:
    """Refuse (nothing changed) when PGs are not clean or Ceph cannot keep every copy without the OSD;
    True when the operator accepted that it cannot (the removal then waits for no safe-to-destroy)."""
    resuming = bool(state.stopped or state.out)  # this OSD, half removed by an earlier run
    if target.exists:
        try:
            status = ceph.status()
            room = ceph_capacity.without_osds({target.osd}, f"osd.{target.osd}")
        except ToolError as exc:
            raise stop(state, "read Ceph", exc) from None
        seen = pgs_seen(status)
        if seen is not True and not (failing_disk or resuming):
            raise RunbookStopped(f"osd.{target.osd}: PGs are not clean ({seen}): a replacement now could lose "
                                 f"data; wait for Ceph to recover, or {again_with('failing_disk', True)} if this disk is "
                                 "the failure; nothing changed")
        if seen is not True:
            session.say(f"PGs not clean ({seen}): going on because "
                        + ("an earlier run left this removal half done" if resuming else "the disk is failing"))
        session.say(room.explain())
        if not room.keeps_serving:
            raise stop(state, "judge Ceph's room", f"{room.explain()}; refused whatever is accepted")
        if not room.keeps_every_copy and not accept_degraded:
            raise stop(state, "judge Ceph's room", f"{room.explain()}: refused; {again_with('accept_degraded', True)} "
                                                   "to replace it anyway and stay degraded until the new OSD is in")
        if not room.keeps_every_copy:
            session.say(f"accepted by the operator (accept_degraded): the pools stay degraded until osd.{target.osd}'s"
                        " replacement is in")
    session.say(f"osd.{target.osd}: host {target.host} ({target.node.name}), disk {target.disk} ({target.name})")
    return target.exists and not room.keeps_every_copy


def wipe(session: Session, target: Target, state: Removal) -> None:
    with guarded(state):
        state.step = f"wipe {target.disk}"
        node_removal.wipe_disk(session.gate, str(target.node.address), target.name,
                               why=f"clear osd.{target.osd}'s data so that Rook makes a new OSD on it")
        state.notes.append(f"{target.disk} ({target.name}) on {target.node.name} wiped")


def _osd_on(target: Target) -> tuple[int, bool] | None:
    """The OSD now on the disk and whether it is up and in, from the OSD tree, the OSD map and each
    OSD's metadata."""
    tree = ceph_osds.tree_document()
    dump = ceph_osds.json_object_of(["osd", "dump"])
    running = {o.get("osd"): bool(o.get("up") and o.get("in")) for o in dump.get("osds") or []}
    for osd in sorted(ceph_capacity.osds_of_host(tree, target.host)):
        if target.name in ceph_osds.metadata(osd).devices and osd in running:
            return osd, running[osd]
    return None


def wait_new_osd(session: Session, target: Target, state: Removal) -> str:
    """The new OSD up and in on the disk, then HEALTH_OK; returns what the end says."""
    what = f"a new OSD up and in on {target.disk}"
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
        session.gate.would_wait("Ceph HEALTH_OK", session.wait_timeout)
        return f"osd.{target.osd} would be replaced on {target.disk}"
    found: dict = {}

    def new_osd() -> bool | str:
        seen = _osd_on(target)
        if seen and seen[1]:
            found["osd"] = seen[0]
            return True
        return f"osd.{seen[0]} on it, not yet up and in" if seen else "no OSD on it yet"

    def healthy() -> bool | str:
        status = ceph.status()
        if status.health == "HEALTH_OK":
            return True
        clean = pgs_seen(status)
        return status.health + ("" if clean is True else f", {clean}")

    with guarded(state):
        state.step = "wait for the new OSD"
        session.say(f"waiting for {what} (up to {session.wait_timeout:g}s)")
        try:
            wait_until(new_osd, session.wait_timeout, session.poll_interval, what,
                       progress=waits.progress(session, what))
        except WaitTimedOut as exc:
            state.notes.append(ZAP_HINT)
            raise stop(state, state.step, exc) from None
        state.step = "wait for HEALTH_OK"
        try:
            wait_until(healthy, session.wait_timeout, session.poll_interval, "Ceph HEALTH_OK",
                       progress=waits.progress(session, "Ceph HEALTH_OK"))
        except WaitTimedOut as exc:
            raise stop(state, state.step, exc) from None
    return (f"osd.{target.osd} replaced: osd.{found['osd']} is up and in on {target.disk} "
            f"({target.node.name}), Ceph HEALTH_OK")


def replace(session: Session, target: Target, *, failing_disk: bool, accept_degraded: bool) -> str:
    state = osd_removal.read(session, (target.osd,), f"osd.{target.osd}")
    state.notes.append(f"its disk: {target.disk} on {target.node.name}")
    degraded = preflight(session, target, state, failing_disk=failing_disk, accept_degraded=accept_degraded)
    osd_removal.remove(session, state, degraded_accepted=degraded)
    with guarded(state):
        state.step = f"look for a new OSD on {target.disk}"  # not the removal's last step: that one is done
        holds = session.apply and _osd_on(target) is not None
    if holds:
        session.say(f"{target.disk} already holds a new OSD: not wiping it")
    else:
        wipe(session, target, state)
    osd_removal.operator_back(session, state)
    return wait_new_osd(session, target, state)


def undo(session: Session, target: Target) -> str:
    """Give the OSD back after a stop before its purge (-p undo=True)."""
    state = osd_removal.read(session, (target.osd,), f"osd.{target.osd}")
    if not state.left():
        return f"osd.{target.osd}: nothing to undo"
    osd_removal.undo(session, state)
    done = "is back" if session.apply else "would be back"
    return f"osd.{target.osd} {done}: in, its Deployment at 1 replica, the Rook operator running"
