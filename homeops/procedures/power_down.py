"""cluster-shutdown: the whole cluster off in an order it comes back from (a UPS on battery, a power cut
on the way, a move).

The order, and why:
1. Preflight: what is degraded is said and recorded, never a refusal: the power goes whatever the
   cluster's health, and a degraded cluster is better shut down cleanly than by the battery.
2. Flux suspended (flux_suspension), so nothing puts back what the next steps take down.
3. Ceph's `noout`, `norebalance` and `nobackfill`: OSDs that go down are not marked out, and no
   data moves while hosts come and go (Rook's cluster maintenance guide, rook PR #15455; without
   them a full restart can leave Ceph rebalancing and its mons crash-looping, rook#1697).
4. The Rook operator to 0 replicas: it must not restart or reconfigure Ceph daemons while their
   nodes go down (and its disruption controller must not set or clear flags of its own).
5. The workers, all in one `talosctl shutdown --force` call, then confirmed off (their Talos API
   no longer answers). --force: Talos's own cordon and drain would evict pods onto nodes that go
   down next, and each drain waits out Talos's 5-minute drain timeout on Rook's OSD budget.
6. The maintenance Lease released, while the API still answers: once a control plane is off a
   2-member etcd has no quorum, the API is gone, and a Lease left behind would refuse the
   startup until it expires. From here on this run holds no lock.
7. Both control planes, one call each through its own address as endpoint (a control plane
   going down must not be the endpoint of the call to the other), then confirmed off.

What was changed is printed into the record after every change (power_state), so a stop at any
step leaves what cluster-startup needs to undo it.
"""

from __future__ import annotations

from functools import partial

from homeops.errors import RunbookStopped
from homeops.procedures import flux_suspension, waits
from homeops.procedures.checks import CheckResult, at_once, guarded, print_table
from homeops.procedures.power_state import PowerDown, few, last_shutdown, records_directory
from homeops.procedures.preflight import ceph_health, etcd, flux_ready, nodes_ready
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.runner.display import folded_html, show
from homeops.tools import ceph, kubectl, rook_operator, talos_power
from homeops.tools.process import ToolError

FLAGS = ("noout", "norebalance", "nobackfill")


def preflight(session: Session) -> list[CheckResult]:
    """The cluster's health before it goes down: printed and recorded, never a refusal."""
    cluster = session.cluster
    nodes, etcd_results, ceph_results, flux_results = at_once(
        partial(guarded, "nodes Ready", lambda: [nodes_ready(kubectl.nodes())]),
        partial(etcd, cluster), ceph_health, flux_ready)
    # A 2-member etcd tolerates no member down: always true of this cluster, not news before a shutdown.
    etcd_results = [r for r in etcd_results if r.check != "etcd fault tolerance"]
    results = nodes + etcd_results + ceph_results + flux_results
    print_table(results)
    degraded = [f"{r.check}: {r.detail}" for r in results if r.status != "ok"]
    session.say("degraded before shutdown (recorded; the shutdown goes on): " + "; ".join(degraded)
                if degraded else "healthy before shutdown: every check passed")
    return results


def start_state(session: Session) -> PowerDown:
    """This run's block, carrying over what an earlier cluster-shutdown left that no startup has undone:
    what it suspended stays ours to resume, even though it reads "suspended already" now."""
    guard = session.guard
    twin = bool(guard.status.twin) if guard is not None else False
    earlier = last_shutdown(records_directory(session), twin=twin,
                            besides=guard.record_path if guard is not None else None)
    if earlier is None:
        return PowerDown()
    session.say(f"an earlier cluster-shutdown was not undone by a cluster-startup: {earlier.describe()}; "
                "what it suspended and set stays this run's to undo")
    before = earlier.state
    return PowerDown(suspended=list(before.suspended), already_suspended=list(before.already_suspended),
                     flags_set=list(before.flags_set), flags_before=list(before.flags_before),
                     operator_replicas=before.operator_replicas)


class PowerDownRun:
    """One run of the shutdown: the steps in order, each saying what it left when it stops."""

    def __init__(self, session: Session, state: PowerDown):
        self.session = session
        self.state = state

    _changed = True

    def saved(self) -> None:
        """Note a change; the block is printed (and so recorded) at the end of the step that made it,
        stop or not (`flush`)."""
        self._changed = True

    def flush(self, always: bool = False) -> None:
        if self.session.apply and (self._changed or always):
            # JupyterLab shows it folded to one line (the whole block after every step was a wall of JSON
            # between the steps' own lines); the terminal and the record keep the line as it is.
            show(self.state.line(), folded_html(self.state.summary(), self.state.line()))
        self._changed = False

    def left(self) -> str:
        state, parts = self.state, []
        if state.suspended:
            parts.append("Flux suspended: " + few(state.suspended, "this run's record (its cluster-shutdown state)"))
        if state.flags_set:
            parts.append(f"Ceph flags set: {', '.join(state.flags_set)}")
        if state.operator_replicas is not None:
            parts.append(f"the Rook operator at 0 replicas (was {state.operator_replicas})")
        if state.shut_down:
            parts.append(f"shutdown sent to {', '.join(state.shut_down)}")
        if not parts:
            return "nothing changed"
        return ("left in place: " + "; ".join(parts)
                + "; run cluster-shutdown again to finish, or cluster-startup to undo it (both read this record)")

    def stop(self, where: str, why: str) -> RunbookStopped:
        return RunbookStopped(f"cluster-shutdown: stopped at step '{where}': {why}; {self.left()}")

    def step(self, where: str, action) -> str:
        """Run one step; a tool that fails, a refusal or an interrupt stops the run naming what is left."""
        try:
            return action()
        except KeyboardInterrupt:
            raise self.stop(where, "interrupted (Ctrl-C, Kernel > Interrupt or a signal)") from None
        except RunbookStopped as exc:
            if str(exc).startswith("cluster-shutdown: stopped"):
                raise
            raise self.stop(where, str(exc)) from None
        except ToolError as exc:
            raise self.stop(where, str(exc)) from None
        finally:
            self.flush()

    # -- the steps --------------------------------------------------------------------------
    def suspend_flux(self) -> str:
        try:
            return flux_suspension.suspend_all(self.session, self.state, self.saved)
        except RunbookStopped as exc:
            raise self.stop("suspend Flux", str(exc)) from None

    def set_flags(self) -> str:
        try:
            present = ceph.osd_dump().maintenance_flags
        except ToolError as exc:
            raise self.stop("set Ceph flags", f"cannot read the OSD map: {exc}") from None
        for flag in FLAGS:
            if flag in present and flag not in self.state.flags_set:
                if flag not in self.state.flags_before:
                    self.state.flags_before.append(flag)
                continue
            if flag in present:
                continue
            try:
                ceph.set_flag(self.session.gate, flag, why="no OSD is marked out and no data moves while hosts are off")
            except (ToolError, KeyboardInterrupt) as exc:
                raise self.stop("set Ceph flags", _why(exc, f"{flag} may be set")) from None
            if self.session.apply:
                self.state.flags_set.append(flag)
                self.saved()
        before = f" ({', '.join(self.state.flags_before)} already set before, left so)" if self.state.flags_before else ""
        return f"Ceph: {', '.join(FLAGS)} {'set' if self.session.apply else 'would be set'}{before}"

    def stop_operator(self) -> str:
        try:
            now = rook_operator.replicas()
        except ToolError as exc:
            raise self.stop("scale the Rook operator to 0", f"cannot read its Deployment: {exc}") from None
        if self.state.operator_replicas is None or now.wanted > 0:
            self.state.operator_replicas = now.wanted
        if now.wanted == 0:
            return f"Rook operator: already at 0 replicas (startup brings back {self.state.operator_replicas})"
        try:
            rook_operator.scale(self.session.gate, 0, why="nothing may restart Ceph's daemons while their nodes go down")
        except (ToolError, KeyboardInterrupt) as exc:
            raise self.stop("scale the Rook operator to 0", _why(exc, "the operator may be at 0")) from None
        self.saved()
        return f"Rook operator: {'scaled' if self.session.apply else 'would be scaled'} from {now.wanted} to 0"

    def shut_down(self, role: str) -> str:
        nodes = self.session.cluster.workers if role == "worker" else self.session.cluster.control_planes
        if not nodes:
            return f"no {role} node"
        # A node already off (the power cut reached it first, a machine that died) would only fail the
        # whole call: it is said and left out.
        # Each probe of a node that is off may take seconds: the look says what it still asks meanwhile.
        report = waits.progress(self.session, f"an answer from each {role}'s Talos API (any already off is left out)")
        answers = {n.name: talos_power.answers(
            str(n.address), waiting=waits.looking(report, f"asking {n.name}'s Talos API")) for n in nodes}
        gone = [n for n in nodes if answers[n.name] is not True]
        for node in gone:
            self.session.say(f"{node.name} is already off (its Talos API does not answer: {answers[node.name]})")
        on = [n for n in nodes if answers[n.name] is True]
        calls = ([[str(n.address) for n in on]] if role == "worker" and on
                 else [[str(n.address)] for n in on])
        for addresses in calls:
            endpoint = addresses[0] if role == "control-plane" else None
            names = [n.name for n in nodes if str(n.address) in addresses]
            try:
                talos_power.shutdown(self.session.gate, addresses, timeout=self.session.wait_timeout,
                                     endpoint=endpoint, why=_why_order(role))
            except (ToolError, KeyboardInterrupt) as exc:
                self.state.shut_down += [n for n in names if n not in self.state.shut_down]
                self.saved()
                raise self.stop(f"shut down the {role}s", _why(exc, f"{', '.join(names)} may be going down")) \
                    from None
            self.state.shut_down += [n for n in names if n not in self.state.shut_down]
            self.saved()
        return self.confirm_off(nodes, role)

    def confirm_off(self, nodes, role: str) -> str:
        what = f"the {role}s off ({', '.join(n.name for n in nodes)})"
        if not self.session.apply:
            self.session.gate.would_wait(what, self.session.wait_timeout)
            return f"{what}: planned"

        on: list[str] = []
        report = waits.progress(self.session, what)

        def all_off() -> bool | str:
            on[:] = [n.name for n in nodes if talos_power.answers(
                str(n.address), waiting=waits.looking(report, f"asking {n.name}'s Talos API")) is True]
            return True if not on else f"still answering: {', '.join(on)}"

        try:
            wait_until(all_off, self.session.wait_timeout, self.session.poll_interval, what, progress=report)
        except WaitTimedOut as exc:
            raise self.stop(f"confirm the {role}s are off", f"{exc}; still answering: {', '.join(on)}") from None
        return f"{what}: their Talos API no longer answers"

    def release_lock(self) -> str:
        """Before the control planes: the Lease cannot be deleted once the API is gone."""
        why = ("the API goes away with the first control plane (a 2-member etcd loses quorum); "
               "a Lease left behind would refuse cluster-startup until it expires")
        if not self.session.apply or self.session.guard is None:
            self.session.gate.would("release the maintenance lock before the control planes go down", why)
            return "the maintenance lock would be released before the control planes go down"
        warning = self.session.guard.release_lock()
        self.state.lock = "released before the control planes went down" + (f" ({warning})" if warning else "")
        self.saved()
        self.session.say(f"maintenance lock released: {why}; this run holds no lock from here on"
                         + (f" ({warning})" if warning else ""))
        return "maintenance lock released"


def _why(error: BaseException, unsure: str) -> str:
    if isinstance(error, KeyboardInterrupt):
        return f"interrupted (Ctrl-C, Kernel > Interrupt or a signal); {unsure}"
    return str(error)


def _why_order(role: str) -> str:
    if role == "worker":
        return "the workers first, all at once (--force: no drain, their pods have nowhere to go)"
    return "each control plane through itself as endpoint; etcd and the API stop with the first"
