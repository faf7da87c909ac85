"""`waits.WaitProgress`: a wait says what it waits for, what it sees, and how long, at least every 5 s."""

from __future__ import annotations

import io
import re

from homeops.gate import Gate
from homeops.procedures.waits import PROGRESS_EVERY_SECONDS, WaitProgress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_wait_reports_each_change_at_once_and_an_unchanged_state_every_5_seconds():
    assert PROGRESS_EVERY_SECONDS == 5.0
    clock, out = Clock(), io.StringIO()
    progress = WaitProgress("worker-2 Ready", 900, Gate(apply=True, out=out).say, clock=clock)
    progress.saw("NotReady, boot 1a2b")
    clock.now += 4
    progress.saw("NotReady, boot 1a2b")  # unchanged, 4 s later: quiet
    clock.now += 2
    progress.saw("NotReady, boot 1a2b")  # unchanged, 6 s after the last line: said again
    clock.now += 1
    progress.saw("Ready, boot 9f8e")  # changed: said at once
    lines = out.getvalue().splitlines()
    assert [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in lines] == [
        "waiting for worker-2 Ready: NotReady, boot 1a2b (0s of 900s)",
        "waiting for worker-2 Ready: NotReady, boot 1a2b (6s of 900s)",
        "waiting for worker-2 Ready: Ready, boot 9f8e (7s of 900s)",
    ]
    assert all(re.match(r"\d\d:\d\d:\d\d waiting for ", line) for line in lines), "every line carries its time"
