"""The power runbooks' steps read whole, in process (mutation testing sees these calls): each step's
answer and each stop's full message, naming what it leaves in place; what the block records and when;
what a plan says instead of doing it."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from homeops import load_cluster
from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import flux_suspension, power_down
from homeops.procedures.checks import CheckResult
from homeops.procedures.power_state import MARKER, LastShutdown, PowerDown
from homeops.procedures.session import Session
from homeops.tools import rook_operator, talos_power
from homeops.tools.process import ToolError
from homeops.tools.shapes import OsdDump

from tests.runbooks.conftest import ROOT

INTERRUPTED = "interrupted (Ctrl-C, Kernel > Interrupt or a signal)"


class Guard:
    """What the power runbooks use of the kernel's safety layer."""

    class status:
        twin = True

    def __init__(self, record: Path, warning: str | None = None):
        self.record_path, self.warning, self.calls = record, warning, []

    def release_lock(self) -> str | None:
        self.calls.append("release_lock")
        return self.warning

    def take_lease(self, say) -> None:
        self.calls.append("take_lease")
        say("maintenance lock: the Lease, taken")


def make_session(apply: bool = True, guard: Guard | None = None) -> Session:
    return Session(load_cluster(ROOT / "cluster.yaml"), Gate(apply, out=io.StringIO()), wait_timeout=0.5,
                   poll_interval=0.01, guard=guard)




# -- cluster-shutdown --------------------------------------------------------------------------------

def reads(monkeypatch, *, nodes=None, etcd=None, ceph=None, flux=None):
    ok = CheckResult("nodes Ready", "ok", "5 Ready")
    monkeypatch.setattr(power_down.kubectl, "nodes", nodes or (lambda: []))
    monkeypatch.setattr(power_down, "nodes_ready", lambda seen: ok)
    def read_etcd(cluster):
        assert cluster.cluster.name == "home-ops" and [n.name for n in cluster.control_planes] == ["cp-1", "cp-2"]
        return etcd or [CheckResult("etcd members", "ok", "2 healthy")]

    monkeypatch.setattr(power_down, "etcd", read_etcd)
    monkeypatch.setattr(power_down, "ceph_health", lambda: ceph or [CheckResult("Ceph health", "ok", "HEALTH_OK")])
    monkeypatch.setattr(power_down, "flux_ready", lambda: flux or [CheckResult("Flux Ready", "ok", "all Ready")])


def test_a_healthy_cluster_is_said_healthy_and_etcds_fault_tolerance_is_not_news(monkeypatch, capsys):
    tolerance = CheckResult("etcd fault tolerance", "FAIL", "2 members tolerate none down")
    reads(monkeypatch, etcd=[CheckResult("etcd members", "ok", "2 healthy"), tolerance])
    session = make_session()
    results = power_down.preflight(session)
    assert [r.check for r in results] == ["nodes Ready", "etcd members", "Ceph health", "Flux Ready"]
    assert out(session) == ["healthy before shutdown: every check passed"]
    assert "etcd members" in capsys.readouterr().out  # the table is printed, into the record


def test_what_is_degraded_is_said_and_the_shutdown_goes_on(monkeypatch):
    def no_api():
        raise ToolError(["kubectl", "get", "nodes"], 1, "connection refused")

    reads(monkeypatch, nodes=no_api, ceph=[CheckResult("Ceph health", "warn", "HEALTH_WARN: noout set"),
                                           CheckResult("Ceph PGs", "ok", "all clean")])
    session = make_session()
    results = power_down.preflight(session)
    assert results[0] == CheckResult("nodes Ready", "FAIL", str(ToolError(["kubectl", "get", "nodes"], 1,
                                                                          "connection refused")))
    assert out(session) == [f"degraded before shutdown (recorded; the shutdown goes on): nodes Ready: "
                            f"{results[0].detail}; Ceph health: HEALTH_WARN: noout set"]


def test_a_fresh_shutdown_starts_from_nothing_and_reads_its_own_records(monkeypatch, tmp_path):
    asked = []
    monkeypatch.setattr(power_down, "last_shutdown", lambda *a, **k: asked.append((a, k)))
    guard = Guard(tmp_path / "20260101T000000Z-cluster-shutdown.ipynb")
    session = make_session(guard=guard)
    assert power_down.start_state(session) == PowerDown()
    assert asked == [((tmp_path,), {"twin": True, "besides": guard.record_path})]
    assert out(session) == []
    asked.clear()
    assert power_down.start_state(make_session()) == PowerDown()
    assert asked == [((None,), {"twin": False, "besides": None})]


def test_a_rerun_carries_over_what_the_earlier_shutdown_changed_but_not_what_it_shut_down(monkeypatch, tmp_path):
    before = PowerDown(suspended=["Kustomization flux-system/apps"], already_suspended=["HelmRelease a/b"],
                       flags_set=["noout"], flags_before=["nobackfill"], operator_replicas=2,
                       shut_down=["worker-1"], lock="released before the control planes went down")
    earlier = LastShutdown(tmp_path / "20260101T000000Z-cluster-shutdown.ipynb",
                           {"outcome": "stopped", "started": "2026-01-01T00:00:00Z"}, before)
    monkeypatch.setattr(power_down, "last_shutdown", lambda *a, **k: earlier)
    session = make_session()
    state = power_down.start_state(session)
    assert state == PowerDown(suspended=["Kustomization flux-system/apps"], already_suspended=["HelmRelease a/b"],
                              flags_set=["noout"], flags_before=["nobackfill"], operator_replicas=2)
    assert state.suspended is not before.suspended and state.flags_set is not before.flags_set
    assert out(session) == [f"an earlier cluster-shutdown was not undone by a cluster-startup: {earlier.describe()}; "
                            "what it suspended and set stays this run's to undo"]


def blocks(capsys) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith(MARKER)]


def test_the_block_is_printed_after_a_step_that_changed_something_and_only_then(capsys):
    run = power_down.PowerDownRun(make_session(), PowerDown(flags_set=["noout"]))
    assert run.step("first", lambda: "done") == "done"
    assert blocks(capsys) == [PowerDown(flags_set=["noout"]).line()]  # the first step records the start
    run.step("nothing", lambda: "done")
    assert blocks(capsys) == []

    def change():
        run.state.flags_set.append("norebalance")
        run.saved()
        return "set"

    run.step("change", change)
    assert blocks(capsys) == [PowerDown(flags_set=["noout", "norebalance"]).line()]
    run.flush(always=True)
    assert blocks(capsys) == [PowerDown(flags_set=["noout", "norebalance"]).line()]
    run.flush()
    assert blocks(capsys) == []


def test_a_plan_prints_no_block_even_when_asked(capsys):
    run = power_down.PowerDownRun(make_session(apply=False), PowerDown())
    run.saved()
    run.flush(always=True)
    assert blocks(capsys) == []


def test_a_stop_names_everything_left_in_place():
    state = PowerDown(suspended=["Kustomization flux-system/apps", "HelmRelease kube-system/cilium"],
                      flags_set=["noout", "norebalance"], operator_replicas=0, shut_down=["worker-1", "worker-2"])
    run = power_down.PowerDownRun(make_session(), state)
    assert str(run.stop("shut down the workers", "no answer")) == (
        "cluster-shutdown: stopped at step 'shut down the workers': no answer; left in place: Flux suspended: "
        "Kustomization flux-system/apps, HelmRelease kube-system/cilium; Ceph flags set: noout, norebalance; the Rook "
        "operator at 0 replicas (was 0); shutdown sent to worker-1, worker-2; run cluster-shutdown again to finish, or "
        "cluster-startup to undo it (both read this record)")


@pytest.mark.parametrize("raised, why", [
    (KeyboardInterrupt(), INTERRUPTED),
    (RunbookStopped("Flux: cannot read it"), "Flux: cannot read it"),
    (ToolError(["ceph"], 1, "timed out"), str(ToolError(["ceph"], 1, "timed out"))),
])
def test_a_step_that_fails_stops_naming_the_step_and_what_is_left(raised, why):
    run = power_down.PowerDownRun(make_session(), PowerDown(flags_set=["noout"]))

    def fail():
        raise raised

    assert stopped(lambda: run.step("set Ceph flags", fail)) == (
        f"cluster-shutdown: stopped at step 'set Ceph flags': {why}; left in place: Ceph flags set: noout; run "
        "cluster-shutdown again to finish, or cluster-startup to undo it (both read this record)")


def test_a_stop_already_said_by_a_step_is_not_said_twice():
    run = power_down.PowerDownRun(make_session(), PowerDown())
    inner = run.stop("inner", "why")

    def fail():
        raise inner

    assert stopped(lambda: run.step("outer", fail)) == "cluster-shutdown: stopped at step 'inner': why; nothing changed"


def test_flux_that_cannot_be_suspended_stops_the_shutdown(monkeypatch):
    def refuse(session, state, saved):
        raise RunbookStopped("Flux: cannot read the Kustomizations and HelmReleases: refused")

    monkeypatch.setattr(flux_suspension, "suspend_all", refuse)
    run = power_down.PowerDownRun(make_session(), PowerDown())
    assert stopped(run.suspend_flux) == ("cluster-shutdown: stopped at step 'suspend Flux': Flux: cannot read the "
                                         "Kustomizations and HelmReleases: refused; nothing changed")


class Ceph:
    def __init__(self, monkeypatch, flags=(), fail: BaseException | None = None, fail_on: str = ""):
        self.flags, self.calls = set(flags), []
        self.fail, self.fail_on = fail, fail_on
        monkeypatch.setattr(power_down.ceph, "osd_dump", self.dump)
        monkeypatch.setattr(power_down.ceph, "set_flag", self.set_flag)

    def dump(self):
        if self.fail is not None and self.fail_on == "dump":
            raise self.fail
        return OsdDump(frozenset(self.flags | {"sortbitwise"}), {})

    def set_flag(self, gate, flag, why=""):
        if self.fail is not None and self.fail_on == flag:
            raise self.fail
        self.calls.append((flag, why))


def test_the_flags_are_set_in_order_saying_why(monkeypatch):
    ceph = Ceph(monkeypatch)
    run = power_down.PowerDownRun(make_session(), PowerDown())
    assert run.set_flags() == "Ceph: noout, norebalance, nobackfill set"
    why = "no OSD is marked out and no data moves while hosts are off"
    assert ceph.calls == [("noout", why), ("norebalance", why), ("nobackfill", why)]
    assert run.state.flags_set == ["noout", "norebalance", "nobackfill"] and run.state.flags_before == []


def test_a_plan_says_the_flags_would_be_set_and_records_none(monkeypatch):
    Ceph(monkeypatch, flags={"norebalance"})
    run = power_down.PowerDownRun(make_session(apply=False), PowerDown())
    assert run.set_flags() == "Ceph: noout, norebalance, nobackfill would be set (norebalance already set before, left so)"
    assert run.state.flags_set == [] and run.state.flags_before == ["norebalance"]
    Ceph(monkeypatch, flags={"noout", "nobackfill"})
    both = power_down.PowerDownRun(make_session(apply=False), PowerDown())
    assert both.set_flags() == ("Ceph: noout, norebalance, nobackfill would be set (noout, nobackfill already set "
                                "before, left so)")


def test_a_flag_set_before_is_remembered_once(monkeypatch):
    Ceph(monkeypatch, flags={"noout"})
    run = power_down.PowerDownRun(make_session(), PowerDown(flags_before=["noout"]))
    run.set_flags()
    assert run.state.flags_before == ["noout"] and run.state.flags_set == ["norebalance", "nobackfill"]


@pytest.mark.parametrize("fail, fail_on, why", [
    (ToolError(["ceph"], 1, "down"), "dump", f"cannot read the OSD map: {ToolError(['ceph'], 1, 'down')}"),
    (ToolError(["ceph"], 1, "down"), "norebalance", str(ToolError(["ceph"], 1, "down"))),
    (KeyboardInterrupt(), "norebalance", f"{INTERRUPTED}; norebalance may be set"),
])
def test_flags_that_cannot_be_set_stop_naming_those_set(monkeypatch, fail, fail_on, why):
    Ceph(monkeypatch, fail=fail, fail_on=fail_on)
    run = power_down.PowerDownRun(make_session(), PowerDown())
    left = "nothing changed" if fail_on == "dump" else (
        "left in place: Ceph flags set: noout; run cluster-shutdown again to finish, or cluster-startup to undo it "
        "(both read this record)")
    assert stopped(run.set_flags) == f"cluster-shutdown: stopped at step 'set Ceph flags': {why}; {left}"


class Operator:
    def __init__(self, monkeypatch, wanted: int, fail: BaseException | None = None, fail_read: bool = False):
        self.wanted, self.calls = wanted, []
        self.fail, self.fail_read = fail, fail_read
        monkeypatch.setattr(rook_operator, "replicas", self.replicas)
        monkeypatch.setattr(rook_operator, "scale", self.scale)

    def replicas(self):
        if self.fail_read:
            raise self.fail
        return rook_operator.Replicas(self.wanted, self.wanted)

    def scale(self, gate, count, why=""):
        if self.fail is not None:
            raise self.fail
        self.calls.append((count, why))


def test_the_operator_is_scaled_to_0_saying_why_and_its_replicas_kept(monkeypatch, capsys):
    operator = Operator(monkeypatch, 2)
    run = power_down.PowerDownRun(make_session(), PowerDown())
    assert run.step("operator", run.stop_operator) == "Rook operator: scaled from 2 to 0"
    assert operator.calls == [(0, "nothing may restart Ceph's daemons while their nodes go down")]
    assert run.state.operator_replicas == 2
    assert blocks(capsys) == [PowerDown(operator_replicas=2).line()]
    plan = power_down.PowerDownRun(make_session(apply=False), PowerDown())
    assert plan.stop_operator() == "Rook operator: would be scaled from 2 to 0"


def test_an_operator_at_0_with_nothing_recorded_comes_back_at_0(monkeypatch):
    operator = Operator(monkeypatch, 0)
    run = power_down.PowerDownRun(make_session(), PowerDown())
    assert run.stop_operator() == "Rook operator: already at 0 replicas (startup brings back 0)"
    assert run.state.operator_replicas == 0 and operator.calls == []


def test_an_operator_scaled_up_again_since_the_earlier_shutdown_is_recorded_anew(monkeypatch):
    operator = Operator(monkeypatch, 3)
    run = power_down.PowerDownRun(make_session(), PowerDown(operator_replicas=1))
    run.stop_operator()
    assert run.state.operator_replicas == 3
    operator.wanted = 1
    fewer = power_down.PowerDownRun(make_session(), PowerDown(operator_replicas=3))
    fewer.stop_operator()
    assert fewer.state.operator_replicas == 1


@pytest.mark.parametrize("fail, read, why", [
    (ToolError(["kubectl"], 1, "gone"), True, f"cannot read its Deployment: {ToolError(['kubectl'], 1, 'gone')}"),
    (ToolError(["kubectl"], 1, "gone"), False, str(ToolError(["kubectl"], 1, "gone"))),
    (KeyboardInterrupt(), False, f"{INTERRUPTED}; the operator may be at 0"),
])
def test_an_operator_that_cannot_be_scaled_stops_the_shutdown(monkeypatch, fail, read, why):
    Operator(monkeypatch, 1, fail=fail, fail_read=read)
    run = power_down.PowerDownRun(make_session(), PowerDown(flags_set=["noout"]))
    assert stopped(run.stop_operator) == (
        f"cluster-shutdown: stopped at step 'scale the Rook operator to 0': {why}; left in place: Ceph flags set: "
        "noout" + ("" if read else "; the Rook operator at 0 replicas (was 1)")
        + "; run cluster-shutdown again to finish, or cluster-startup to undo it (both read this record)")


class Power:
    def __init__(self, monkeypatch, off=(), fail: BaseException | None = None):
        self.off, self.calls, self.fail = set(off), [], fail
        monkeypatch.setattr(talos_power, "answers",
                            lambda address, waiting=None: "connection refused" if address in self.off else True)
        monkeypatch.setattr(talos_power, "shutdown", self.shutdown)

    def shutdown(self, gate, addresses, *, timeout, endpoint=None, why=""):
        if self.fail is not None:
            raise self.fail
        self.calls.append((list(addresses), timeout, endpoint, why))
        if gate.apply:
            self.off.update(addresses)


def test_the_shutdown_calls_say_why_their_order_and_wait_as_long_as_the_run_may(monkeypatch):
    power = Power(monkeypatch, off={"10.0.10.23"})
    session = make_session()
    run = power_down.PowerDownRun(session, PowerDown())
    assert run.shut_down("worker") == "the workers off (worker-1, worker-2, worker-3): their Talos API no longer answers"
    assert run.shut_down("control-plane") == "the control-planes off (cp-1, cp-2): their Talos API no longer answers"
    workers = "the workers first, all at once (--force: no drain, their pods have nowhere to go)"
    planes = "each control plane through itself as endpoint; etcd and the API stop with the first"
    assert power.calls == [(["10.0.10.21", "10.0.10.22"], 0.5, None, workers),
                           (["10.0.10.11"], 0.5, "10.0.10.11", planes), (["10.0.10.12"], 0.5, "10.0.10.12", planes)]
    assert out(session)[0] == "worker-3 is already off (its Talos API does not answer: connection refused)"
    assert run.state.shut_down == ["worker-1", "worker-2", "cp-1", "cp-2"]


def test_a_plan_sends_nothing_and_says_it_would_wait(monkeypatch):
    power = Power(monkeypatch)
    session = make_session(apply=False)
    run = power_down.PowerDownRun(session, PowerDown())
    assert run.shut_down("worker") == "the workers off (worker-1, worker-2, worker-3): planned"
    assert out(session) == ["PLAN: would wait for the workers off (worker-1, worker-2, worker-3) (up to 0.5s)"]
    assert power.calls[0][0] == ["10.0.10.21", "10.0.10.22", "10.0.10.23"]


def test_nodes_all_off_already_get_no_call(monkeypatch):
    power = Power(monkeypatch, off={"10.0.10.11", "10.0.10.12"})
    run = power_down.PowerDownRun(make_session(), PowerDown())
    assert run.shut_down("control-plane").endswith("their Talos API no longer answers")
    assert power.calls == [] and run.state.shut_down == []


@pytest.mark.parametrize("fail, why", [
    (ToolError(["talosctl"], 1, "refused"), str(ToolError(["talosctl"], 1, "refused"))),
    (KeyboardInterrupt(), f"{INTERRUPTED}; worker-1, worker-2, worker-3 may be going down"),
])
def test_a_shutdown_call_that_fails_names_the_nodes_it_was_sent_to(monkeypatch, capsys, fail, why):
    Power(monkeypatch, fail=fail)
    run = power_down.PowerDownRun(make_session(), PowerDown(shut_down=["worker-1"]))
    assert stopped(lambda: run.shut_down("worker")) == (
        f"cluster-shutdown: stopped at step 'shut down the workers': {why}; left in place: shutdown sent to "
        "worker-1, worker-2, worker-3; run cluster-shutdown again to finish, or cluster-startup to undo it (both read "
        "this record)")
    assert run.state.shut_down == ["worker-1", "worker-2", "worker-3"]


def test_the_lock_is_released_before_the_control_planes_and_the_block_says_so(tmp_path, capsys):
    guard = Guard(tmp_path / "r.ipynb")
    session = make_session(guard=guard)
    run = power_down.PowerDownRun(session, PowerDown())
    run._changed = False
    assert run.release_lock() == "maintenance lock released"
    assert guard.calls == ["release_lock"]
    assert run.state.lock == "released before the control planes went down"
    why = ("the API goes away with the first control plane (a 2-member etcd loses quorum); a Lease left behind "
           "would refuse cluster-startup until it expires")
    assert out(session) == [f"maintenance lock released: {why}; this run holds no lock from here on"]
    run.flush()
    assert blocks(capsys) == [run.state.line()]


def test_a_lease_that_could_not_be_deleted_is_said_and_recorded(tmp_path):
    session = make_session(guard=Guard(tmp_path / "r.ipynb", warning="the Lease could not be deleted"))
    run = power_down.PowerDownRun(session, PowerDown())
    run.release_lock()
    assert run.state.lock == "released before the control planes went down (the Lease could not be deleted)"
    assert out(session)[0].endswith("this run holds no lock from here on (the Lease could not be deleted)")


@pytest.mark.parametrize("apply", [False, True])
def test_a_plan_or_a_run_without_a_lock_only_says_it_would_release_it(tmp_path, apply):
    guard = Guard(tmp_path / "r.ipynb")
    session = make_session(apply=apply, guard=None if apply else guard)
    run = power_down.PowerDownRun(session, PowerDown())
    assert run.release_lock() == "the maintenance lock would be released before the control planes go down"
    assert guard.calls == [] and run.state.lock == "held"
    assert out(session) == ([] if apply else [
        "PLAN: would release the maintenance lock before the control planes go down  # the API goes away with the "
        "first control plane (a 2-member etcd loses quorum); a Lease left behind would refuse cluster-startup until "
        "it expires"])


# -- cluster-startup ---------------------------------------------------------------------------------

from homeops.procedures import power_up  # noqa: E402
from homeops.tools.shapes import CephStatus, FluxObject, HealthCheck  # noqa: E402
from tests.runbooks.in_process import out, stopped

SHUTDOWN = PowerDown(suspended=["Kustomization flux-system/apps", "HelmRelease kube-system/cilium"],
                     already_suspended=["HelmRelease cert-manager/cert-manager", "HelmRelease default/held"],
                     flags_set=["noout", "norebalance"], operator_replicas=2)
CLEAN = CephStatus("HEALTH_OK", (), 3, 3, 3, (("active+clean", 10),), 10)


def startup(monkeypatch, block: PowerDown | None = SHUTDOWN, *, apply: bool = True, guard=None,
            resume_flux: bool = False) -> power_up.PowerUpRun:
    found = (LastShutdown(Path("/records/20260101T000000Z-cluster-shutdown.ipynb"),
                          {"outcome": "completed", "started": "2026-01-01T00:00:00Z"}, block) if block else None)
    asked = []
    monkeypatch.setattr(power_up, "last_shutdown", lambda *a, **k: asked.append((a, k)) or found)
    run = power_up.PowerUpRun(make_session(apply=apply, guard=guard), resume_flux=resume_flux)
    run.asked = asked
    return run


def test_startup_reads_the_last_shutdown_beside_its_own_record(monkeypatch, tmp_path):
    guard = Guard(tmp_path / "20260102T000000Z-cluster-startup.ipynb")
    run = startup(monkeypatch, guard=guard)
    assert run.asked == [((tmp_path,), {"twin": True, "besides": guard.record_path})]
    assert startup(monkeypatch).asked == [((None,), {"twin": False, "besides": None})]


def test_what_startup_works_from_is_said_whole(monkeypatch):
    assert startup(monkeypatch).source() == (
        "undoing 20260101T000000Z-cluster-shutdown.ipynb (cluster-shutdown completed, started 2026-01-01T00:00:00Z): "
        "Flux objects it suspended: 2 (suspended before it, left so: HelmRelease cert-manager/cert-manager, HelmRelease "
        "default/held); flags it "
        "set: noout, norebalance; the Rook operator had 2 replica(s)")
    assert startup(monkeypatch, PowerDown(suspended=["x"])).source() == (
        "undoing 20260101T000000Z-cluster-shutdown.ipynb (cluster-shutdown completed, started 2026-01-01T00:00:00Z): "
        "Flux objects it suspended: 1; flags it set: none")
    assert startup(monkeypatch, None).source() == (
        "no cluster-shutdown record to undo (none, or a cluster-startup completed after it): working from what the "
        "cluster shows: noout, norebalance, nobackfill cleared if set; suspended Flux objects listed and left suspended "
        "(set resume_flux = True to resume them)")
    assert startup(monkeypatch, None, resume_flux=True).source().endswith(
        "cleared if set; suspended Flux objects resumed (resume_flux = True)")


def test_a_stopped_startup_names_what_it_did_and_what_it_left(monkeypatch):
    run = startup(monkeypatch)
    run.flags_cleared, run.resumed = ["noout"], ["Kustomization flux-system/apps"]
    run.operator = "the Rook operator scaled back to 2"
    assert str(run.stop("resume Flux", "refused")) == (
        "cluster-startup: stopped at step 'resume Flux': refused; left in place: Ceph flags still set: norebalance "
        "(on purpose: cleared only once every OSD is up and PGs are clean, so no data moves meanwhile); Flux still "
        "suspended: HelmRelease kube-system/cilium (on purpose: resumed only once Ceph is healthy); the Rook operator "
        "scaled back to 2; cleared: noout; resumed: Kustomization flux-system/apps; run cluster-startup again once the "
        "cause is fixed")
    run.flags_cleared, run.resumed = ["noout", "norebalance"], ["Kustomization flux-system/apps",
                                                                 "HelmRelease kube-system/cilium"]
    assert str(run.stop("x", "y")) == (
        "cluster-startup: stopped at step 'x': y; left in place: the Rook operator scaled back to 2; cleared: noout, "
        "norebalance; resumed: Kustomization flux-system/apps, HelmRelease kube-system/cilium; run cluster-startup "
        "again once the cause is fixed")
    assert str(startup(monkeypatch, PowerDown()).stop("x", "y")) == "cluster-startup: stopped at step 'x': y; nothing changed"


def test_without_a_record_only_what_was_seen_is_left_and_flux_only_when_asked(monkeypatch):
    run = startup(monkeypatch, None)
    assert run.flags_to_clear() == [] and run.to_resume() == []
    run.seen_flags, run.seen_suspended, run.flags_cleared = ["noout", "nobackfill"], ["HelmRelease a/b"], ["noout"]
    assert run.flags_to_clear() == ["nobackfill"] and run.to_resume() == []
    asked = startup(monkeypatch, None, resume_flux=True)
    asked.seen_suspended, asked.resumed = ["HelmRelease a/b", "HelmRelease c/d"], ["HelmRelease a/b"]
    assert asked.to_resume() == ["HelmRelease c/d"]


@pytest.mark.parametrize("raised, why", [
    (KeyboardInterrupt(), INTERRUPTED),
    (RunbookStopped("Flux: cannot read it"), "Flux: cannot read it"),
    (ToolError(["ceph"], 1, "timed out"), str(ToolError(["ceph"], 1, "timed out"))),
])
def test_a_startup_step_that_fails_stops_naming_the_step(monkeypatch, raised, why):
    run = startup(monkeypatch, PowerDown())

    def fail():
        raise raised

    assert stopped(lambda: run.step("wait for the API", fail)) == (
        f"cluster-startup: stopped at step 'wait for the API': {why}; nothing changed")
    inner = run.stop("inner", "why")

    def again():
        raise inner

    assert stopped(lambda: run.step("outer", again)) == "cluster-startup: stopped at step 'inner': why; nothing changed"


def test_the_control_planes_wait_stops_with_the_last_look(monkeypatch):
    monkeypatch.setattr(talos_power, "answers", lambda a, waiting=None: True if a == "10.0.10.11" else "refused")
    run = startup(monkeypatch, PowerDown())
    message = stopped(run.control_planes)
    assert message.startswith("cluster-startup: stopped at step 'wait for the control planes': ")
    assert message.endswith("; last seen: not answering: cp-2 (refused); nothing changed")


def test_the_control_planes_answer(monkeypatch):
    monkeypatch.setattr(talos_power, "answers", lambda a, waiting=None: True)
    run = startup(monkeypatch, PowerDown())
    assert run.control_planes() == "control planes: cp-1, cp-2 answer"
    monkeypatch.setattr(talos_power, "answers", lambda a, waiting=None: "refused")
    assert stopped(run.control_planes).endswith("; last seen: not answering: cp-1 (refused); cp-2 (refused); nothing "
                                                "changed")


def test_a_plan_says_what_the_control_planes_would_be_waited_for_and_how_they_are_now(monkeypatch):
    monkeypatch.setattr(talos_power, "answers", lambda a, waiting=None: "refused" if a == "10.0.10.12" else True)
    run = startup(monkeypatch, apply=False)
    assert run.control_planes() == "control planes: not answering: cp-2 (refused)"
    assert out(run.session) == [
        "PLAN: would wait for both control planes' Talos API (cp-1, cp-2; a 2-member etcd needs all 2 for quorum: "
        "the API cannot come up before the last one) (up to 0.5s)"]
    monkeypatch.setattr(talos_power, "answers", lambda a, waiting=None: True)
    assert run.control_planes() == "control planes: all answer now"


def test_one_control_plane_is_waited_for_without_the_quorum_note(monkeypatch):
    run = startup(monkeypatch, apply=False)
    cp1 = run.session.cluster.control_planes[0]
    run.session = SimpleNamespace(cluster=SimpleNamespace(control_planes=[cp1]), apply=False, gate=run.session.gate,
                                  wait_timeout=0.5)
    monkeypatch.setattr(talos_power, "answers", lambda a, waiting=None: True)
    run.control_planes()
    assert out(run.session) == ["PLAN: would wait for the control planes' Talos API (cp-1) (up to 0.5s)"]
    cp3 = SimpleNamespace(name="cp-3", address="10.0.10.13")
    run.session.cluster.control_planes = [cp1, cp3, cp3]
    run.control_planes()
    assert out(run.session)[-1] == "PLAN: would wait for the control planes' Talos API (cp-1, cp-3, cp-3) (up to 0.5s)"


def test_the_lease_is_taken_once_the_api_answers(monkeypatch, tmp_path):
    guard = Guard(tmp_path / "r.ipynb")
    monkeypatch.setattr(power_up.kubectl, "nodes", lambda: [])
    run = startup(monkeypatch, guard=guard)
    assert run.api() == "API: answers; the maintenance lock is held from here on"
    assert guard.calls == ["take_lease"] and out(run.session) == ["maintenance lock: the Lease, taken"]
    plan = startup(monkeypatch, apply=False, guard=Guard(tmp_path / "r.ipynb"))
    assert plan.api() == "API: planned" and plan.session.guard.calls == []
    assert out(plan.session) == ["PLAN: would wait for the Kubernetes API (etcd's quorum, then the API server behind "
                                 "the VIP) (up to 0.5s)"]


def test_an_api_that_does_not_answer_stops_saying_what_was_seen(monkeypatch):
    def refused():
        raise ToolError(["kubectl"], 1, "connection refused")

    monkeypatch.setattr(power_up.kubectl, "nodes", refused)
    run = startup(monkeypatch, PowerDown())
    error = str(ToolError(["kubectl"], 1, "connection refused"))
    assert stopped(run.api) == (
        "cluster-startup: stopped at step 'wait for the API': the Kubernetes API (etcd's quorum, then the API server "
        f"behind the VIP) did not happen within 0.5s (last error: {error}); nothing changed")


class Seen:
    def __init__(self, name, ready):
        self.name, self.ready, self.is_ready = name, ready, ready == "True"


def test_every_node_must_be_ready_and_registered(monkeypatch):
    monkeypatch.setattr(power_up.kubectl, "nodes", lambda: [Seen("cp-1", "True"), Seen("cp-2", "True"),
                                                            Seen("worker-1", "False"), Seen("worker-3", "True")])
    run = startup(monkeypatch, PowerDown())
    what = "every node Ready (cp-1, cp-2, worker-1, worker-2, worker-3)"
    seen = "worker-1 not Ready (Ready=False); worker-2 not registered"
    assert stopped(run.nodes_ready) == (f"cluster-startup: stopped at step 'wait for every node Ready': {what} did not "
                                        f"happen within 0.5s; last seen: {seen}; nothing changed")
    assert out(run.session)[0].startswith(f"waiting for {what}: {seen} (")
    monkeypatch.setattr(power_up.kubectl, "nodes", lambda: [Seen(n.name, "True") for n in run.session.cluster.nodes])
    assert run.nodes_ready() == "nodes: all 5 Ready"
    plan = startup(monkeypatch, apply=False)
    assert plan.nodes_ready() == "nodes: planned"
    assert out(plan.session) == ["PLAN: would wait for every node Ready (cp-1, cp-2, worker-1, worker-2, worker-3) "
                                 "(up to 0.5s)"]


def test_the_operator_comes_back_to_its_recorded_replicas_or_the_charts_one(monkeypatch):
    operator = Operator(monkeypatch, 0)
    run = startup(monkeypatch)
    assert run.operator_back() == "Rook operator: scaled from 0 to 2"
    assert operator.calls == [(2, "its replicas before cluster-shutdown")]
    assert run.operator == "the Rook operator scaled back to 2"
    operator.calls.clear()
    assert startup(monkeypatch, None).operator_back() == "Rook operator: scaled from 0 to 1"
    assert startup(monkeypatch, PowerDown()).operator_back() == "Rook operator: scaled from 0 to 1"
    assert operator.calls == [(1, "no record says its replicas before: the chart's one")] * 2
    assert startup(monkeypatch, apply=False).operator_back() == "Rook operator: would be scaled from 0 to 2"


def test_an_operator_already_at_its_replicas_is_left_alone(monkeypatch):
    operator = Operator(monkeypatch, 2)
    run = startup(monkeypatch)
    assert run.operator_back() == "Rook operator: at 2 replica(s) already"
    operator.wanted = 3
    assert run.operator_back() == "Rook operator: at 3 replica(s) already"
    assert operator.calls == [] and run.operator is None


def test_an_operator_that_cannot_be_read_stops_a_run_and_is_described_in_a_plan(monkeypatch):
    failure = ToolError(["kubectl"], 1, "gone")
    Operator(monkeypatch, 0, fail=failure, fail_read=True)
    with pytest.raises(ToolError):
        startup(monkeypatch).operator_back()
    plan = startup(monkeypatch, apply=False)
    assert plan.operator_back() == f"Rook operator: cannot read it now ({failure}); would scale it to 2"
    assert out(plan.session) == ["PLAN: would scale the Rook operator back to 2 replica(s)"]


class CephUp:
    def __init__(self, monkeypatch, statuses=(), flags=(), fail: ToolError | None = None):
        self.statuses, self.flags, self.fail, self.unset = list(statuses), set(flags), fail, []
        monkeypatch.setattr(power_up.ceph, "status", lambda: self.statuses.pop(0) if len(self.statuses) > 1
                            else self.statuses[0])
        monkeypatch.setattr(power_up.ceph, "osd_dump", self.dump)
        monkeypatch.setattr(power_up.ceph, "unset_flag", lambda gate, flag, why="": self.unset.append((flag, why)))

    def dump(self):
        if self.fail is not None:
            raise self.fail
        return OsdDump(frozenset(self.flags), {})


def test_ceph_waits_for_every_osd_and_clean_pgs_and_says_what_it_last_saw(monkeypatch):
    CephUp(monkeypatch, [CephStatus("HEALTH_WARN", (), 3, 1, 3, (("active+undersized", 4), ("active+clean", 6)), 10)])
    run = startup(monkeypatch)
    assert stopped(run.ceph_up).startswith(
        "cluster-startup: stopped at step 'wait for every OSD up and clean PGs': every OSD up and every PG clean (with "
        "the shutdown's flags still set) did not happen within 0.5s; last seen: 2 of 3 OSDs down;")
    assert stopped(run.ceph_up).endswith("; last seen: 2 of 3 OSDs down; PGs not clean: 4 active+undersized; left in "
                                         "place: Ceph flags still set: noout, norebalance (on purpose: cleared only "
                                         "once every OSD is up and PGs are clean, so no data moves meanwhile); Flux "
                                         "still suspended: Kustomization flux-system/apps, HelmRelease "
                                         "kube-system/cilium (on purpose: resumed only once Ceph is healthy); run "
                                         "cluster-startup again once the cause is fixed")
    CephUp(monkeypatch, [CephStatus("HEALTH_WARN", (), 3, 3, 3, (), 0)])
    assert stopped(run.ceph_up).split("; left in place")[0].endswith("; last seen: PGs not clean: none counted yet")


def test_without_a_record_the_shutdowns_flags_seen_are_noted_and_others_left_alone(monkeypatch):
    ceph = CephUp(monkeypatch, [CLEAN], flags={"nobackfill", "noout", "noscrub", "nodeep-scrub"})
    run = startup(monkeypatch, None)
    assert run.ceph_up() == "Ceph: every OSD up, every PG clean"
    assert run.seen_flags == ["noout", "nobackfill"]
    assert out(run.session)[-1] == "other Ceph flags set, not cluster-shutdown's, left alone: nodeep-scrub, noscrub"
    ceph.flags = set()
    run.ceph_up()
    assert run.seen_flags == ["noout", "nobackfill"]  # noted once
    with_record = startup(monkeypatch)
    with_record.ceph_up()
    assert with_record.seen_flags is None


def test_flags_that_cannot_be_read_stop_a_run_and_are_said_in_a_plan(monkeypatch):
    failure = ToolError(["ceph"], 1, "no toolbox")
    CephUp(monkeypatch, [CLEAN], fail=failure)
    with pytest.raises(ToolError):
        startup(monkeypatch, None).ceph_up()
    plan = startup(monkeypatch, None, apply=False)
    assert plan.ceph_up() == "Ceph: planned"
    assert out(plan.session) == [
        "PLAN: would wait for every OSD up and every PG clean (with the shutdown's flags still set) (up to 0.5s)",
        f"cannot read Ceph's flags now: {failure}"]
    assert plan.seen_flags == []


def test_only_the_shutdowns_flags_that_are_set_are_cleared(monkeypatch):
    ceph = CephUp(monkeypatch, flags={"norebalance", "noscrub"})
    run = startup(monkeypatch)
    assert run.clear_flags() == "Ceph: cleared noout, norebalance"
    assert ceph.unset == [("norebalance", "set by cluster-shutdown; every OSD is up and PGs clean")]
    assert run.flags_cleared == ["noout", "norebalance"]
    assert run.clear_flags() == "Ceph: cleared noout, norebalance"
    assert startup(monkeypatch, PowerDown()).clear_flags() == "Ceph: no flag of cluster-shutdown's to clear"


def test_a_plan_says_which_flags_it_would_clear_even_unread(monkeypatch):
    ceph = CephUp(monkeypatch, fail=ToolError(["ceph"], 1, "no toolbox"))
    plan = startup(monkeypatch, apply=False)
    assert plan.clear_flags() == "Ceph: would clear noout, norebalance"
    assert [flag for flag, _ in ceph.unset] == ["noout", "norebalance"] and plan.flags_cleared == []
    with pytest.raises(ToolError):
        startup(monkeypatch).clear_flags()


def test_health_ok_needs_clean_pgs_too_and_says_the_checks_it_last_saw(monkeypatch):
    check = HealthCheck("OSDMAP_FLAGS", "HEALTH_WARN", "noout flag(s) set")
    CephUp(monkeypatch, [CephStatus("HEALTH_WARN", (check, HealthCheck("X", "HEALTH_WARN", "y")), 3, 3, 3, (), 10)])
    run = startup(monkeypatch, PowerDown())
    message = stopped(run.health_ok)
    assert message.startswith("cluster-startup: stopped at step 'wait for HEALTH_OK': Ceph HEALTH_OK did not happen "
                              "within 0.5s; last seen: ")
    assert message.endswith("; last seen: HEALTH_WARN: OSDMAP_FLAGS: noout flag(s) set; X: y; nothing changed")
    CephUp(monkeypatch, [CephStatus("HEALTH_OK", (), 3, 3, 3, (("active+clean", 9),), 10)])
    assert stopped(run.health_ok).endswith("; last seen: HEALTH_OK; nothing changed")
    CephUp(monkeypatch, [CLEAN])
    assert run.health_ok() == "Ceph: HEALTH_OK"
    plan = startup(monkeypatch, apply=False)
    assert plan.health_ok() == "Ceph: planned"
    assert out(plan.session) == ["PLAN: would wait for Ceph HEALTH_OK (up to 0.5s)"]


def flux_object(kind, namespace, name, suspended=False, ready="True"):
    return FluxObject(kind, namespace, name, ready, "", "", suspended, 1, 1)


def test_flux_resumes_what_the_shutdown_suspended_and_names_what_it_left(monkeypatch):
    resumed = []
    monkeypatch.setattr(flux_suspension, "resume", lambda session, names, done: resumed.append(list(names)))
    run = startup(monkeypatch)
    assert run.flux() == ("Flux: resumed 2; left suspended as before the shutdown: HelmRelease cert-manager/cert-manager, "
                          "HelmRelease default/held")
    assert resumed == [["Kustomization flux-system/apps", "HelmRelease kube-system/cilium"]]
    assert startup(monkeypatch, PowerDown(suspended=["HelmRelease a/b"]), apply=False).flux() == "Flux: would resume 1"
    assert startup(monkeypatch, PowerDown()).flux() == "Flux: nothing of cluster-shutdown's to resume"


def test_without_a_record_suspended_flux_is_listed_and_resumed_only_when_asked(monkeypatch):
    held = flux_object("HelmRelease", "a", "b", suspended=True)
    monkeypatch.setattr(flux_suspension, "suspended_now", lambda: [held, flux_object("HelmRelease", "c", "d", True)])
    resumed = []
    monkeypatch.setattr(flux_suspension, "resume", lambda session, names, done: resumed.append(list(names)))
    run = startup(monkeypatch, None)
    assert run.flux() == ("Flux: suspended now, left so: HelmRelease a/b, HelmRelease c/d; no cluster-shutdown record "
                          "says which of "
                          "them it suspended: resume them by hand, or run again with resume_flux = True to resume "
                          "every one")
    assert run.seen_suspended == ["HelmRelease a/b", "HelmRelease c/d"] and resumed == []
    assert startup(monkeypatch, None, resume_flux=True).flux() == "Flux: resumed 2"
    assert resumed == [["HelmRelease a/b", "HelmRelease c/d"]]
    monkeypatch.setattr(flux_suspension, "suspended_now", lambda: [])
    assert startup(monkeypatch, None).flux() == "Flux: nothing of cluster-shutdown's to resume"


def test_flux_that_cannot_be_read_stops_a_run_and_is_said_in_a_plan(monkeypatch):
    failure = ToolError(["flux"], 1, "refused")

    def refused():
        raise failure

    monkeypatch.setattr(flux_suspension, "suspended_now", refused)
    with pytest.raises(ToolError):
        startup(monkeypatch, None).flux()
    assert startup(monkeypatch, None, apply=False).flux() == f"Flux: cannot read it now ({failure})"


def health(monkeypatch, results, objects):
    def cluster_health(cluster, project):
        assert cluster.cluster.name == "home-ops" and project == Path("/project")
        return list(results)

    monkeypatch.setattr(power_up, "cluster_health", cluster_health)
    monkeypatch.setattr(power_up, "flux_objects", lambda: list(objects))


def with_project(run):
    run.session = replace(run.session, project=Path("/project"))
    return run


FLUX_FAILED = CheckResult("Flux Ready", "FAIL", "HelmRelease cert-manager/cert-manager is suspended")


def test_the_checks_take_what_was_suspended_before_the_shutdown_as_a_warning(monkeypatch, capsys):
    held = flux_object("HelmRelease", "cert-manager", "cert-manager", suspended=True)
    health(monkeypatch, [CheckResult("nodes Ready", "ok", "5 Ready"), FLUX_FAILED], [held, flux_object("K", "a", "b")])
    run = startup(monkeypatch)
    run.session = replace(run.session, project=Path("/project"))
    assert run.checks() == "all 2 checks passed (1 warning(s))"
    assert ("suspended before cluster-shutdown and left so: HelmRelease cert-manager/cert-manager, HelmRelease "
            "default/held") in capsys.readouterr().out
    health(monkeypatch, [CheckResult("nodes Ready", "FAIL", "worker-1 not Ready")], [held])
    with pytest.raises(RunbookStopped, match="^1 of 1 checks failed"):
        run.checks()
    kept = power_up.PowerUpRun._flux_as_before(FLUX_FAILED, {"HelmRelease cert-manager/cert-manager", "K x/y"}, "why: ")
    assert kept == CheckResult("Flux Ready", "warn", "why: HelmRelease cert-manager/cert-manager, K x/y")


def test_the_checks_fail_when_anything_else_in_flux_is_wrong(monkeypatch):
    held = flux_object("HelmRelease", "cert-manager", "cert-manager", suspended=True)
    health(monkeypatch, [FLUX_FAILED], [held, flux_object("HelmRelease", "a", "broken", ready="False")])
    with pytest.raises(RunbookStopped, match="^1 of 1 checks failed"):
        with_project(startup(monkeypatch)).checks()
    health(monkeypatch, [FLUX_FAILED], [held, flux_object("HelmRelease", "a", "other", suspended=True)])
    with pytest.raises(RunbookStopped, match="^1 of 1 checks failed"):
        with_project(startup(monkeypatch)).checks()


def test_without_a_record_suspended_objects_left_so_are_a_warning_unless_resumed(monkeypatch):
    held = flux_object("HelmRelease", "a", "b", suspended=True)
    health(monkeypatch, [FLUX_FAILED], [held])
    run = with_project(startup(monkeypatch, None))
    run.seen_suspended = ["HelmRelease a/b"]
    assert run.checks() == "all 1 checks passed (1 warning(s))"
    asked = with_project(startup(monkeypatch, None, resume_flux=True))
    asked.seen_suspended = ["HelmRelease a/b"]
    with pytest.raises(RunbookStopped):
        asked.checks()
    assert startup(monkeypatch, apply=False).checks() == "cluster-health: runs at the end of an apply run"


def test_the_flux_warning_says_why_and_a_flux_that_cannot_be_read_keeps_the_failure(monkeypatch, capsys):
    held = flux_object("HelmRelease", "a", "b", suspended=True)
    health(monkeypatch, [FLUX_FAILED], [held])
    run = with_project(startup(monkeypatch, None))
    run.seen_suspended = ["HelmRelease a/b"]
    run.checks()
    assert "suspended, left so (no cluster-shutdown record says who suspended them): HelmRelease a/b" in \
        capsys.readouterr().out

    def refused():
        raise ToolError(["flux"], 1, "refused")

    monkeypatch.setattr(power_up, "flux_objects", refused)
    assert power_up.PowerUpRun._flux_as_before(FLUX_FAILED, {"HelmRelease a/b"}, "why: ") is FLUX_FAILED
    assert power_up.PowerUpRun._flux_as_before(FLUX_FAILED, set(), "why: ") is FLUX_FAILED


def test_each_block_is_flushed_at_once_so_a_record_has_it_even_if_the_kernel_dies_next(monkeypatch):
    class Stdout(io.StringIO):
        def __init__(self):
            super().__init__()
            self.flushed_at = []

        def flush(self):
            self.flushed_at.append(self.getvalue())

    stdout = Stdout()
    monkeypatch.setattr("sys.stdout", stdout)
    run = power_down.PowerDownRun(make_session(), PowerDown(flags_set=["noout"]))
    run.flush(always=True)
    assert stdout.flushed_at == [PowerDown(flags_set=["noout"]).line() + "\n"]


def test_the_wait_for_the_nodes_off_says_what_it_sees_and_its_stop_names_those_still_on(monkeypatch):
    from homeops.procedures.waits import WaitTimedOut

    monkeypatch.setattr(talos_power, "answers", lambda a, waiting=None: "refused" if a == "10.0.10.23" else True)
    session = make_session()
    run = power_down.PowerDownRun(session, PowerDown())
    nodes = session.cluster.workers
    what = "the workers off (worker-1, worker-2, worker-3)"
    assert stopped(lambda: run.confirm_off(nodes, "worker")) == (
        f"cluster-shutdown: stopped at step 'confirm the workers are off': "
        f"{WaitTimedOut(what, 0.5, None)}; still answering: worker-1, worker-2; "
        "nothing changed")
    assert out(session)[0].startswith(f"waiting for {what}: still answering: worker-1, worker-2 (")
