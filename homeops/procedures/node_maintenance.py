"""Taking one node out of service and back, the Ceph-safe way, and what to say when a step fails.

Out: `ceph osd ok-to-stop` for its OSDs, `noout` for its host (Ceph must not rebalance while
the node is away), cordon, drain. Back: uncordon, wait until every PG is active+clean, clear
the flag. A failure before the node is disrupted undoes what was done; after, it leaves the
cordon and the flag in place and says so.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from homeops.procedures import waits
from homeops.errors import RunbookStopped
from homeops.cluster.model import Node
from homeops.gate import in_doubt
from homeops.procedures.osd_placement import placement
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.runner.outcome import rerun_hint
from homeops.tools import ceph, kubectl
from homeops.tools.process import ToolError
from homeops.tools.shapes import CephStatus, OkToStop, pg_state_is_clean


class _Maybe:
    """A change that was sent and whose answer never came (interrupted, timed out): it may have been made.

    True in every test of "is anything left?", so a stop names it, restore() undoes it and a re-run
    finishes it (every change here is idempotent: set, unset, cordon, uncordon).
    """

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "MAYBE"


MAYBE = _Maybe()


@dataclass
class InPlace:
    """What this runbook has set on a node so far, so that a stop can undo it or name it."""

    node: str
    osds: tuple[int, ...] = ()
    crush_hosts: tuple[str, ...] = ()  # the CRUSH hosts of its OSDs: not always the node's name
    cordoned: bool | _Maybe = False
    noout: bool | _Maybe = False
    cluster_noout: bool | _Maybe = False  # the cluster-wide flag, set when Rook let go of the host's
    notes: list[str] = field(default_factory=list)
    step: str = "take the node out of service"  # where the maintenance is now, for an interrupt's stop

    @property
    def left_anything(self) -> bool:
        return self.cordoned or self.noout or self.cluster_noout

    @property
    def hosts(self) -> str:
        return ", ".join(self.crush_hosts or (self.node,))

    def describe(self) -> str:
        left = []
        if self.cordoned:
            left.append(f"{self.node} may be cordoned" if self.cordoned is MAYBE else f"{self.node} cordoned")
        if self.noout:
            left.append(f"noout for host {self.hosts} may be set" if self.noout is MAYBE
                        else f"noout set for host {self.hosts}")
        if self.cluster_noout:
            left.append("the cluster-wide noout may be set" if self.cluster_noout is MAYBE
                        else "noout set for the whole cluster")
        return "left in place: " + (", ".join(left) if left else "nothing")


def stop(state: InPlace, step: str, reason: object) -> RunbookStopped:
    notes = "".join(f"; {n}" for n in state.notes)
    resume = f"; {rerun_hint()} to finish {state.node}" if state.left_anything else ""
    return RunbookStopped(f"{state.node}: stopped at step '{step}': {reason}{notes}{resume}; {state.describe()}")


INTERRUPTED = "interrupted (Ctrl-C, Kernel > Interrupt or a signal)"


@contextmanager
def interruptible(state: InPlace) -> Iterator[None]:
    """An interrupt in the middle of a node's maintenance is a stop that names the node, the step
    and what is left in place, not a traceback; nothing is undone (the operator wants it to stop).

    An interrupt while a change ran comes from the gate as a stop that says what may have changed
    (`in_doubt`): `_changing` has marked it MAYBE in `state`, and the stop names the command."""
    try:
        yield
    except KeyboardInterrupt:
        raise stop(state, state.step, INTERRUPTED) from None
    except RunbookStopped as exc:
        if not getattr(exc, "in_doubt", None):
            raise
        raise stop(state, state.step, f"{INTERRUPTED} before `{exc.command}` answered") from None


def _changing(state: InPlace, flag: str, done: bool, change: Callable[[], None]) -> None:
    """Run `change` and set `state.<flag>` to `done`; to MAYBE when its answer never came."""
    try:
        change()
    except BaseException as exc:
        if in_doubt(exc):
            setattr(state, flag, MAYBE)
        raise
    setattr(state, flag, done)


def take_out_of_service(session: Session, node: Node, *, purpose: str, behind: str | None = None) -> InPlace:
    """ok-to-stop, noout for the host, cordon, drain. On a failure, undo and raise RunbookStopped.

    `behind`: in a plan, the node an earlier run left out, which this plan returns to service
    first. Ceph cannot yet say what it will say once that node is back, so its "no" now is shown,
    not a stop: the apply run asks again when it gets here.
    """
    state = InPlace(node.name)
    with interruptible(state):
        _place(state)
        _take_out(session, node, state, purpose, behind)
    return state


def _take_out(session: Session, node: Node, state: InPlace, purpose: str, behind: str | None) -> None:
    gate = session.gate
    if state.osds:
        state.step = "ceph osd ok-to-stop"
        answer = _ok_to_stop(state)
        session.say(f"ceph osd ok-to-stop {' '.join(map(str, state.osds))}: {'yes' if answer.ok else 'no'}")
        if not answer.ok and behind and not session.apply:
            session.say(f"{node.name}: Ceph says no while {behind} is still out of service ({answer.reason}); "
                        f"the apply run asks again once {behind} is back")
        elif not answer.ok:
            reason = f"Ceph says stopping OSD(s) {_ids(state.osds)} is not safe: {answer.reason}"
            raise stop(state, "ceph osd ok-to-stop", reason)
    else:
        session.say(f"{node.name} holds no OSD: no Ceph flag needed")
    state.step = "set noout for the host"
    try:
        if state.osds:
            _changing(state, "noout", True, lambda: ceph.set_group(
                gate, "noout", *state.crush_hosts, why=f"keep Ceph from rebalancing while {node.name} is away"))
        state.step = "cordon"
        _changing(state, "cordoned", True,
                  lambda: kubectl.cordon(gate, node.name, why=f"no new pods on {node.name} ({purpose})"))
        state.step = "drain"
        kubectl.drain(gate, node.name, timeout=session.wait_timeout, why="move its pods elsewhere")
    except ToolError as exc:
        # Nothing is disrupted yet: the node still runs, so give it back rather than leave it half out.
        step = state.step
        restore(session, state)
        raise stop(state, step, exc) from None


def restore(session: Session, state: InPlace) -> None:
    """Undo cordon and flag on a node that was not disrupted; what cannot be undone stays named in `state`."""
    if state.cordoned:
        try:
            _changing(state, "cordoned", False, lambda: kubectl.uncordon(
                session.gate, state.node, why="the node was not disrupted: give it back"))
            state.notes.append(f"undone: {state.node} uncordoned")
        except ToolError as exc:
            state.notes.append(f"uncordon failed too: {exc}")
    if state.noout:
        try:
            _changing(state, "noout", False, lambda: ceph.unset_group(
                session.gate, "noout", *state.crush_hosts, why="the node was not disrupted"))
            state.notes.append(f"undone: noout cleared for host {state.hosts}")
        except ToolError as exc:
            state.notes.append(f"clearing noout failed too: {exc}")


def return_to_service(session: Session, node: Node, state: InPlace) -> None:
    """Uncordon, wait until every PG is active+clean, clear the flag."""
    with interruptible(state):
        _return(session, node, state)


def _return(session: Session, node: Node, state: InPlace) -> None:
    gate = session.gate
    _do(state, "uncordon", "cordoned", lambda: kubectl.uncordon(gate, node.name, why="the node is back"))
    # Also for a node without OSDs: its reboot can still take a Ceph monitor or manager away and
    # leave PGs peering, and the next node must not go down before Ceph is whole again.
    what = "every Ceph PG active+clean"
    state.step = "wait for PGs active+clean"
    if not session.apply:
        gate.would_wait(what, session.wait_timeout)
    else:
        session.say(f"waiting for {what} (up to {session.wait_timeout:g}s)")
        def clean() -> bool | str:
            keep_protected(session, state)
            return pgs_seen(ceph.status())

        try:
            wait_until(clean, session.wait_timeout, session.poll_interval, what, progress=waits.progress(session, what))
        except WaitTimedOut as exc:
            raise stop(state, "wait for PGs active+clean", f"{exc}{_pg_detail()}") from None
    if state.noout:
        _do(state, "clear noout for the host", "noout",
            lambda: ceph.unset_group(gate, "noout", *state.crush_hosts, why="Ceph is clean again"))
    if state.cluster_noout:
        _do(state, "clear the cluster-wide noout", "cluster_noout",
            lambda: ceph.unset_flag(gate, "noout", why=f"{node.name} is back and Ceph is clean again"))


# Rook's disruption controller (managePodBudgets, the chart's default) holds noout on a draining
# host for osdMaintenanceTimeout (30 min) only, then clears it at every reconcile, ours included;
# 10 min later Ceph marks the OSDs out and moves their data. The cluster-wide flag is not Rook's.
ROOK_LET_GO = ("Rook's disruption controller cleared noout on host {hosts} while its OSDs are down "
               "(its osdMaintenanceTimeout passed)")


def keep_protected(session: Session, state: InPlace) -> None:
    """While the node is away: if no noout covers its down OSDs any more, set the cluster-wide flag.

    Called at every look of the waits of a maintenance, so a maintenance that outlives Rook's
    timeout stays protected (and says so) instead of losing noout in silence.
    """
    if not state.osds or state.cluster_noout or not session.apply:
        return
    dump, tree = ceph.osd_dump(), ceph.osd_tree()
    on_host = any("noout" in dump.host_flags.get(h, ()) for h in state.crush_hosts)
    if on_host or "noout" in dump.flags or not set(state.osds) & set(tree.down_osds):
        return
    state.noout = False  # gone: Rook cleared it
    session.say("warning: " + ROOK_LET_GO.format(hosts=state.hosts)
                + "; setting the cluster-wide noout until the node is back")
    _changing(state, "cluster_noout", True,
              lambda: ceph.set_flag(session.gate, "noout", why=f"keep Ceph from marking {state.node}'s OSDs out"))


def protect_beyond_rook(session: Session, state: InPlace) -> None:
    """For a maintenance no runbook watches (ceph-maintenance enter): the cluster-wide noout at once."""
    if not state.osds:
        return
    try:
        _changing(state, "cluster_noout", True, lambda: ceph.set_flag(
            session.gate, "noout",
            why="Rook clears the host's noout after osdMaintenanceTimeout (30 min); this one stays until the exit"))
    except ToolError as exc:
        raise stop(state, "set the cluster-wide noout", exc) from None


def current_state(node: Node, *, cordoned: bool = True) -> InPlace:
    """The state of a node a previous run took out of service (ceph-maintenance exit, a resumed upgrade)."""
    state = InPlace(node.name, cordoned=cordoned)
    _place(state)
    try:
        dump = ceph.osd_dump()
    except ToolError as exc:
        raise stop(state, "read the Ceph flags", exc) from None
    flags = dump.host_flags
    state.noout = any("noout" in flags.get(host, frozenset()) for host in state.crush_hosts)
    state.cluster_noout = "noout" in dump.flags
    return state


def _place(state: InPlace) -> None:
    """The node's OSDs and their CRUSH hosts, the way Rook places them (osd_placement)."""
    try:
        found = placement(state.node)
    except ToolError as exc:
        raise stop(state, "read the OSDs of the host", exc) from None
    state.osds, state.crush_hosts = found.osds, found.crush_hosts


def _ok_to_stop(state: InPlace) -> OkToStop:
    try:
        return ceph.ok_to_stop(state.osds)
    except ToolError as exc:
        raise stop(state, "ceph osd ok-to-stop", exc) from None


def _do(state: InPlace, step: str, flag: str, change: Callable[[], None]) -> None:
    """One change of the return, clearing `state.<flag>`: a failure is a stop at `step`, and so is an
    interrupt during it."""
    state.step = step
    try:
        _changing(state, flag, False, change)
    except ToolError as exc:
        raise stop(state, step, exc) from None


def pgs_seen(status: CephStatus) -> bool | str:
    """True when every PG is clean; otherwise what a look saw: how many PGs are not clean (of all),
    their states, and the OSDs down, so a wait shows Ceph recovering (137 -> 40 -> clean)."""
    if status.pgs_clean:
        return True
    unclean = sum(count for state, count in status.pgs_by_state if count and not pg_state_is_clean(state))
    counted = sum(count for _, count in status.pgs_by_state)
    seen = f"{unclean} of {status.num_pgs} PGs not active+clean"
    if status.unclean_pgs:
        seen += f" ({status.unclean_pgs})"
    if counted != status.num_pgs:
        seen += f", {status.num_pgs - counted} not reported"
    down = status.num_osds - status.num_up_osds
    return seen + (f", {down} of {status.num_osds} OSDs down" if down else "")


def _pg_detail() -> str:
    try:
        status = ceph.status()
    except ToolError:
        return ""
    return f"; PGs now: {status.unclean_pgs or 'clean'}"


def _ids(osds: tuple[int, ...]) -> str:
    return ", ".join(map(str, osds))
