"""Suspending Flux before the cluster goes down, and resuming exactly what was suspended after.

Why suspend at all: once the Rook operator is scaled to 0 and Ceph's flags are set, Flux must not
put anything back on its own (helm-controller corrects drift: it would scale the operator up again
mid-shutdown), and after the power comes back it must not start upgrading or installing charts
into a cluster whose storage is still coming up.

Kustomizations first, flux-system first (it applies every other Kustomization), then HelmReleases;
resumed in that same order. An object someone had suspended before stays suspended: it is
remembered (`PowerDown.already_suspended`) and never resumed by the startup.
"""

from __future__ import annotations

from typing import Callable

from homeops.errors import RunbookStopped
from homeops.procedures.power_state import PowerDown, key
from homeops.procedures.preflight import flux_objects
from homeops.procedures.session import Session
from homeops.tools import flux
from homeops.tools.process import ToolError
from homeops.tools.shapes import FluxObject

INTERRUPTED = "interrupted (Ctrl-C, Kernel > Interrupt or a signal)"


def in_order(objects: list[FluxObject]) -> list[FluxObject]:
    """Kustomizations (flux-system first) before HelmReleases, each in the order the API lists them."""
    rank = {"Kustomization": 0, "HelmRelease": 1}
    return sorted(objects, key=lambda o: (rank.get(o.kind, 2), not (o.kind == "Kustomization"
                                                                    and o.name == "flux-system")))


def suspend_all(session: Session, state: PowerDown, saved: Callable[[], None]) -> str:
    """Suspend every Kustomization and HelmRelease not suspended yet; `saved()` after each one, so a stop
    leaves the record naming what is suspended. Those suspended already are noted, not touched."""
    try:
        objects = in_order(flux_objects())
    except ToolError as exc:
        raise RunbookStopped(f"Flux: cannot read the Kustomizations and HelmReleases: {exc}") from None
    ours = set(state.suspended)
    for obj in objects:
        if obj.suspended and key(obj) not in ours and key(obj) not in state.already_suspended:
            state.already_suspended.append(key(obj))
    saved()
    targets = [o for o in objects if not o.suspended]
    for obj in targets:
        try:
            flux.suspend(session.gate, obj, why="nothing may reconcile while the cluster goes down")
        except KeyboardInterrupt:
            raise RunbookStopped(f"Flux: {INTERRUPTED} while suspending {obj}; {key(obj)} may be suspended") \
                from None
        except ToolError as exc:
            raise RunbookStopped(f"Flux: cannot suspend {obj}: {exc}") from None
        if session.apply:
            state.suspended.append(key(obj))
            saved()
    left = f"; already suspended before, left so: {', '.join(state.already_suspended)}" \
        if state.already_suspended else ""
    done = "suspended" if session.apply else "would suspend"
    return f"Flux: {done} {len(targets)} of {len(objects)} Kustomizations and HelmReleases{left}"


def suspended_now() -> list[FluxObject]:
    return [o for o in in_order(flux_objects()) if o.suspended]


def resume(session: Session, names: list[str], done: list[str]) -> None:
    """Resume the objects named (`Kind namespace/name`) that are still suspended, in order, appending
    each one resumed to `done`; one that is not there any more is said and skipped."""
    try:
        current = {key(o): o for o in flux_objects()}
    except ToolError as exc:
        raise RunbookStopped(f"Flux: cannot read the Kustomizations and HelmReleases: {exc}") from None
    wanted = [current[name] for name in names if name in current]
    for name in names:
        if name not in current:
            session.say(f"{name} is no longer in the cluster: nothing to resume")
    for obj in in_order(wanted):
        if not obj.suspended:
            done.append(key(obj))  # resumed by someone meanwhile, or by an earlier run
            continue
        flux.resume(session.gate, obj, timeout=session.wait_timeout,
                    why="suspended by cluster-shutdown: Flux takes it back now that the cluster is up")
        done.append(key(obj))
