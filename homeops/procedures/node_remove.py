"""node-remove: a node leaves the cluster for good, its OSDs first.

Checked before anything changes: a control plane of a 2-member etcd only with the recorded
acceptance; the node's OSDs only when Ceph keeps every copy without its host (ceph_capacity;
otherwise only with `accept_degraded`); the PersistentVolumes bound to it (ZFS LocalPV: their data
goes with the node) named. Then: its OSDs removed (osd_removal, the operator kept at 0 until the
node is gone, so Rook does not start them again from the disks' old labels), drain, a graceful
`talosctl reset` that shuts it down (a control plane leaves etcd), `kubectl delete node`, the
operator back, etcd's members read from a control plane that stays. Each step looks first, so a
re-run finishes a stopped removal.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeops.cluster.model import Node
from homeops.errors import RunbookStopped
from homeops.procedures import ceph_capacity, osd_removal, waits
from homeops.procedures.etcd import TWO_MEMBER_RISK
from homeops.procedures.node_maintenance import pgs_seen
from homeops.procedures.osd_placement import crush_name
from homeops.procedures.osd_removal import Removal, guarded, stop
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.runner.outcome import again_with
from homeops.tools import ceph, ceph_osds, kubectl, node_removal, talosctl
from homeops.tools.node_removal import BoundVolume
from homeops.tools.process import ToolError


@dataclass(frozen=True)
class Plan:
    node: Node
    host: str  # its CRUSH host
    osds: tuple[int, ...]
    volumes: tuple[BoundVolume, ...]
    members: tuple[str, ...]  # etcd members before (hostnames)
    witness: Node | None  # a control plane that stays, to read etcd's members from
    keeps_every_copy: bool
    room: str

    def summary(self) -> str:
        lines = [f"{self.node.name} ({self.node.role}), OSDs: {', '.join(f'osd.{o}' for o in self.osds) or 'none'}"]
        if self.osds:
            lines.append(self.room)
        if self.volumes:
            lines.append(f"volumes bound to {self.node.name}, whose data goes with it: " + ", ".join(
                f"{v.name} (claim {v.claim or 'none'}, {v.storage_class})" for v in self.volumes))
        else:
            lines.append(f"no PersistentVolume is bound to {self.node.name}")
        if self.members:
            lines.append(f"etcd members now: {', '.join(self.members)}")
        return "\n".join(lines)


def checked(session: Session, name: str, *, accept_degraded: bool, accept_two_member_etcd_risk: bool) -> Plan:
    if not name.strip():
        names = ", ".join(n.name for n in session.cluster.nodes)
        raise RunbookStopped(f"no node given: pass -p node=NAME (one of {names}); nothing changed")
    try:
        node = session.cluster.node(name.strip())
    except KeyError as exc:
        raise RunbookStopped(f"{exc.args[0]}; nothing changed") from None
    others = [n for n in session.cluster.control_planes if n.name != node.name]
    witness = others[0] if others else None
    try:
        members = tuple(m.hostname for m in talosctl.etcd_members(str(witness.address))) if witness else ()
        volumes = tuple(node_removal.bound_volumes(node.name))
        tree = ceph_osds.tree_document()
    except ToolError as exc:
        raise RunbookStopped(f"{node.name}: cannot read the cluster: {exc}; nothing changed") from None
    if node.role == "control-plane" and node.name in members and len(members) <= 2:
        if not accept_two_member_etcd_risk:
            raise RunbookStopped(
                f"refused: removing {node.name} leaves etcd with {len(members) - 1} member: {TWO_MEMBER_RISK}. "
                f"Add a control-plane node first (node-add), or {again_with('accept_two_member_etcd_risk', True)} to "
                "remove it anyway; nothing changed")
        session.say(f"accepted risk (accept_two_member_etcd_risk): removing {node.name} leaves etcd with "
                    f"{len(members) - 1} member, which tolerates no failure")
    host = crush_name(node.name)
    osds = tuple(sorted(ceph_capacity.osds_of_host(tree, host)))
    room, keeps = "", True
    if osds:
        try:
            capacity = ceph_capacity.without_host(host)
        except ToolError as exc:
            raise RunbookStopped(f"{node.name}: cannot judge Ceph: {exc}; nothing changed") from None
        room, keeps = capacity.explain(), capacity.keeps_every_copy
        if not capacity.keeps_serving:
            raise RunbookStopped(f"{room}; refused whatever is accepted; nothing changed")
        if not keeps and not accept_degraded:
            raise RunbookStopped(f"{room}: refused; add a host with OSDs first, or {again_with('accept_degraded', True)} to "
                                 "remove it anyway and stay degraded; nothing changed")
        if not keeps:
            room += "; accepted by the operator (accept_degraded)"
    plan = Plan(node, host, osds, volumes, members, witness, keeps, room)
    return plan


def remove(session: Session, plan: Plan) -> str:
    node = plan.node
    state = osd_removal.read(session, plan.osds, node.name)
    if plan.osds:
        try:
            status = ceph.status()
        except ToolError as exc:
            raise stop(state, "read Ceph", exc) from None
        seen = pgs_seen(status)
        if seen is not True and not (state.stopped or state.out or state.purged):
            raise RunbookStopped(f"{node.name}: PGs are not clean ({seen}): wait for Ceph to recover before "
                                 "removing a host's OSDs; nothing changed")
    if plan.volumes:
        state.notes.append("volumes bound to it (their data goes with it): " + ", ".join(v.name for v in plan.volumes))
    osd_removal.remove(session, state, degraded_accepted=not plan.keeps_every_copy)
    with guarded(state):
        registered = node.name in {n.name for n in kubectl.nodes()}
        if registered:
            state.step = "drain"
            cordon = f"{node.name} cordoned (the drain cordons first)"
            state.notes.append(cordon)
            kubectl.drain(session.gate, node.name, timeout=session.wait_timeout, why="move its pods elsewhere")
            state.notes.remove(cordon)
            state.notes.append(f"{node.name} drained")
            state.step = "talosctl reset --graceful"
            with session.covering(node_removal.RESET_TIMEOUT, f"{node.name}'s reset"):
                node_removal.reset(session.gate, str(node.address), node=node.name,
                                   why="wipe it and shut it down" + (", leaving etcd" if node.role ==
                                                                      "control-plane" else ""))
            state.notes.append(f"{node.name} reset and shut down")
            state.step = "kubectl delete node"
            node_removal.delete_node(session.gate, node.name, why=f"{node.name} is gone for good")
        else:
            session.say(f"{node.name} is no longer a Node of the cluster: not draining or resetting it again")
    osd_removal.operator_back(session, state)
    members = _members_after(session, plan, state)
    ceph_end = _ceph_after(session, plan, state)
    done = "removed" if session.apply else "would be removed"
    return (f"{node.name} {done}: OSDs {', '.join(f'osd.{o}' for o in plan.osds) or 'none'} purged, reset, "
            f"Node deleted; {members}; {ceph_end}; "
            f"remove {node.name} from cluster.yaml and run homeops render, so that nothing renders it again")


def _members_after(session: Session, plan: Plan, state: Removal) -> str:
    if plan.witness is None:
        return "no other control plane to read etcd from"
    if not session.apply:
        return "etcd's members would be read from " + plan.witness.name
    with guarded(state):
        state.step = "read etcd's members"
        members = [m.hostname for m in talosctl.etcd_members(str(plan.witness.address))]
    if plan.node.name in members:
        raise stop(state, "read etcd's members", f"{plan.node.name} is still an etcd member ({', '.join(members)})")
    return f"etcd members: {', '.join(members)}"


def _ceph_after(session: Session, plan: Plan, state: Removal) -> str:
    if not plan.osds:
        return "Ceph untouched"
    if not plan.keeps_every_copy:
        return "Ceph stays degraded until another host with OSDs joins (accepted)"
    what = "every Ceph PG active+clean"
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
        return "Ceph would be clean"
    with guarded(state):
        state.step = f"wait for {what}"
        try:
            wait_until(lambda: pgs_seen(ceph.status()), session.wait_timeout, session.poll_interval, what,
                       progress=waits.progress(session, what))
        except WaitTimedOut as exc:
            raise stop(state, state.step, exc) from None
        health = ceph.status().health
    return f"Ceph {health}"
