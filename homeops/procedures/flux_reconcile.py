"""Reconciling Flux now, and waiting until every Kustomization and HelmRelease is Ready."""

from __future__ import annotations

from homeops.procedures import waits
from homeops.errors import RunbookStopped
from homeops.procedures.preflight import flux_objects
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import flux
from homeops.tools.process import ToolError
from homeops.tools.shapes import FluxObject


def describe(objects: list[FluxObject]) -> str:
    return "; ".join(o.problem or str(o) for o in objects)


def not_ready() -> list[FluxObject]:
    return [o for o in flux_objects() if not o.is_ready]


def reconcile(session: Session) -> str:
    try:
        flux.reconcile(session.gate, timeout=session.wait_timeout,
                       why="fetch the Git source and apply flux-system now instead of at the next interval")
    except ToolError as exc:
        pending = _not_ready_or_error()
        raise RunbookStopped(f"Flux: stopped at step 'flux reconcile': {exc}; not Ready: {pending}") from None
    what = "every Kustomization and HelmRelease Ready"
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
        try:
            pending = describe(not_ready())
        except ToolError as exc:
            # A plan that cannot see the cluster has shown nothing worth trusting: say so, as every runbook does.
            raise RunbookStopped(f"Flux: cannot read the Flux objects: {exc}; nothing changed") from None
        return "planned: reconcile flux-system" + (f"; not Ready now: {pending}" if pending else "")
    session.say(f"waiting for {what} (up to {session.wait_timeout:g}s)")
    try:
        wait_until(_all_ready, session.wait_timeout, session.poll_interval, what,
                   progress=waits.progress(session, what))
    except WaitTimedOut as exc:
        pending = _not_ready_or_error()
        raise RunbookStopped(f"Flux: stopped at step 'wait for Ready': {exc}; not Ready: {pending}") from None
    return f"reconciled: all {len(flux_objects())} Kustomizations and HelmReleases Ready"


def _all_ready() -> bool | str:
    """True, or what a look saw: the objects not Ready yet, and why."""
    pending = not_ready()
    return True if not pending else f"{len(pending)} not Ready: {describe(pending)}"


def _not_ready_or_error() -> str:
    try:
        return describe(not_ready()) or "none"
    except ToolError as exc:
        return f"cannot read the Flux objects: {exc}"


def status_table() -> str:
    """Every Flux object with its Ready condition, one a line; a read failure is shown, not raised."""
    try:
        objects = flux_objects()
    except ToolError as exc:
        return f"cannot read the Flux objects: {exc}"
    if not objects:
        return "no Kustomization or HelmRelease found"
    rows = [("object", "ready", "reason")] + [(str(o) + (" (suspended)" if o.suspended else ""), o.ready, o.reason)
                                             for o in objects]
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows)
