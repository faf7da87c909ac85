"""cluster-shutdown's edges that mutation testing found unpinned (tests/mutation): what its looks at
machines that may be off say while a probe has no answer yet, what JupyterLab shows of the block, and how a
stop names a few Flux objects. In process, with fakes, as tests/runbooks/test_procedures_power_whole.py."""

from __future__ import annotations

import io
import re

from homeops import load_cluster
from homeops.gate import Gate
from homeops.procedures import power_down
from homeops.procedures.power_state import PowerDown, few, from_notebook
from homeops.procedures.session import Session
from homeops.runner.display import folded_html
from homeops.tools import talos_power

from tests.runbooks.conftest import ROOT
from tests.said import said

ELAPSED = re.compile(r" \(\d+s of 0\.5s\)$")


def make_session(apply: bool = True) -> Session:
    return Session(load_cluster(ROOT / "cluster.yaml"), Gate(apply, out=io.StringIO()), wait_timeout=0.5,
                   poll_interval=0.01)


def out(session: Session) -> list[str]:
    """What the run said, each wait's elapsed time left out (it depends on the machine's speed)."""
    return [ELAPSED.sub("", line) for line in said(session.gate._out.getvalue())]


class SlowProbes:
    """talos_power as a machine that is off answers: each probe, before its answer, tells its listener it has
    waited 12 s. `off`: the addresses that never answer; those shut down go off."""

    def __init__(self, monkeypatch, off=()):
        self.off, self.calls = set(off), []
        monkeypatch.setattr(talos_power, "answers", self.answers)
        monkeypatch.setattr(talos_power, "shutdown", self.shutdown)

    def answers(self, address, waiting=None):
        assert waiting is not None, f"the probe of {address} has no listener: a look at a machine that is off is silent"
        waiting(12.0)
        return "i/o timeout" if address in self.off else True

    def shutdown(self, gate, addresses, *, timeout, endpoint=None, why=""):
        self.calls.append(list(addresses))
        self.off.update(addresses)


def test_the_look_before_the_shutdown_says_which_workers_talos_api_it_still_asks(monkeypatch):
    probes = SlowProbes(monkeypatch, off={"10.0.10.23"})
    session = make_session()
    run = power_down.PowerDownRun(session, PowerDown())
    assert run.shut_down("worker") == ("the workers off (worker-1, worker-2, worker-3): their Talos API no longer "
                                       "answers")
    assert probes.calls == [["10.0.10.21", "10.0.10.22"]]
    look = "waiting for an answer from each worker's Talos API (any already off is left out): asking"
    assert out(session)[:4] == [
        f"{look} worker-1's Talos API: no answer yet after 12s",
        f"{look} worker-2's Talos API: no answer yet after 12s",
        f"{look} worker-3's Talos API: no answer yet after 12s",
        "worker-3 is already off (its Talos API does not answer: i/o timeout)"]


def test_the_wait_for_the_nodes_off_says_which_one_it_still_asks(monkeypatch):
    SlowProbes(monkeypatch, off={"10.0.10.11", "10.0.10.12"})
    session = make_session()
    run = power_down.PowerDownRun(session, PowerDown())
    nodes = session.cluster.control_planes
    assert run.confirm_off(nodes, "control-plane") == (
        "the control-planes off (cp-1, cp-2): their Talos API no longer answers")
    what = "waiting for the control-planes off (cp-1, cp-2)"
    assert out(session) == [f"{what}: asking cp-1's Talos API: no answer yet after 12s",
                            f"{what}: asking cp-2's Talos API: no answer yet after 12s"]


def test_a_control_plane_already_off_is_said_and_the_other_goes_through_itself(monkeypatch):
    probes = SlowProbes(monkeypatch, off={"10.0.10.11"})
    session = make_session()
    run = power_down.PowerDownRun(session, PowerDown())
    assert run.shut_down("control-plane").endswith(": their Talos API no longer answers")
    assert probes.calls == [["10.0.10.12"]]
    assert run.state.shut_down == ["cp-2"]
    assert "cp-1 is already off (its Talos API does not answer: i/o timeout)" in out(session)


def test_jupyterlab_shows_the_block_folded_under_its_summary_and_the_record_keeps_the_line(monkeypatch):
    shown = []
    monkeypatch.setattr(power_down, "show", lambda plain, rich: shown.append((plain, rich)))
    state = PowerDown(flags_set=["noout"], shut_down=["worker-1"])
    run = power_down.PowerDownRun(make_session(), state)
    run.flush()
    assert shown == [(state.line(), folded_html(state.summary(), state.line()))]
    assert "cluster-shutdown state, kept for cluster-startup: 0 Flux object(s) suspended" in shown[0][1]


def test_the_summary_joins_several_and_says_none_for_none():
    assert PowerDown().summary() == ("cluster-shutdown state, kept for cluster-startup: 0 Flux object(s) suspended; "
                                     "flags set: none; shut down: none; lock: held")
    assert PowerDown(suspended=["a", "b"], flags_set=["noout", "norebalance"], shut_down=["worker-1", "worker-2"],
                     lock="released").summary() == (
        "cluster-shutdown state, kept for cluster-startup: 2 Flux object(s) suspended; flags set: noout, norebalance; "
        "shut down: worker-1, worker-2; lock: released")


def test_five_flux_objects_are_three_named_and_two_counted():
    names = [f"HelmRelease default/r{i}" for i in range(5)]
    assert few(names, "the record") == ("HelmRelease default/r0, HelmRelease default/r1, HelmRelease default/r2 and "
                                        "2 more (5 in all, each named in the record)")
    assert few(names[:4], "the record") == ", ".join(names[:4])
    assert few([], "the record") == ""


def test_a_records_block_is_found_past_outputs_of_its_own_cell_that_are_not_streams_or_displays():
    """A record is read with json alone (runner.records.read_record): an output that is not an object, one of
    another type (an error, a result) or one whose text is null, edited by hand or written by another version,
    is passed over, and the block after it in the same cell still counts."""
    block = PowerDown(flags_set=["noout"], shut_down=["worker-1"]).line()
    record = {"cells": [{"cell_type": "code", "outputs": [
        "not an output",
        {"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": []},
        {"output_type": "execute_result", "data": {"text/plain": "'done'"}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": None},
        {"output_type": "display_data", "data": {"text/plain": None}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": block + "\n"}]}]}
    assert from_notebook(record) == PowerDown(flags_set=["noout"], shut_down=["worker-1"])
