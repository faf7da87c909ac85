"""cluster-startup's edges, in process (mutation testing sees these calls): what the wait for the control
planes says while a probe of a machine that is off has no answer yet, and what a stop without a record
names of the Flux objects it leaves suspended."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from homeops import load_cluster
from homeops.gate import Gate
from homeops.procedures import power_up, waits
from homeops.procedures.power_state import LastShutdown, PowerDown
from homeops.procedures.session import Session
from homeops.tools import talos_power

from tests.runbooks.conftest import ROOT
from tests.said import said

CP1, CP2 = "10.0.10.11", "10.0.10.12"
BOTH = ("both control planes' Talos API (cp-1, cp-2; a 2-member etcd needs all 2 for quorum: the API cannot come "
        "up before the last one)")
TIMED_OUT = "rpc error: code = Unavailable desc = dial tcp 10.0.10.12:50000: i/o timeout"  # talosctl's last line


class FakeTime:
    """The `time` of homeops.procedures.waits: it moves only when the run sleeps or a fake probe waits."""

    def __init__(self):
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(waits, "time", fake)
    return fake


def startup(monkeypatch, *, apply: bool = True, block: PowerDown | None = None,
            resume_flux: bool = False) -> power_up.PowerUpRun:
    found = (LastShutdown(Path("/records/20260101T000000Z-cluster-shutdown.ipynb"),
                          {"outcome": "completed", "started": "2026-01-01T00:00:00Z"}, block) if block else None)
    monkeypatch.setattr(power_up, "last_shutdown", lambda *a, **k: found)
    session = Session(load_cluster(ROOT / "cluster.yaml"), Gate(apply, out=io.StringIO()), wait_timeout=60.0,
                      poll_interval=2.0)
    return power_up.PowerUpRun(session, resume_flux=resume_flux)


def lines(run: power_up.PowerUpRun) -> list[str]:
    return said(run.session.gate._out.getvalue())


def slow_probes(clock: FakeTime, answers: dict[str, list], quiet: float, asked: list):
    """talos_power.answers for the control planes: each address answers its list in turn; a `None` in it is a
    probe that stays quiet `quiet` seconds (it says so through `waiting`), then times out."""

    def probe(address: str, *, waiting=None):
        asked.append((address, waiting is not None))
        answer = answers[address].pop(0)
        if answer is None:
            clock.now += quiet
            waiting(quiet)
            return TIMED_OUT
        return answer

    return probe


def test_a_probe_with_no_answer_yet_is_said_through_the_waits_own_reporter(monkeypatch, clock):
    """cp-2 is off: each look's probe of it is quiet, which the wait says it still asks, then what the look saw."""
    asked = []
    monkeypatch.setattr(talos_power, "answers", slow_probes(clock, {CP1: [True, True, True], CP2: [None, None, True]},
                                                            5.0, asked))
    run = startup(monkeypatch)

    assert run.control_planes() == "control planes: cp-1, cp-2 answer"

    assert asked == [(CP1, True), (CP2, True)] * 3  # every probe of a run hears how long it is quiet
    seen = f"waiting for {BOTH}: not answering: cp-2 ({TIMED_OUT})"
    assert lines(run) == [
        f"waiting for {BOTH}: asking cp-2's Talos API: no answer yet after 5s (5s of 60s)",
        f"{seen} (5s of 60s)",
        f"waiting for {BOTH}: asking cp-2's Talos API: no answer yet after 5s (10s of 60s)",
        f"{seen} (10s of 60s)",
    ]


def test_what_a_look_saw_is_said_again_after_a_probes_line_however_soon(monkeypatch, clock):
    """One reporter hears the probe's lines and the looks': after `asking cp-2's Talos API` the screen always
    says what the look then saw, even the same as the last look's and within 5 s of it, so its last line is
    never a question already answered."""
    asked = []
    monkeypatch.setattr(talos_power, "answers", slow_probes(clock, {CP1: [True, True, True], CP2: [None, None, True]},
                                                            1.0, asked))
    run = startup(monkeypatch)

    run.control_planes()

    assert [line.split(": ", 2)[2] for line in lines(run)] == [
        "asking cp-2's Talos API: no answer yet after 1s (1s of 60s)",
        f"not answering: cp-2 ({TIMED_OUT}) (1s of 60s)",
        "asking cp-2's Talos API: no answer yet after 1s (2s of 60s)",
        f"not answering: cp-2 ({TIMED_OUT}) (2s of 60s)",
    ]


def test_a_plans_single_look_at_the_control_planes_hears_nothing_while_it_lasts(monkeypatch, clock):
    asked = []
    monkeypatch.setattr(talos_power, "answers", lambda address, waiting=None: asked.append((address, waiting)) or True)
    run = startup(monkeypatch, apply=False)

    assert run.control_planes() == "control planes: all answer now"

    assert asked == [(CP1, None), (CP2, None)]  # a plan's probe says nothing: there is no wait to report in
    assert lines(run) == [f"PLAN: would wait for {BOTH} (up to 60s)"]


def test_a_stop_without_a_record_names_every_flux_object_it_would_still_resume(monkeypatch):
    """Without a record there is none to point to: every object left suspended is named, however many."""
    run = startup(monkeypatch, resume_flux=True)
    run.seen_suspended = [f"Kustomization flux-system/k{i}" for i in range(5)]
    run.resumed = ["Kustomization flux-system/k0"]

    assert str(run.stop("resume Flux", "refused")) == (
        "cluster-startup: stopped at step 'resume Flux': refused; left in place: Flux still suspended: "
        "Kustomization flux-system/k1, Kustomization flux-system/k2, Kustomization flux-system/k3, Kustomization "
        "flux-system/k4 (on purpose: resumed only once Ceph is healthy); resumed: Kustomization flux-system/k0; run "
        "cluster-startup again once the cause is fixed")
