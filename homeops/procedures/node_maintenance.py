"""Taking one node out of service and back, the Ceph-safe way, and what to say when a step fails.

Out: `ceph osd ok-to-stop` for its OSDs, `noout` for its host (Ceph must not rebalance while
the node is away), cordon, drain. Back: uncordon, wait until every PG is active+clean, clear
the flag. A failure before the node is disrupted undoes what was done; after, it leaves the
cordon and the flag in place and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from homeops.errors import RunbookStopped
from homeops.cluster.model import Node
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import ceph, kubectl
from homeops.tools.process import ToolError
from homeops.tools.shapes import OkToStop


@dataclass
class InPlace:
    """What this runbook has set on a node so far, so that a stop can undo it or name it."""

    node: str
    osds: tuple[int, ...] = ()
    cordoned: bool = False
    noout: bool = False
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        left = []
        if self.cordoned:
            left.append(f"{self.node} cordoned")
        if self.noout:
            left.append(f"noout set for host {self.node}")
        return "left in place: " + (", ".join(left) if left else "nothing")


def stop(state: InPlace, step: str, reason: object) -> RunbookStopped:
    notes = "".join(f"; {n}" for n in state.notes)
    return RunbookStopped(f"{state.node}: stopped at step '{step}': {reason}{notes}; {state.describe()}")


def take_out_of_service(session: Session, node: Node, *, purpose: str) -> InPlace:
    """ok-to-stop, noout for the host, cordon, drain. On a failure, undo and raise RunbookStopped."""
    gate = session.gate
    state = InPlace(node.name)
    try:
        state.osds = ceph.osd_tree().osds_of(node.name)
    except ToolError as exc:
        raise stop(state, "read the OSDs of the host", exc) from None
    if state.osds:
        answer = _ok_to_stop(state)
        session.say(f"ceph osd ok-to-stop {' '.join(map(str, state.osds))}: {'yes' if answer.ok else 'no'}")
        if not answer.ok:
            reason = f"Ceph says stopping OSD(s) {_ids(state.osds)} is not safe: {answer.reason}"
            raise stop(state, "ceph osd ok-to-stop", reason)
    else:
        session.say(f"{node.name} holds no OSD: no Ceph flag needed")
    step = "set noout for the host"
    try:
        if state.osds:
            ceph.set_group(gate, "noout", node.name, why=f"keep Ceph from rebalancing while {node.name} is away")
            state.noout = True
        step = "cordon"
        kubectl.cordon(gate, node.name, why=f"no new pods on {node.name} ({purpose})")
        state.cordoned = True
        step = "drain"
        kubectl.drain(gate, node.name, timeout=session.wait_timeout, why="move its pods elsewhere")
    except ToolError as exc:
        # Nothing is disrupted yet: the node still runs, so give it back rather than leave it half out.
        restore(session, state)
        raise stop(state, step, exc) from None
    return state


def restore(session: Session, state: InPlace) -> None:
    """Undo cordon and flag on a node that was not disrupted; what cannot be undone stays named in `state`."""
    if state.cordoned:
        try:
            kubectl.uncordon(session.gate, state.node, why="the node was not disrupted: give it back")
            state.cordoned = False
            state.notes.append(f"undone: {state.node} uncordoned")
        except ToolError as exc:
            state.notes.append(f"uncordon failed too: {exc}")
    if state.noout:
        try:
            ceph.unset_group(session.gate, "noout", state.node, why="the node was not disrupted")
            state.noout = False
            state.notes.append(f"undone: noout cleared for host {state.node}")
        except ToolError as exc:
            state.notes.append(f"clearing noout failed too: {exc}")


def return_to_service(session: Session, node: Node, state: InPlace) -> None:
    """Uncordon, wait until every PG is active+clean, clear the flag."""
    gate = session.gate
    _do(state, "uncordon", lambda: kubectl.uncordon(gate, node.name, why="the node is back"))
    state.cordoned = False
    # Also for a node without OSDs: its reboot can still take a Ceph monitor or manager away and
    # leave PGs peering, and the next node must not go down before Ceph is whole again.
    what = "every Ceph PG active+clean"
    if not session.apply:
        gate.would_wait(what, session.wait_timeout)
    else:
        session.say(f"waiting for {what} (up to {session.wait_timeout:g}s)")
        try:
            wait_until(lambda: ceph.status().pgs_clean, session.wait_timeout, session.poll_interval, what)
        except WaitTimedOut as exc:
            raise stop(state, "wait for PGs active+clean", f"{exc}{_pg_detail()}") from None
    if state.noout:
        _do(state, "clear noout for the host",
            lambda: ceph.unset_group(gate, "noout", node.name, why="Ceph is clean again"))
        state.noout = False


def current_state(node: Node) -> InPlace:
    """The state of a node a previous run took out of service (ceph-maintenance exit)."""
    state = InPlace(node.name, cordoned=True)
    try:
        state.osds = ceph.osd_tree().osds_of(node.name)
        state.noout = "noout" in ceph.osd_dump().host_flags.get(node.name, frozenset())
    except ToolError as exc:
        raise stop(state, "read the Ceph flags", exc) from None
    return state


def _ok_to_stop(state: InPlace) -> OkToStop:
    try:
        return ceph.ok_to_stop(state.osds)
    except ToolError as exc:
        raise stop(state, "ceph osd ok-to-stop", exc) from None


def _do(state: InPlace, step: str, change: Callable[[], None]) -> None:
    try:
        change()
    except ToolError as exc:
        raise stop(state, step, exc) from None


def _pg_detail() -> str:
    try:
        status = ceph.status()
    except ToolError:
        return ""
    return f"; PGs now: {status.unclean_pgs or 'clean'}"


def _ids(osds: tuple[int, ...]) -> str:
    return ", ".join(map(str, osds))
