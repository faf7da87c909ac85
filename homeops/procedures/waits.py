"""Waiting for the cluster to reach a state, with a timeout and a poll interval, never forever."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from homeops.tools.process import ToolError

# A wait says what it sees at a look when that changed, or when this long passed since its last
# line: with looks at most poll_interval (10 s by default) apart, a line every 15 s at most.
PROGRESS_EVERY_SECONDS = 5.0

# A wait looks again soon after it starts and then less and less often, up to poll_interval: most
# changes a runbook waits for (a reboot, a recovery) end within seconds of the first looks, and a
# long wait still asks the cluster only once every poll_interval.
FIRST_PAUSE = 0.1
BACKOFF = 1.5


def pauses(poll_interval: float):
    """The pauses between two looks: 0.1 s, then 1.5 times longer each time, never above poll_interval."""
    pause = min(FIRST_PAUSE, poll_interval)
    while True:
        yield pause
        pause = min(pause * BACKOFF, poll_interval)


class WaitTimedOut(Exception):
    def __init__(self, what: str, timeout: float, last_error: str | None):
        self.what = what
        self.timeout = timeout
        self.last_error = last_error
        detail = f" (last error: {last_error})" if last_error else ""
        super().__init__(f"{what} did not happen within {timeout:g}s{detail}")


@dataclass
class WaitProgress:
    """Reports one wait: what it waits for, what it sees now, elapsed of its timeout."""

    what: str
    timeout: float
    say: Callable[[str], None]
    every: float = PROGRESS_EVERY_SECONDS
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    _last_said: float | None = None
    _last_seen: str | None = None

    def __post_init__(self) -> None:
        self.started = self.clock()

    def saw(self, now_seen: str) -> None:
        """Call at each look: a line when what is seen changed, or `every` seconds passed since the last one."""
        moment = self.clock()
        if (self._last_said is not None and now_seen == self._last_seen
                and moment - self._last_said < self.every):
            return
        self._last_said, self._last_seen = moment, now_seen
        self.say(f"waiting for {self.what}: {now_seen} "
                 f"({moment - self.started:.0f}s of {self.timeout:g}s)")


def progress(session, what: str) -> Callable[[str], None]:
    """The reporter of one wait of `session`: what each look saw, said when it changed and at least
    every PROGRESS_EVERY_SECONDS."""
    return WaitProgress(what, session.wait_timeout, session.say, clock=time.monotonic).saw  # wait_until's clock


def looking(report: Callable[[str], None], doing: str) -> Callable[[float], None]:
    """What a slow look of a wait says while it has no answer yet (a probe of a machine that is off
    times out only after seconds), through the wait's own reporter: `DOING: no answer yet after Ns`.
    Between two looks the wait says what it saw; during a long look, this."""
    return lambda waited: report(f"{doing}: no answer yet after {waited:.0f}s")


def wait_for(session, what: str, look: Callable[[], bool | str]) -> bool:
    """A runbook's wait for a change it made: False in plan mode, where only the plan line is said (a
    planned change cannot be seen to take effect); otherwise says what it waits for and calls `look`
    until it returns True, saying what each look saw (`look` returns it: "2 of 3 up; cp-2 not
    answering yet") through `progress`. True once seen; WaitTimedOut after session.wait_timeout."""
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
        return False
    session.say(f"waiting for {what} (up to {session.wait_timeout:g}s)")
    wait_until(look, session.wait_timeout, session.poll_interval, what, progress=progress(session, what))
    return True


def wait_until(predicate: Callable[[], bool | str], timeout: float, poll_interval: float, what: str,
               progress: Callable[[str], None] | None = None) -> None:
    """Poll `predicate` until it returns True; raise WaitTimedOut after `timeout` seconds.

    `predicate` may say what it saw instead of False (a str: "40 of 137 PGs not active+clean").
    `progress` hears what each look saw (`waits.progress(session, what)`), so a long wait is never
    a silent screen.

    The looks back off from FIRST_PAUSE to `poll_interval` (see `pauses`). A tool that fails
    while polling (a node rebooting, an API server restarting) counts as "not yet": what is
    awaited is often exactly what makes the tools fail for a while.
    """
    deadline = time.monotonic() + timeout
    last_error: str | None = None
    gaps = pauses(poll_interval)
    while True:
        try:
            answer = predicate()
            if answer and not isinstance(answer, str):
                return
            seen = answer or "not yet"
        except ToolError as exc:
            last_error = str(exc)
            seen = f"the tools fail ({last_error.splitlines()[0] if last_error else 'no output'})"
        if progress is not None:
            progress(seen)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimedOut(what, timeout, last_error)
        time.sleep(min(next(gaps), remaining))
