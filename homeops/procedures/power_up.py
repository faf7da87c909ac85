"""cluster-startup: after the power is back, the cluster brought back to how cluster-shutdown found it.

The order, and why:
1. Both control planes' Talos API: a 2-member etcd has quorum only with both members, so the API
   server cannot serve until the second one is up too (this wait says so while it waits).
2. The API, then every node Ready. Only now is the maintenance Lease taken (the run started on a
   lock of this workstation, as there was no API to hold a Lease).
3. The Rook operator back to its replicas before the shutdown.
4. Every OSD up and every PG clean (Rook's PG health rule, `tools/shapes.py`), with the flags still
   set: a flag cleared while an OSD is still down would start moving its data elsewhere.
5. The flags cluster-shutdown set cleared (only those), then HEALTH_OK.
6. Flux: exactly what cluster-shutdown suspended is resumed; what was suspended before stays so.
7. The cluster-health checks.

It reads the last cluster-shutdown record (power_state). Without one it works from what it sees:
`noout`, `norebalance` and `nobackfill` set are cleared, and suspended Flux objects are listed
but resumed only with `resume_flux` (nobody can tell a shutdown's suspension from someone's
deliberate one any more). A stop leaves the flags and Flux as they are, on purpose, and says so.
"""

from __future__ import annotations

from homeops.errors import RunbookStopped
from homeops.procedures import flux_suspension, waits
from homeops.procedures.checks import CheckResult, conclude, print_table
from homeops.procedures.power_down import FLAGS
from homeops.procedures.power_state import LastShutdown, few, key, last_shutdown, records_directory
from homeops.procedures.preflight import cluster_health, flux_objects
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import ceph, kubectl, rook_operator, talos_power
from homeops.tools.process import ToolError

DEFAULT_OPERATOR_REPLICAS = 1  # the rook-ceph chart's operator Deployment runs one replica
INTERRUPTED = "interrupted (Ctrl-C, Kernel > Interrupt or a signal)"


class PowerUpRun:
    def __init__(self, session: Session, *, resume_flux: bool = False):
        self.session = session
        self.resume_flux = resume_flux
        guard = session.guard
        twin = bool(guard.status.twin) if guard is not None else False
        self.shutdown: LastShutdown | None = last_shutdown(
            records_directory(session), twin=twin, besides=guard.record_path if guard is not None else None)
        self.flags_cleared: list[str] = []
        self.resumed: list[str] = []
        self.operator: str | None = None
        self.seen_flags: list[str] | None = None  # without a record: the shutdown's flags found set
        self.seen_suspended: list[str] | None = None

    # -- what it works from -----------------------------------------------------------------
    def source(self) -> str:
        if self.shutdown is None:
            return ("no cluster-shutdown record to undo (none, or a cluster-startup completed after it): working "
                    f"from what the cluster shows: {', '.join(FLAGS)} cleared if set; suspended Flux objects "
                    + ("resumed (resume_flux = True)" if self.resume_flux else
                       "listed and left suspended (set resume_flux = True to resume them)"))
        state = self.shutdown.state
        return (f"undoing {self.shutdown.describe()}: Flux objects it suspended: {len(state.suspended)}"
                + (f" (suspended before it, left so: {', '.join(state.already_suspended)})"
                   if state.already_suspended else "")
                + f"; flags it set: {', '.join(state.flags_set) or 'none'}"
                + (f"; the Rook operator had {state.operator_replicas} replica(s)"
                   if state.operator_replicas is not None else ""))

    def flags_to_clear(self) -> list[str]:
        if self.shutdown is not None:
            return [f for f in self.shutdown.state.flags_set if f not in self.flags_cleared]
        return [f for f in (self.seen_flags or []) if f not in self.flags_cleared]

    def to_resume(self) -> list[str]:
        if self.shutdown is not None:
            return [n for n in self.shutdown.state.suspended if n not in self.resumed]
        if self.resume_flux:
            return [n for n in (self.seen_suspended or []) if n not in self.resumed]
        return []

    def left(self) -> str:
        parts = []
        flags = self.flags_to_clear()
        if flags:
            parts.append(f"Ceph flags still set: {', '.join(flags)} (on purpose: cleared only once every OSD "
                         "is up and PGs are clean, so no data moves meanwhile)")
        flux_left = self.to_resume()
        if flux_left:
            listed = (few(flux_left, f"the record {self.shutdown.path.name}") if self.shutdown is not None
                      else ", ".join(flux_left))
            parts.append(f"Flux still suspended: {listed} (on purpose: resumed only once Ceph is "
                         "healthy)")
        if self.operator:
            parts.append(self.operator)
        if self.flags_cleared:
            parts.append(f"cleared: {', '.join(self.flags_cleared)}")
        if self.resumed:
            parts.append(f"resumed: {', '.join(self.resumed)}")
        return ("left in place: " + "; ".join(parts) + "; run cluster-startup again once the cause is fixed"
                if parts else "nothing changed")

    def stop(self, where: str, why: str) -> RunbookStopped:
        return RunbookStopped(f"cluster-startup: stopped at step '{where}': {why}; {self.left()}")

    def step(self, where: str, action) -> str:
        try:
            return action()
        except KeyboardInterrupt:
            raise self.stop(where, INTERRUPTED) from None
        except RunbookStopped as exc:
            if str(exc).startswith("cluster-startup: stopped"):
                raise
            raise self.stop(where, str(exc)) from None
        except ToolError as exc:
            raise self.stop(where, str(exc)) from None

    def _wait(self, where: str, what: str, predicate, report=None) -> None:
        last: list[str] = []

        def look() -> bool | str:
            answer = predicate()
            if isinstance(answer, str):
                last[:] = [answer]
            return answer

        try:
            wait_until(look, self.session.wait_timeout, self.session.poll_interval, what,
                       progress=report or waits.progress(self.session, what))
        except WaitTimedOut as exc:
            raise self.stop(where, str(exc) + (f"; last seen: {last[0]}" if last else "")) from None

    # -- the steps --------------------------------------------------------------------------
    def control_planes(self) -> str:
        planes = self.session.cluster.control_planes
        what = (f"both control planes' Talos API ({', '.join(n.name for n in planes)}; a {len(planes)}-member "
                f"etcd needs all {len(planes)} for quorum: the API cannot come up before the last one)"
                if len(planes) == 2 else f"the control planes' Talos API ({', '.join(n.name for n in planes)})")

        # A plan looks once and waits for nothing: its probe says nothing while it lasts.
        report = waits.progress(self.session, what) if self.session.apply else None

        def look() -> bool | str:
            answers = {n.name: talos_power.answers(
                str(n.address), waiting=waits.looking(report, f"asking {n.name}'s Talos API") if report else None)
                for n in planes}
            down = [f"{name} ({answer})" for name, answer in answers.items() if answer is not True]
            return True if not down else f"not answering: {'; '.join(down)}"

        if not self.session.apply:
            self.session.gate.would_wait(what, self.session.wait_timeout)
            seen = look()
            return "control planes: " + ("all answer now" if seen is True else str(seen))
        self._wait("wait for the control planes", what, look, report)
        return f"control planes: {', '.join(n.name for n in planes)} answer"

    def api(self) -> str:
        what = "the Kubernetes API (etcd's quorum, then the API server behind the VIP)"
        if not self.session.apply:
            self.session.gate.would_wait(what, self.session.wait_timeout)
            return "API: planned"

        def look() -> bool:
            kubectl.nodes()
            return True

        self._wait("wait for the API", what, look)
        if self.session.guard is not None:
            self.session.guard.take_lease(self.session.say)
        return "API: answers; the maintenance lock is held from here on"

    def nodes_ready(self) -> str:
        names = [n.name for n in self.session.cluster.nodes]
        what = f"every node Ready ({', '.join(names)})"
        if not self.session.apply:
            self.session.gate.would_wait(what, self.session.wait_timeout)
            return "nodes: planned"

        def look() -> bool | str:
            seen = {n.name: n for n in kubectl.nodes()}
            pending = [f"{name} " + (f"not Ready (Ready={seen[name].ready})" if name in seen else "not registered")
                       for name in names if name not in seen or not seen[name].is_ready]
            return True if not pending else "; ".join(pending)

        self._wait("wait for every node Ready", what, look)
        return f"nodes: all {len(names)} Ready"

    def operator_back(self) -> str:
        recorded = self.shutdown.state.operator_replicas if self.shutdown is not None else None
        target = recorded if recorded is not None else DEFAULT_OPERATOR_REPLICAS
        try:
            now = rook_operator.replicas()
        except ToolError as exc:
            if not self.session.apply:
                self.session.gate.would(f"scale the Rook operator back to {target} replica(s)", "")
                return f"Rook operator: cannot read it now ({exc}); would scale it to {target}"
            raise
        if now.wanted >= target:
            return f"Rook operator: at {now.wanted} replica(s) already"
        why = ("its replicas before cluster-shutdown" if recorded is not None
               else "no record says its replicas before: the chart's one")
        rook_operator.scale(self.session.gate, target, why=why)
        self.operator = f"the Rook operator scaled back to {target}"
        return f"Rook operator: {'scaled' if self.session.apply else 'would be scaled'} from {now.wanted} to {target}"

    def ceph_up(self) -> str:
        what = "every OSD up and every PG clean (with the shutdown's flags still set)"
        if not self.session.apply:
            self.session.gate.would_wait(what, self.session.wait_timeout)
            self._note_flags()
            return "Ceph: planned"

        def look() -> bool | str:
            status = ceph.status()
            problems = []
            if status.num_up_osds < status.num_osds:
                problems.append(f"{status.num_osds - status.num_up_osds} of {status.num_osds} OSDs down")
            if not status.pgs_clean:
                problems.append(f"PGs not clean: {status.unclean_pgs or 'none counted yet'}")
            return True if not problems else "; ".join(problems)

        self._wait("wait for every OSD up and clean PGs", what, look)
        self._note_flags()
        return "Ceph: every OSD up, every PG clean"

    def _note_flags(self) -> None:
        """Without a record: the shutdown's flags that are set now are the ones to clear."""
        if self.shutdown is not None or self.seen_flags is not None:
            return
        try:
            present = ceph.osd_dump().maintenance_flags
        except ToolError as exc:
            if self.session.apply:
                raise
            self.session.say(f"cannot read Ceph's flags now: {exc}")
            self.seen_flags = []
            return
        self.seen_flags = [f for f in FLAGS if f in present]
        others = sorted(present - set(FLAGS))
        if others:
            self.session.say(f"other Ceph flags set, not cluster-shutdown's, left alone: {', '.join(others)}")

    def clear_flags(self) -> str:
        try:
            present = ceph.osd_dump().maintenance_flags
        except ToolError:
            if self.session.apply:
                raise
            present = set(self.flags_to_clear())
        for flag in self.flags_to_clear():
            if flag in present:
                ceph.unset_flag(self.session.gate, flag, why="set by cluster-shutdown; every OSD is up and PGs clean")
            if self.session.apply:
                self.flags_cleared.append(flag)
        done = self.flags_cleared if self.session.apply else self.flags_to_clear()
        verb = "cleared" if self.session.apply else "would clear"
        return f"Ceph: {verb} {', '.join(done)}" if done else "Ceph: no flag of cluster-shutdown's to clear"

    def health_ok(self) -> str:
        what = "Ceph HEALTH_OK"
        if not self.session.apply:
            self.session.gate.would_wait(what, self.session.wait_timeout)
            return "Ceph: planned"

        def look() -> bool | str:
            status = ceph.status()
            if status.health == "HEALTH_OK" and status.pgs_clean:
                return True
            checks = "; ".join(f"{c.name}: {c.message}" for c in status.checks)
            return f"{status.health}" + (f": {checks}" if checks else "")

        self._wait("wait for HEALTH_OK", what, look)
        return "Ceph: HEALTH_OK"

    def flux(self) -> str:
        if self.shutdown is None:
            try:
                suspended = flux_suspension.suspended_now()
            except ToolError as exc:
                if self.session.apply:
                    raise
                return f"Flux: cannot read it now ({exc})"
            self.seen_suspended = [key(o) for o in suspended]
            if suspended and not self.resume_flux:
                return (f"Flux: suspended now, left so: {', '.join(self.seen_suspended)}; no cluster-shutdown record "
                        "says which of them it suspended: resume them by hand, or run again with resume_flux = True "
                        "to resume every one")
        names = self.to_resume()
        if not names:
            return "Flux: nothing of cluster-shutdown's to resume"
        flux_suspension.resume(self.session, names, self.resumed)
        kept = self.shutdown.state.already_suspended if self.shutdown is not None else []
        verb = "resumed" if self.session.apply else "would resume"
        return (f"Flux: {verb} {len(names)}" + (f"; left suspended as before the shutdown: {', '.join(kept)}"
                                                if kept else ""))

    def checks(self) -> str:
        if not self.session.apply:
            return "cluster-health: runs at the end of an apply run"
        results = cluster_health(self.session.cluster, self.session.project)
        if self.shutdown is not None:
            kept, why = set(self.shutdown.state.already_suspended), "suspended before cluster-shutdown and left so: "
        else:
            kept = set() if self.resume_flux else set(self.seen_suspended or [])
            why = "suspended, left so (no cluster-shutdown record says who suspended them): "
        results = [self._flux_as_before(r, kept, why) if r.check == "Flux Ready" and r.failed else r
                   for r in results]
        print_table(results)
        return conclude(results)

    @staticmethod
    def _flux_as_before(result: CheckResult, kept: set[str], why: str) -> CheckResult:
        """Flux's check, where the only objects not Ready are those suspended before the shutdown and
        left so on purpose: a warning naming them, not a failure of the startup."""
        if not kept:
            return result
        try:
            objects = flux_objects()
        except ToolError:
            return result
        others = [o.problem or f"{o} is suspended" for o in objects
                  if (o.problem or o.suspended) and str(o) not in kept]
        if others:
            return result
        return CheckResult(result.check, "warn", why + ", ".join(sorted(kept)))
