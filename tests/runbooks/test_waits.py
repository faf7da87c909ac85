"""wait_until on a clock the test controls: how often it looks, when it gives up, what it reports."""

from __future__ import annotations

import io
import re

import pytest

from homeops.gate import Gate
from homeops.procedures import waits
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools.process import ToolError


class FakeTime:
    """Stands in for the `time` module of homeops.procedures.waits: time moves only by sleep()."""

    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert len(self.sleeps) < 1000, "wait_until keeps polling without time passing"
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeTime:
    """Fake time, and looks at a steady poll_interval (no short first pauses) so deadlines are round."""
    fake = FakeTime()
    monkeypatch.setattr(waits, "time", fake)
    monkeypatch.setattr(waits, "FIRST_PAUSE", 1e9)
    return fake


def test_the_first_looks_come_quickly_then_back_off_to_poll_interval(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(waits, "time", fake)
    looks: list[float] = []

    wait_until(true_on_look(7, fake, looks), timeout=60, poll_interval=0.5, what="x")

    assert fake.sleeps == pytest.approx([0.1, 0.15, 0.225, 0.3375, 0.5, 0.5])


def true_on_look(n: int, clock: FakeTime, looks: list[float]):
    def predicate() -> bool:
        looks.append(clock.now - 100.0)
        return len(looks) >= n
    return predicate


def test_it_looks_every_poll_interval_and_returns_as_soon_as_the_state_is_reached(clock):
    looks: list[float] = []

    wait_until(true_on_look(4, clock, looks), timeout=10, poll_interval=1, what="x")

    assert looks == [0, 1, 2, 3]


def test_a_state_reached_at_the_very_deadline_still_counts(clock):
    looks: list[float] = []

    wait_until(true_on_look(11, clock, looks), timeout=10, poll_interval=1, what="x")

    assert looks[-1] == 10


def test_it_gives_up_at_the_deadline_with_a_last_look_there_and_no_longer(clock):
    looks: list[float] = []

    with pytest.raises(WaitTimedOut) as caught:
        wait_until(true_on_look(10**6, clock, looks), timeout=2.5, poll_interval=1, what="worker-1 Ready")

    assert looks == [0, 1, 2, 2.5]
    assert clock.sleeps == [1, 1, 0.5]  # the last sleep is cut to the deadline
    assert str(caught.value) == "worker-1 Ready did not happen within 2.5s"
    assert (caught.value.what, caught.value.timeout, caught.value.last_error) == ("worker-1 Ready", 2.5, None)


def test_a_failing_tool_counts_as_not_yet_and_its_last_error_is_reported(clock):
    calls = []

    def predicate() -> bool:
        calls.append(clock.now)
        raise ToolError(["kubectl", "get", "node", "worker-1"], 1, f"refused {len(calls)}", "")

    with pytest.raises(WaitTimedOut) as caught:
        wait_until(predicate, timeout=2, poll_interval=1, what="worker-1 Ready")

    assert len(calls) == 3
    assert caught.value.last_error == str(ToolError(["kubectl", "get", "node", "worker-1"], 1, "refused 3", ""))
    assert str(caught.value) == f"worker-1 Ready did not happen within 2s (last error: {caught.value.last_error})"


def test_an_error_that_is_not_a_tool_error_is_not_swallowed(clock):
    def predicate() -> bool:
        raise KeyError("status")

    with pytest.raises(KeyError):
        wait_until(predicate, timeout=5, poll_interval=1, what="x")
    assert clock.sleeps == []


def said(out: io.StringIO) -> list[str]:
    lines = out.getvalue().splitlines()
    assert all(re.match(r"\d\d:\d\d:\d\d ", line) for line in lines), "every line carries its time"
    return [line[9:] for line in lines]


def test_a_wait_for_a_change_says_what_it_waits_for_then_what_the_looks_see_at_least_every_5_seconds(clock):
    out = io.StringIO()
    session = Session(cluster=None, gate=Gate(apply=True, out=out), wait_timeout=60.0, poll_interval=2.0)
    looks: list[float] = []

    def look() -> bool | str:
        looks.append(clock.now - 100.0)
        return clock.now - 100.0 >= 14 or ("0 of 3 up" if clock.now - 100.0 < 10 else "2 of 3 up")

    assert waits.wait_for(session, "every node up", look) is True

    assert looks == [0, 2, 4, 6, 8, 10, 12, 14]
    assert said(out) == [
        "waiting for every node up (up to 60s)",
        "waiting for every node up: 0 of 3 up (0s of 60s)",
        "waiting for every node up: 0 of 3 up (6s of 60s)",  # unchanged, but 5 s passed
        "waiting for every node up: 2 of 3 up (10s of 60s)",  # changed: at once
    ]


def test_a_wait_for_a_change_in_plan_mode_only_says_it_would_wait(clock):
    out = io.StringIO()
    session = Session(cluster=None, gate=Gate(apply=False, out=out), wait_timeout=60.0, poll_interval=2.0)

    assert waits.wait_for(session, "every node up", lambda: pytest.fail("a plan looked at the cluster")) is False

    assert out.getvalue().splitlines() == ["PLAN: would wait for every node up (up to 60s)"]  # a plan line: no time


def test_a_wait_for_a_change_that_never_comes_times_out_having_said_what_it_saw(clock):
    out = io.StringIO()
    session = Session(cluster=None, gate=Gate(apply=True, out=out), wait_timeout=7.0, poll_interval=2.0)

    with pytest.raises(WaitTimedOut) as caught:
        waits.wait_for(session, "etcd: 2 members", lambda: "cp-2 a learner")

    assert str(caught.value) == "etcd: 2 members did not happen within 7s"
    assert said(out)[-1] == "waiting for etcd: 2 members: cp-2 a learner (6s of 7s)"


def test_a_slow_look_says_what_it_still_asks_through_the_waits_own_reporter(clock):
    """A look that takes long (a probe of a machine that is off times out only after seconds) reports
    through the reporter of its wait, so the screen names what the run waits for while the look lasts."""
    out = io.StringIO()
    session = Session(cluster=None, gate=Gate(apply=True, out=out), wait_timeout=60.0, poll_interval=2.0)
    report = waits.progress(session, "the workers off")

    def look() -> bool | str:
        still, asked = waits.looking(report, "asking worker-1's Talos API"), clock.now
        for _ in range(2):  # the probe's quiet seconds pass, twice, before it gives up
            clock.now += 5
            still(clock.now - asked)
        return clock.now - 100.0 >= 20 or "still answering: worker-2"

    wait_until(look, 60.0, 2.0, "the workers off", progress=report)

    assert said(out) == [
        "waiting for the workers off: asking worker-1's Talos API: no answer yet after 5s (5s of 60s)",
        "waiting for the workers off: asking worker-1's Talos API: no answer yet after 10s (10s of 60s)",
        "waiting for the workers off: still answering: worker-2 (10s of 60s)",
        "waiting for the workers off: asking worker-1's Talos API: no answer yet after 5s (17s of 60s)",
        "waiting for the workers off: asking worker-1's Talos API: no answer yet after 10s (22s of 60s)",
    ]


def test_each_look_is_reported_as_seen_not_yet_or_the_tools_first_line_of_failure(clock):
    """A look that says nothing is heard as "not yet"; a tool that fails, by the first line of its error."""
    heard: list[str] = []
    answers = iter([False, "", "1 of 3 up", ToolError(["kubectl", "get", "nodes"], 1, "refused\n"), True])

    def look() -> bool | str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    wait_until(look, timeout=60, poll_interval=1, what="x", progress=heard.append)

    assert heard == ["not yet", "not yet", "1 of 3 up", "the tools fail (`kubectl get nodes` exited 1: refused)"]


def test_an_unchanged_look_is_said_again_once_every_seconds_have_passed_and_not_before():
    now = [100.0]
    heard: list[str] = []
    report = waits.WaitProgress("x", 60.0, heard.append, every=5.0, clock=lambda: now[0])
    for moment in (100.0, 104.0, 105.0, 109.0, 110.0):
        now[0] = moment
        report.saw("0 of 3 up")
    assert heard == ["waiting for x: 0 of 3 up (0s of 60s)", "waiting for x: 0 of 3 up (5s of 60s)",
                     "waiting for x: 0 of 3 up (10s of 60s)"]
