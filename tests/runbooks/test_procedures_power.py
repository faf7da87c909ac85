"""The power runbooks' rules in process, without a twin: the state block shutdown writes and startup reads
(which record counts), what a node that is off looks like to talosctl, the order Flux is suspended and
resumed in, which flags and objects each run touches, and what a stop names."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import pytest

from homeops import load_cluster
from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import flux_suspension, power_down, power_up
from homeops.procedures.power_state import MARKER, PowerDown, from_notebook, key, last_shutdown
from homeops.procedures.session import Session
from homeops.runner.records import RunStatus, write_record
from homeops.tools import process, rook_operator, talos_power
from homeops.tools.decode import ToolOutputInvalid
from homeops.tools.process import Completed, ToolError, ToolTimeout
from homeops.tools.shapes import CephStatus, FluxObject, OsdDump

from tests.runbooks.conftest import ROOT
from tests.said import gate_lines

REFUSED = ('1 error occurred:\n\t* 10.0.10.21: rpc error: code = Unavailable desc = connection error: desc = '
           '"transport: Error while dialing: dial tcp 10.0.10.21:50000: connect: connection refused"\n')
UNKNOWN_AUTHORITY = ('rpc error: code = Unavailable desc = connection error: desc = "transport: authentication '
                     'handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown '
                     'authority"')


def obj(kind: str, namespace: str, name: str, suspended: bool = False) -> FluxObject:
    return FluxObject(kind, namespace, name, "True", "", "", suspended, 1, 1)


FLUX_SYSTEM = obj("Kustomization", "flux-system", "flux-system")
APPS = obj("Kustomization", "flux-system", "apps")
CILIUM = obj("HelmRelease", "kube-system", "cilium")
HELD = obj("HelmRelease", "cert-manager", "cert-manager", suspended=True)


# -- the state block -------------------------------------------------------------------------------

def test_the_block_reads_back_what_was_written():
    state = PowerDown(suspended=[key(APPS)], already_suspended=[key(HELD)], flags_set=["noout"],
                      flags_before=["nobackfill"], operator_replicas=2, shut_down=["worker-1"], lock="held")
    line = state.line()
    assert line.startswith(MARKER)
    assert PowerDown.parse(json.loads(line[len(MARKER):])) == state


@pytest.mark.parametrize("data", [
    [], {"suspended": "Kustomization flux-system/apps"}, {"flags_set": [1]}, {"operator_replicas": -1},
    {"operator_replicas": True}, {"operator_replicas": "1"}, {"shut_down": [None]},
])
def test_a_block_that_is_not_one_is_refused(data):
    assert PowerDown.parse(data) is None


def test_the_block_without_replicas_means_not_read():
    assert PowerDown.parse({}).operator_replicas is None
    assert PowerDown.parse({"operator_replicas": 0}).operator_replicas == 0


def notebook(*texts: str) -> dict:
    return {"cells": [{"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout", "text": t}]}
                      for t in texts]}


def test_the_last_block_of_a_record_counts_and_a_broken_one_is_skipped():
    first = PowerDown(flags_set=["noout"]).line()
    second = PowerDown(flags_set=["noout", "norebalance"]).line()
    found = from_notebook(notebook(f"x\n{first}\n", [f"{second}\n", "y\n"], MARKER + "{not json\n",
                                   MARKER + '{"flags_set": 3}\n'))
    assert found.flags_set == ["noout", "norebalance"]
    assert from_notebook(notebook("nothing here\n")) is None
    assert from_notebook(None) is None
    assert from_notebook({"cells": ["x", {"outputs": ["y", {"output_type": "display_data"}]}]}) is None


def write(directory, name: str, runbook: str, *, started: str, mode: str = "apply", outcome: str = "completed",
          twin: bool = True, block: PowerDown | None = None) -> None:
    status = RunStatus(runbook, mode, twin, started=started, outcome=outcome)
    texts = [block.line() + "\n"] if block else ["no block\n"]
    write_record(directory / name, notebook(*texts), status)


def test_startup_reads_the_last_apply_shutdown_of_the_same_target(tmp_path):
    write(tmp_path, "20260101T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-01T00:00:00Z",
          block=PowerDown(flags_set=["noout"]))
    write(tmp_path, "20260102T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-02T00:00:00Z",
          outcome="stopped", block=PowerDown(flags_set=["noout", "norebalance"]))
    write(tmp_path, "20260103T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-03T00:00:00Z",
          mode="plan", block=PowerDown(flags_set=["plan"]))
    write(tmp_path, "20260104T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-04T00:00:00Z",
          twin=False, block=PowerDown(flags_set=["real"]))
    write(tmp_path, "20260105T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-05T00:00:00Z")
    found = last_shutdown(tmp_path, twin=True)
    assert found.state.flags_set == ["noout", "norebalance"]  # a stopped one counts: it may have changed things
    assert found.path.name.startswith("20260102")
    assert "stopped" in found.describe()
    assert last_shutdown(tmp_path, twin=False).state.flags_set == ["real"]
    assert last_shutdown(tmp_path, twin=True, besides=found.path).state.flags_set == ["noout"]
    assert last_shutdown(None, twin=True) is None
    assert last_shutdown(tmp_path / "missing", twin=True) is None


def test_a_completed_startup_after_it_undoes_the_shutdown_and_a_stopped_one_does_not(tmp_path):
    write(tmp_path, "20260101T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-01T00:00:00Z",
          block=PowerDown(flags_set=["noout"]))
    write(tmp_path, "20260101T010000Z-cluster-startup.ipynb", "cluster-startup", started="2026-01-01T01:00:00Z",
          outcome="stopped")
    write(tmp_path, "20260101T020000Z-cluster-startup.ipynb", "cluster-startup", started="2026-01-01T02:00:00Z",
          mode="plan")
    assert last_shutdown(tmp_path, twin=True) is not None
    write(tmp_path, "20251231T000000Z-cluster-startup.ipynb", "cluster-startup", started="2025-12-31T00:00:00Z")
    assert last_shutdown(tmp_path, twin=True) is not None  # a startup before the shutdown undoes nothing
    write(tmp_path, "20260101T030000Z-cluster-startup.ipynb", "cluster-startup", started="2026-01-01T03:00:00Z")
    assert last_shutdown(tmp_path, twin=True) is None


# -- talosctl and the operator -------------------------------------------------------------------------

@pytest.mark.parametrize("stderr", [REFUSED, "dial tcp 10.0.10.21:50000: connect: no route to host",
                                    "dial tcp 10.0.10.21:50000: i/o timeout", "context deadline exceeded"])
def test_a_node_that_does_not_answer_is_off(stderr):
    assert talos_power.unreachable(ToolError(["talosctl"], 1, stderr))


def test_an_answer_that_is_an_error_is_not_off():
    assert not talos_power.unreachable(ToolError(["talosctl"], 1, UNKNOWN_AUTHORITY))
    assert not talos_power.unreachable(ToolError(["talosctl"], 1, "error: unknown flag"))
    assert talos_power.unreachable(ToolTimeout(["talosctl"], 15.0))


def answering(monkeypatch, stderr: str | None):
    calls = []

    def run(argv, *, timeout, **_):
        calls.append((list(argv), timeout))
        if stderr is None:
            return Completed(tuple(argv), 0, '{"version": {"tag": "v1.11.1"}}', "")
        raise ToolError(argv, 1, stderr)

    monkeypatch.setattr(process, "run", run)
    return calls


def test_answers_says_why_a_node_does_not(monkeypatch):
    calls = answering(monkeypatch, REFUSED)
    seen = talos_power.answers("10.0.10.21")
    assert seen is not True and seen.endswith("connect: connection refused\"")
    assert calls == [(["talosctl", "-n", "10.0.10.21", "version", "--json"], talos_power.PROBE_TIMEOUT)]
    answering(monkeypatch, UNKNOWN_AUTHORITY)
    assert talos_power.answers("10.0.10.21") is True
    answering(monkeypatch, None)
    assert talos_power.answers("10.0.10.21") is True


def test_a_probe_with_a_listener_is_followed_and_says_each_quiet_stretch(monkeypatch):
    """With `waiting`, the probe runs followed (process.run's on_line), and its quiet seconds reach the
    listener every PROBE_QUIET seconds: a wait probing machines that are off names what it still asks."""
    heard, followed = [], []

    def run(argv, *, timeout, on_line=None, quiet=None, on_quiet=None, **_):
        followed.append((on_line is not None, quiet))
        on_quiet(5.0)
        on_quiet(10.0)
        raise ToolTimeout(argv, timeout)

    monkeypatch.setattr(process, "run", run)
    seen = talos_power.answers("10.0.10.21", waiting=heard.append)
    assert seen is not True and heard == [5.0, 10.0]
    assert followed == [(True, talos_power.PROBE_QUIET)]


def test_the_shutdown_command_line():
    out = io.StringIO()
    talos_power.shutdown(Gate(False, out=out), ["10.0.10.21", "10.0.10.22"], timeout=900)
    talos_power.shutdown(Gate(False, out=out), ["10.0.10.11"], timeout=60, endpoint="10.0.10.11")
    assert gate_lines(out.getvalue()) == [
        "PLAN: talosctl -n 10.0.10.21,10.0.10.22 shutdown --force --timeout 900s",
        "PLAN: talosctl -n 10.0.10.11 -e 10.0.10.11 shutdown --force --timeout 60s"]


def test_the_operator_replicas():
    assert rook_operator.parse({"spec": {"replicas": 2}, "status": {"readyReplicas": 1}}) == rook_operator.Replicas(2, 1)
    assert rook_operator.parse({"spec": {}, "status": {}}) == rook_operator.Replicas(1, 0)
    with pytest.raises(ToolOutputInvalid):
        rook_operator.parse({"spec": {"replicas": "2"}})
    with pytest.raises(ToolOutputInvalid):
        rook_operator.parse({"spec": {"replicas": True}})


# -- Flux --------------------------------------------------------------------------------------------

def test_kustomizations_go_first_flux_system_first():
    assert flux_suspension.in_order([CILIUM, APPS, HELD, FLUX_SYSTEM]) == [FLUX_SYSTEM, APPS, CILIUM, HELD]


@dataclass
class FakeTools:
    """The tools the power procedures call, as module attributes, with what each change did."""

    objects: list[FluxObject]
    flags: set[str] = field(default_factory=set)
    replicas: int = 1
    changes: list[str] = field(default_factory=list)
    fail_on: str = ""

    def install(self, monkeypatch) -> None:
        from homeops.procedures import power_down as down, power_up as up
        from homeops.tools import ceph, flux

        monkeypatch.setattr(flux_suspension, "flux_objects", lambda: list(self.objects))
        monkeypatch.setattr(flux, "suspend", lambda gate, o, why="": self._flux(gate, "suspend", o))
        monkeypatch.setattr(flux, "resume", lambda gate, o, timeout, why="": self._flux(gate, "resume", o))
        monkeypatch.setattr(ceph, "osd_dump", lambda: OsdDump(frozenset(self.flags | {"sortbitwise"}), {}))
        monkeypatch.setattr(ceph, "set_flag", lambda gate, f, why="": self._flag(gate, "set", f))
        monkeypatch.setattr(ceph, "unset_flag", lambda gate, f, why="": self._flag(gate, "unset", f))
        monkeypatch.setattr(rook_operator, "replicas", lambda: rook_operator.Replicas(self.replicas, self.replicas))
        monkeypatch.setattr(rook_operator, "scale", lambda gate, n, why="": self._scale(gate, n))
        for module in (down, up):
            monkeypatch.setattr(module, "last_shutdown", lambda *a, **k: None, raising=False)

    def _change(self, gate, what: str) -> bool:
        if what == self.fail_on:
            raise ToolError(what.split(), 1, f"{what} failed")
        self.changes.append(what)
        return gate.apply

    def _flux(self, gate, verb, o):
        if self._change(gate, f"{verb} {o}"):
            index = self.objects.index(o)
            self.objects[index] = FluxObject(o.kind, o.namespace, o.name, o.ready, "", "", verb == "suspend", 1, 1)

    def _flag(self, gate, verb, flag):
        if self._change(gate, f"{verb} {flag}"):
            (self.flags.add if verb == "set" else self.flags.discard)(flag)

    def _scale(self, gate, count):
        if self._change(gate, f"scale {count}"):
            self.replicas = count


@pytest.fixture
def session():
    cluster = load_cluster(ROOT / "cluster.yaml")

    def make(apply: bool = True) -> Session:
        return Session(cluster, Gate(apply, out=io.StringIO()), wait_timeout=0.5, poll_interval=0.01)

    return make


def test_shutdown_suspends_what_is_not_suspended_and_remembers_the_rest(monkeypatch, session):
    tools = FakeTools([CILIUM, HELD, APPS, FLUX_SYSTEM], flags={"nobackfill"}, replicas=2)
    tools.install(monkeypatch)
    run = power_down.PowerDownRun(session(), PowerDown())
    said = run.step("suspend Flux", run.suspend_flux)
    assert said == ("Flux: suspended 3 of 4 Kustomizations and HelmReleases; already suspended before, left so: "
                    "HelmRelease cert-manager/cert-manager")
    assert run.state.suspended == [key(FLUX_SYSTEM), key(APPS), key(CILIUM)]
    assert run.state.already_suspended == [key(HELD)]
    assert run.step("set Ceph flags", run.set_flags).endswith("(nobackfill already set before, left so)")
    assert run.state.flags_set == ["noout", "norebalance"] and run.state.flags_before == ["nobackfill"]
    assert run.step("operator", run.stop_operator) == "Rook operator: scaled from 2 to 0"
    assert run.state.operator_replicas == 2
    assert tools.changes == ["suspend Kustomization flux-system/flux-system", "suspend Kustomization flux-system/apps",
                             "suspend HelmRelease kube-system/cilium", "set noout", "set norebalance", "scale 0"]


def test_a_rerun_of_shutdown_keeps_what_the_first_suspended_as_its_own(monkeypatch, session):
    suspended_by_first = obj("Kustomization", "flux-system", "apps", suspended=True)
    tools = FakeTools([FLUX_SYSTEM, suspended_by_first, HELD], flags={"noout"}, replicas=0)
    tools.install(monkeypatch)
    carried = PowerDown(suspended=[key(APPS)], already_suspended=[key(HELD)], flags_set=["noout"],
                        operator_replicas=3)
    run = power_down.PowerDownRun(session(), carried)
    run.step("suspend Flux", run.suspend_flux)
    run.step("set Ceph flags", run.set_flags)
    assert run.step("operator", run.stop_operator) == "Rook operator: already at 0 replicas (startup brings back 3)"
    assert run.state.suspended == [key(APPS), key(FLUX_SYSTEM)]
    assert run.state.already_suspended == [key(HELD)]
    assert run.state.flags_set == ["noout", "norebalance", "nobackfill"] and run.state.flags_before == []
    assert run.state.operator_replicas == 3


def test_a_failed_change_stops_the_shutdown_naming_what_it_left(monkeypatch, session):
    tools = FakeTools([FLUX_SYSTEM, CILIUM], fail_on="set norebalance")
    tools.install(monkeypatch)
    run = power_down.PowerDownRun(session(), PowerDown())
    run.step("suspend Flux", run.suspend_flux)
    with pytest.raises(RunbookStopped) as stopped:
        run.step("set Ceph flags", run.set_flags)
    message = str(stopped.value)
    assert message.startswith("cluster-shutdown: stopped at step 'set Ceph flags': ")
    assert ("left in place: Flux suspended: Kustomization flux-system/flux-system, HelmRelease kube-system/cilium; "
            "Ceph flags set: noout; run cluster-shutdown again to finish, or cluster-startup to undo it") in message
    assert power_down.PowerDownRun(session(), PowerDown()).left() == "nothing changed"


def test_a_plan_changes_nothing_and_records_nothing(monkeypatch, session, capsys):
    tools = FakeTools([FLUX_SYSTEM, CILIUM])
    tools.install(monkeypatch)
    run = power_down.PowerDownRun(session(apply=False), PowerDown())
    run.step("suspend Flux", run.suspend_flux)
    run.step("set Ceph flags", run.set_flags)
    run.step("operator", run.stop_operator)
    assert run.state.suspended == [] and run.state.flags_set == []
    assert tools.flags == set() and tools.replicas == 1
    assert MARKER not in capsys.readouterr().out


def startup_with(monkeypatch, session, tools: FakeTools, block: PowerDown | None, **kwargs) -> power_up.PowerUpRun:
    from homeops.procedures.power_state import LastShutdown

    tools.install(monkeypatch)
    found = LastShutdown(ROOT / "x.ipynb", {"outcome": "completed"}, block) if block else None
    monkeypatch.setattr(power_up, "last_shutdown", lambda *a, **k: found)
    return power_up.PowerUpRun(session(), **kwargs)


def test_startup_clears_only_the_flags_and_resumes_only_what_the_shutdown_set(monkeypatch, session):
    apps = obj("Kustomization", "flux-system", "apps", suspended=True)
    cilium = obj("HelmRelease", "kube-system", "cilium", suspended=True)
    tools = FakeTools([cilium, HELD, apps], flags={"noout", "nobackfill", "noscrub"}, replicas=0)
    block = PowerDown(suspended=[key(CILIUM), key(APPS)], already_suspended=[key(HELD)],
                      flags_set=["noout", "norebalance", "nobackfill"], operator_replicas=2)
    run = startup_with(monkeypatch, session, tools, block)
    assert run.step("operator", run.operator_back) == "Rook operator: scaled from 0 to 2"
    assert run.step("flags", run.clear_flags) == "Ceph: cleared noout, norebalance, nobackfill"
    assert tools.flags == {"noscrub"}
    assert run.step("flux", run.flux) == ("Flux: resumed 2; left suspended as before the shutdown: "
                                          "HelmRelease cert-manager/cert-manager")
    assert tools.changes == ["scale 2", "unset noout", "unset nobackfill", "resume Kustomization flux-system/apps",
                             "resume HelmRelease kube-system/cilium"]
    assert [o.suspended for o in tools.objects] == [False, True, False]


def test_a_stopped_startup_names_the_flags_and_the_flux_objects_left(monkeypatch, session):
    tools = FakeTools([obj("Kustomization", "flux-system", "apps", suspended=True)], flags={"noout"})
    block = PowerDown(suspended=[key(APPS)], flags_set=["noout"], operator_replicas=1)
    run = startup_with(monkeypatch, session, tools, block)
    stopped = run.stop("wait for every OSD up and clean PGs", "1 of 3 OSDs down")
    assert str(stopped) == (
        "cluster-startup: stopped at step 'wait for every OSD up and clean PGs': 1 of 3 OSDs down; left in place: "
        "Ceph flags still set: noout (on purpose: cleared only once every OSD is up and PGs are clean, so no data "
        "moves meanwhile); Flux still suspended: Kustomization flux-system/apps (on purpose: resumed only once Ceph "
        "is healthy); run cluster-startup again once the cause is fixed")


def test_a_stopped_startup_counts_many_flux_objects_and_names_the_record_that_lists_them(monkeypatch, session):
    names = [f"Kustomization flux-system/k{i}" for i in range(24)]
    block = PowerDown(suspended=names, flags_set=["noout"], operator_replicas=1)
    run = startup_with(monkeypatch, session, FakeTools([], flags={"noout"}), block)
    stopped = str(run.stop("wait for every OSD up and clean PGs", "1 of 3 OSDs down"))
    assert (f"Flux still suspended: {', '.join(names[:3])} and 21 more (24 in all, each named in the record "
            f"{run.shutdown.path.name}) (on purpose: resumed only once Ceph is healthy)") in stopped
    assert "k3," not in stopped


def test_startup_without_a_record_clears_the_shutdown_flags_it_sees_and_resumes_only_when_asked(monkeypatch, session):
    apps = obj("Kustomization", "flux-system", "apps", suspended=True)
    tools = FakeTools([apps], flags={"noout", "noscrub"}, replicas=0)
    run = startup_with(monkeypatch, session, tools, None)
    assert "no cluster-shutdown record to undo" in run.source()
    assert run.step("operator", run.operator_back) == "Rook operator: scaled from 0 to 1"
    run._note_flags()
    assert run.step("flags", run.clear_flags) == "Ceph: cleared noout"
    assert tools.flags == {"noscrub"}
    assert run.step("flux", run.flux).startswith("Flux: suspended now, left so: Kustomization flux-system/apps")
    assert tools.objects[0].suspended

    asked = startup_with(monkeypatch, session, tools, None, resume_flux=True)
    assert asked.step("flux", asked.flux) == "Flux: resumed 1"
    assert not tools.objects[0].suspended


def test_the_control_plane_wait_says_why_both_are_needed(monkeypatch, session):
    tools = FakeTools([])
    run = startup_with(monkeypatch, session, tools, None)
    monkeypatch.setattr(talos_power, "answers",
                        lambda address, waiting=None:
                        True if address == "10.0.10.11" else "connect: connection refused")
    with pytest.raises(RunbookStopped) as stopped:
        run.step("wait for the control planes", run.control_planes)
    message = str(stopped.value)
    assert "a 2-member etcd needs all 2 for quorum" in message
    assert "last seen: not answering: cp-2 (connect: connection refused)" in message
    assert "nothing changed" in message


def test_ceph_is_up_only_with_every_osd_up_and_clean_pgs(monkeypatch, session):
    from homeops.tools import ceph

    tools = FakeTools([])
    run = startup_with(monkeypatch, session, tools, PowerDown(flags_set=["noout"]))
    answers = iter([CephStatus("HEALTH_WARN", (), 3, 2, 3, (("active+undersized+degraded", 10),), 10),
                    CephStatus("HEALTH_WARN", (), 3, 3, 3, (("active+recovering", 10),), 10),
                    CephStatus("HEALTH_WARN", (), 3, 3, 3, (("active+clean+scrubbing", 10),), 10)])
    monkeypatch.setattr(ceph, "status", lambda: next(answers))
    assert run.step("ceph", run.ceph_up) == "Ceph: every OSD up, every PG clean"
    with pytest.raises(StopIteration):
        next(answers)


def test_workers_go_in_one_call_control_planes_one_each_through_themselves_and_a_node_off_is_left_out(
        monkeypatch, session):
    calls = []
    off = {"10.0.10.22"}
    monkeypatch.setattr(talos_power, "answers",
                        lambda address, waiting=None: "connect: connection refused" if address in off else True)

    def shutdown(gate, addresses, *, timeout, endpoint=None, why=""):
        calls.append((list(addresses), endpoint))
        off.update(addresses)

    monkeypatch.setattr(talos_power, "shutdown", shutdown)
    run = power_down.PowerDownRun(session(), PowerDown())
    assert run.step("workers", lambda: run.shut_down("worker")).endswith("their Talos API no longer answers")
    assert run.step("control planes", lambda: run.shut_down("control-plane")).startswith("the control-planes off")
    assert calls == [(["10.0.10.21", "10.0.10.23"], None), (["10.0.10.11"], "10.0.10.11"),
                     (["10.0.10.12"], "10.0.10.12")]
    assert run.state.shut_down == ["worker-1", "worker-3", "cp-1", "cp-2"]


def test_a_node_still_answering_after_its_shutdown_stops_the_run_naming_it(monkeypatch, session):
    monkeypatch.setattr(talos_power, "answers", lambda address, waiting=None: True)
    monkeypatch.setattr(talos_power, "shutdown", lambda gate, addresses, **_: None)
    run = power_down.PowerDownRun(session(), PowerDown(flags_set=["noout"]))
    with pytest.raises(RunbookStopped) as stopped:
        run.step("shut down the workers", lambda: run.shut_down("worker"))
    message = str(stopped.value)
    assert message.startswith("cluster-shutdown: stopped at step 'confirm the workers are off': ")
    assert "still answering: worker-1, worker-2, worker-3" in message
    assert "Ceph flags set: noout; shutdown sent to worker-1, worker-2, worker-3" in message


# -- the rules' edges (what mutation testing found unpinned) ---------------------------------------------

def test_the_block_line_is_sorted_json_and_its_lock_reads_back():
    state = PowerDown(lock="released before the control planes went down")
    assert state.line() == MARKER + json.dumps(
        {"already_suspended": [], "flags_before": [], "flags_set": [], "lock": state.lock,
         "operator_replicas": None, "shut_down": [], "suspended": []})
    assert PowerDown.parse(json.loads(state.line()[len(MARKER):])).lock == state.lock
    assert PowerDown.parse({}).lock == "held"


def test_a_block_is_found_past_other_cells_outputs_broken_lines_and_in_text_given_whole():
    block = PowerDown(flags_set=["noout"]).line()
    record = {"cells": [
        "not a cell",
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {}},
                                          {"output_type": "stream",
                                           "text": "a line first\n" + MARKER + "{broken\n" + block + "\n"}]},
        {"cell_type": "code", "outputs": [{"output_type": "stream", "text": "no block here\n"}]},
    ]}
    assert from_notebook(record).flags_set == ["noout"]


def test_the_records_are_ordered_by_when_they_started_not_by_name(tmp_path):
    write(tmp_path, "20260102T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-01T00:00:00Z",
          block=PowerDown(flags_set=["first"]))
    write(tmp_path, "20260101T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-02T00:00:00Z",
          block=PowerDown(flags_set=["second"]))
    assert last_shutdown(tmp_path, twin=True).state.flags_set == ["second"]


def test_records_of_another_runbook_and_this_runs_own_are_not_read(tmp_path):
    write(tmp_path, "20260101T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-01T00:00:00Z",
          block=PowerDown(flags_set=["first"]))
    write(tmp_path, "20260102T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-02T00:00:00Z",
          block=PowerDown(flags_set=["second"]))
    write(tmp_path, "20260103T000000Z-cluster-shutdown.ipynb", "flux-reconcile", started="2026-01-03T00:00:00Z",
          block=PowerDown(flags_set=["not a shutdown"]))
    first = tmp_path / "20260101T000000Z-cluster-shutdown.ipynb"
    assert last_shutdown(tmp_path, twin=True, besides=first).state.flags_set == ["second"]
    found = last_shutdown(tmp_path, twin=True)
    assert found.state.flags_set == ["second"]
    assert found.describe() == ("20260102T000000Z-cluster-shutdown.ipynb (cluster-shutdown completed, "
                                "started 2026-01-02T00:00:00Z)")


def test_a_startup_of_the_same_second_undoes_the_shutdown_and_this_startups_own_record_does_too(tmp_path):
    write(tmp_path, "20260101T000000Z-cluster-shutdown.ipynb", "cluster-shutdown", started="2026-01-01T00:00:00Z",
          block=PowerDown(flags_set=["noout"]))
    write(tmp_path, "20260101T000000Z-cluster-startup.ipynb", "cluster-startup", started="2026-01-01T00:00:00Z")
    own = tmp_path / "20260101T000000Z-cluster-startup.ipynb"
    assert last_shutdown(tmp_path, twin=True) is None
    # A completed startup is a completed startup even when it is the reader's own record: the shutdown is undone.
    assert last_shutdown(tmp_path, twin=True, besides=own) is None


def test_the_records_directory_is_the_runs_own_then_the_environments_then_the_projects(tmp_path, monkeypatch, session):
    from homeops.procedures.power_state import records_directory
    from homeops.runner.guard import RECORDS_ENV

    class Guard:
        record_path = tmp_path / "mine" / "20260101T000000Z-cluster-startup.ipynb"

    class WithGuard:
        guard = Guard()
        project = tmp_path / "project"

    monkeypatch.delenv(RECORDS_ENV, raising=False)
    assert records_directory(WithGuard()) == tmp_path / "mine"
    plain = Session(session().cluster, Gate(True, out=io.StringIO()), 1.0, 0.1, project=tmp_path / "project")
    assert records_directory(plain) == tmp_path / "project" / "records"
    monkeypatch.setenv(RECORDS_ENV, str(tmp_path / "elsewhere"))
    assert records_directory(plain) == tmp_path / "elsewhere"
    monkeypatch.delenv(RECORDS_ENV)
    assert records_directory(Session(plain.cluster, plain.gate, 1.0, 0.1)) is None


def test_the_last_line_of_a_refusal_is_what_answers_says():
    assert talos_power._last_line(ToolError(["talosctl"], 1, "1 error occurred:\n\t* a\n\t* b: refused\n\n")) == "* b: refused"
    bare = ToolError(["talosctl"], 1, "")
    assert talos_power._last_line(bare) == str(bare)


def test_a_shutdown_without_an_answer_names_the_nodes_that_may_be_going_down(monkeypatch):
    seen = {}

    def run(argv, *, timeout, **_):
        seen["timeout"] = timeout
        raise ToolTimeout(argv, timeout)

    monkeypatch.setattr(process, "run", run)
    out = io.StringIO()
    with pytest.raises(ToolTimeout) as timed_out:
        talos_power.shutdown(Gate(True, out=out), ["10.0.10.21", "10.0.10.22"], timeout=900, why="the workers")
    assert seen["timeout"] == 900 + talos_power.SHUTDOWN_MARGIN
    assert timed_out.value.in_doubt == "10.0.10.21, 10.0.10.22 may be shutting down or off"
    assert "shutdown --force --timeout 900s  # the workers" in out.getvalue()


class FluxCalls:
    """flux.suspend and flux.resume as the procedures call them: every argument kept."""

    def __init__(self, monkeypatch, objects: list[FluxObject], fail: BaseException | None = None):
        from homeops.tools import flux

        self.objects, self.calls, self.fail = objects, [], fail
        monkeypatch.setattr(flux_suspension, "flux_objects", self.read)
        monkeypatch.setattr(flux, "suspend", lambda gate, o, why="": self.call("suspend", o, None, why))
        monkeypatch.setattr(flux, "resume", lambda gate, o, timeout, why="": self.call("resume", o, timeout, why))

    def read(self) -> list[FluxObject]:
        if isinstance(self.fail, ToolError) and not self.calls and self.fail.argv == ["read"]:
            raise self.fail
        return list(self.objects)

    def call(self, verb, o, timeout, why):
        if self.fail is not None and not (isinstance(self.fail, ToolError) and self.fail.argv == ["read"]):
            raise self.fail
        self.calls.append((verb, str(o), timeout, why))


def test_other_kinds_go_after_helmreleases():
    source = obj("GitRepository", "flux-system", "flux-system")
    assert flux_suspension.in_order([source, CILIUM, APPS]) == [APPS, CILIUM, source]


def test_suspend_says_why_and_what_it_did_or_would_do(monkeypatch, session):
    calls = FluxCalls(monkeypatch, [CILIUM, FLUX_SYSTEM])
    state = PowerDown()
    assert flux_suspension.suspend_all(session(), state, lambda: None) == \
        "Flux: suspended 2 of 2 Kustomizations and HelmReleases"
    assert calls.calls == [("suspend", str(FLUX_SYSTEM), None, "nothing may reconcile while the cluster goes down"),
                           ("suspend", str(CILIUM), None, "nothing may reconcile while the cluster goes down")]
    other = obj("HelmRelease", "default", "held", suspended=True)
    FluxCalls(monkeypatch, [CILIUM, HELD, other])
    assert flux_suspension.suspend_all(session(apply=False), PowerDown(), lambda: None) == (
        "Flux: would suspend 1 of 3 Kustomizations and HelmReleases; already suspended before, left so: "
        "HelmRelease cert-manager/cert-manager, HelmRelease default/held")


@pytest.mark.parametrize("fail, said", [
    (ToolError(["flux"], 1, "✗ no"), "Flux: cannot suspend Kustomization flux-system/flux-system: "),
    (KeyboardInterrupt(), "Flux: interrupted (Ctrl-C, Kernel > Interrupt or a signal) while suspending "
                          "Kustomization flux-system/flux-system; Kustomization flux-system/flux-system may be suspended"),
    (ToolError(["read"], 1, "refused"), "Flux: cannot read the Kustomizations and HelmReleases: "),
])
def test_a_suspend_that_fails_stops_naming_it(monkeypatch, session, fail, said):
    FluxCalls(monkeypatch, [FLUX_SYSTEM], fail=fail)
    with pytest.raises(RunbookStopped) as stopped:
        flux_suspension.suspend_all(session(), PowerDown(), lambda: None)
    assert str(stopped.value).startswith(said)


def test_resume_skips_what_is_resumed_already_says_what_is_gone_and_waits_as_long_as_the_run_may(monkeypatch, session):
    apps = obj("Kustomization", "flux-system", "apps", suspended=True)
    calls = FluxCalls(monkeypatch, [FLUX_SYSTEM, CILIUM, apps])
    done: list[str] = []
    run = session()
    flux_suspension.resume(run, [key(FLUX_SYSTEM), key(apps), "HelmRelease gone/gone", key(CILIUM)], done)
    assert done == [key(FLUX_SYSTEM), key(apps), key(CILIUM)]
    why = "suspended by cluster-shutdown: Flux takes it back now that the cluster is up"
    assert calls.calls == [("resume", str(apps), run.wait_timeout, why)]
    said = run.gate._out.getvalue()
    assert "HelmRelease gone/gone is no longer in the cluster: nothing to resume" in said
    assert "Kustomization flux-system/flux-system is no longer" not in said


def test_resume_that_cannot_read_flux_stops(monkeypatch, session):
    FluxCalls(monkeypatch, [], fail=ToolError(["read"], 1, "refused"))
    with pytest.raises(RunbookStopped, match="^Flux: cannot read the Kustomizations and HelmReleases: "):
        flux_suspension.resume(session(), [key(APPS)], [])


def test_the_block_shown_folded_in_jupyterlab_is_read_back_from_its_plain_text():
    """In JupyterLab the block is a display (folded under its summary), whose text/plain is the line: the record
    keeps it there, and startup finds it as it finds a printed one."""
    block = PowerDown(suspended=["Kustomization flux-system/flux-system"], flags_set=["noout"],
                      shut_down=["worker-1"], operator_replicas=1)
    record = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "metadata": {},
         "data": {"text/plain": block.line(), "text/html": "<details>...</details>"}}]}]}
    assert from_notebook(record) == block
    assert block.summary() == ("cluster-shutdown state, kept for cluster-startup: 1 Flux object(s) suspended; "
                               "flags set: noout; shut down: worker-1; lock: held")
    assert from_notebook({"cells": [{"outputs": [{"output_type": "display_data", "data": "not a bundle"}]}]}) is None


def test_a_stop_names_a_few_flux_objects_and_counts_the_rest():
    """All 24 Flux objects of a cluster in a stop made one paragraph of it (seen in JupyterLab): the first few
    are named, the rest counted, and the stop says where each is named."""
    names = [f"Kustomization flux-system/k{i}" for i in range(24)]
    run = power_down.PowerDownRun(Session(cluster=None, gate=Gate(True, out=io.StringIO()), wait_timeout=1,
                                          poll_interval=1), PowerDown(suspended=names))
    left = run.left()
    assert left.startswith("left in place: Flux suspended: Kustomization flux-system/k0, Kustomization "
                           "flux-system/k1, Kustomization flux-system/k2 and 21 more (24 in all, each named in this "
                           "run's record (its cluster-shutdown state));")
    assert "k3," not in left and "k23" not in left
    four = power_down.PowerDownRun(run.session, PowerDown(suspended=names[:4])).left()
    assert "Flux suspended: " + ", ".join(names[:4]) + ";" in four  # four are named: "and 1 more" says no less
