"""Removing one Ceph OSD the way Rook's "Ceph OSD Management" does, step by step, resumable.

Operator to 0 (so it does not start the OSD again), the OSD's Deployment to 0, `ceph osd out`,
wait until `ceph osd safe-to-destroy` says yes (unless the operator accepted a degraded pool:
then Ceph cannot re-replicate and the wait would never end), `ceph osd purge
--yes-i-really-mean-it`, delete the Deployment. Every step looks first and skips what is done, so
a re-run resumes; a stop names what is left in place (operator at 0, the OSD out...). osd-replace
and node-remove both use it; the operator comes back in `operator_back`, once the caller is done.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from homeops.errors import RunbookStopped
from homeops.gate import in_doubt
from homeops.procedures import waits
from homeops.procedures.node_maintenance import INTERRUPTED, MAYBE
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.runner.outcome import rerun_hint
from homeops.tools import ceph, ceph_osds, deployments
from homeops.tools.process import ToolError

NAMESPACE = "rook-ceph"
OPERATOR = "rook-ceph-operator"


def osd_deployment(osd: int) -> str:
    return f"rook-ceph-osd-{osd}"


@dataclass
class Removal:
    """What the removal has done so far: what a stop names and a re-run finds again."""

    osds: tuple[int, ...]
    operator_replicas: int = 1  # what the operator had before: what it gets back
    operator_stopped: bool | object = False
    stopped: set = field(default_factory=set)  # OSDs whose Deployment is at 0
    out: set = field(default_factory=set)
    purged: set = field(default_factory=set)
    deployment_gone: set = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    step: str = "read the OSDs"
    subject: str = ""  # whose removal: "osd.3", "worker-4"

    def left(self) -> list[str]:
        found = []
        if self.operator_stopped:
            found.append("the Rook operator at 0 replicas" + (" (maybe)" if self.operator_stopped is MAYBE else ""))
        for osd in self.osds:
            if osd in self.purged:
                if osd not in self.deployment_gone:
                    found.append(f"osd.{osd} purged, its Deployment {osd_deployment(osd)} still there")
                continue
            if osd in self.out:
                found.append(f"osd.{osd} marked out")
            if osd in self.stopped:
                found.append(f"{osd_deployment(osd)} at 0 replicas")
        return found

    def describe(self) -> str:
        return "left in place: " + (", ".join(self.left()) or "nothing")


def stop(state: Removal, step: str, reason: object) -> RunbookStopped:
    notes = "".join(f"; {n}" for n in state.notes)
    again = f"; {rerun_hint()} to finish the removal" if state.left() else ""
    return RunbookStopped(f"{state.subject}: stopped at step '{step}': {reason}{notes}{again}; {state.describe()}")


@contextmanager
def guarded(state: Removal) -> Iterator[None]:
    """A failed tool, an interrupt or a change left in doubt stops naming the step and what is left."""
    try:
        yield
    except KeyboardInterrupt:
        raise stop(state, state.step, INTERRUPTED) from None
    except RunbookStopped as exc:
        if not getattr(exc, "in_doubt", None):
            raise
        raise stop(state, state.step, f"{INTERRUPTED} before `{exc.command}` answered") from None
    except ToolError as exc:
        raise stop(state, state.step, exc) from None


def _changed(mark: Callable[[object], None], change: Callable[[], None]) -> None:
    try:
        change()
    except BaseException as exc:
        if in_doubt(exc):
            mark(MAYBE)
        raise
    mark(True)


def read(session: Session, osds: tuple[int, ...], subject: str) -> Removal:
    """Where an earlier run left these OSDs: the operator's replicas, each OSD's Deployment, in or out."""
    state = Removal(tuple(osds), subject=subject)
    with guarded(state):
        replicas = deployments.replicas(NAMESPACE, OPERATOR)
        if replicas is None:
            raise stop(state, "read the Rook operator", f"no Deployment {NAMESPACE}/{OPERATOR}; nothing changed")
        state.operator_stopped = replicas == 0
        state.operator_replicas = replicas or 1
        dump = ceph_osds.json_object_of(["osd", "dump"])
        present = {o.get("osd"): o for o in dump.get("osds") or []}
        for osd in osds:
            if osd not in present:
                state.purged.add(osd)
            elif not present[osd].get("in", 1):
                state.out.add(osd)
            if deployments.replicas(NAMESPACE, osd_deployment(osd)) is None:
                state.deployment_gone.add(osd)
            elif deployments.replicas(NAMESPACE, osd_deployment(osd)) == 0:
                state.stopped.add(osd)
    return state


def remove(session: Session, state: Removal, *, degraded_accepted: bool) -> None:
    """Operator to 0, each OSD's Deployment to 0, out, safe-to-destroy (unless degraded is accepted),
    purge, delete the Deployment. The operator stays at 0: `operator_back` ends it."""
    gate = session.gate
    with guarded(state):
        state.step = "scale the Rook operator to 0"
        if not state.operator_stopped:
            _changed(lambda v: setattr(state, "operator_stopped", v), lambda: deployments.scale(
                gate, NAMESPACE, OPERATOR, 0, why="Rook must not start the OSD again while it is removed"))
        for osd in state.osds:
            if osd in state.purged:
                continue
            state.step = f"scale {osd_deployment(osd)} to 0"
            if osd not in state.stopped and osd not in state.deployment_gone:
                _changed(lambda v, o=osd: state.stopped.add(o), lambda o=osd: deployments.scale(
                    gate, NAMESPACE, osd_deployment(o), 0, why=f"stop osd.{o}"))
            state.step = f"ceph osd out {osd}"
            if osd not in state.out:
                _changed(lambda v, o=osd: state.out.add(o), lambda o=osd: ceph_osds.out(
                    gate, o, why=f"let Ceph copy osd.{o}'s data elsewhere"))
        _wait_safe(session, state, degraded_accepted)
        for osd in state.osds:
            if osd not in state.purged:
                state.step = f"ceph osd purge {osd}"
                _changed(lambda v, o=osd: state.purged.add(o), lambda o=osd: ceph_osds.purge(
                    gate, o, why=f"remove osd.{o} from the CRUSH map, the OSD map and auth"))
            if osd not in state.deployment_gone:
                state.step = f"delete {osd_deployment(osd)}"
                _changed(lambda v, o=osd: state.deployment_gone.add(o), lambda o=osd: deployments.delete(
                    gate, NAMESPACE, osd_deployment(o), why=f"osd.{o} is gone"))


def _wait_safe(session: Session, state: Removal, degraded_accepted: bool) -> None:
    waiting = [o for o in state.osds if o not in state.purged]
    if not waiting:
        return
    names = ", ".join(f"osd.{o}" for o in waiting)
    if degraded_accepted:
        state.notes.append("degraded pools accepted: purged without waiting for safe-to-destroy")
        session.say(f"not waiting for safe-to-destroy of {names}: Ceph cannot re-replicate their copies "
                    "and the operator accepted degraded pools (accept_degraded)")
        return
    what = f"ceph osd safe-to-destroy {' '.join(map(str, waiting))}"
    state.step = f"wait until {what}"
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
        return
    session.say(f"waiting until {what} (up to {session.wait_timeout:g}s)")

    seen: list[str] = []

    def safe() -> bool | str:
        answers = [ceph_osds.safe_to_destroy(o) for o in waiting]
        unsafe = [a.why for a in answers if not a.safe]
        if not unsafe:
            return True
        status = ceph.status()
        seen[:] = ["; ".join(unsafe) + (f" ({status.unclean_pgs})" if status.unclean_pgs else "")]
        return seen[0]

    try:
        wait_until(safe, session.wait_timeout, session.poll_interval, what, progress=waits.progress(session, what))
    except WaitTimedOut as exc:
        raise stop(state, state.step, f"{exc}; last seen: {seen[0]}" if seen else exc) from None


def operator_back(session: Session, state: Removal) -> None:
    with guarded(state):
        state.step = "scale the Rook operator back"
        if state.operator_stopped:
            _changed(lambda v: setattr(state, "operator_stopped", v is MAYBE and MAYBE),
                     lambda: deployments.scale(session.gate, NAMESPACE, OPERATOR, state.operator_replicas,
                                               why="Rook manages the OSDs again"))


def undo(session: Session, state: Removal) -> None:
    """Give the OSDs back before their purge: `ceph osd in`, each Deployment back to 1, the operator back.

    A purged OSD cannot come back: that stops, naming it, and nothing else is undone."""
    gone = sorted(state.purged)
    if gone:
        raise stop(state, "undo", f"{', '.join(f'osd.{o}' for o in gone)} already purged: it cannot come back; "
                                  "run without undo to finish the replacement")
    gate = session.gate
    with guarded(state):
        for osd in state.osds:
            state.step = f"ceph osd in {osd}"
            if osd in state.out:
                _changed(lambda v, o=osd: state.out.discard(o), lambda o=osd: ceph_osds.mark_in(
                    gate, o, why=f"osd.{o} stays: undo"))
            state.step = f"scale {osd_deployment(osd)} to 1"
            if osd in state.stopped:
                _changed(lambda v, o=osd: state.stopped.discard(o), lambda o=osd: deployments.scale(
                    gate, NAMESPACE, osd_deployment(o), 1, why=f"start osd.{o} again"))
    operator_back(session, state)
