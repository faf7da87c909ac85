"""Waiting for the cluster to reach a state, with a timeout and a poll interval, never forever."""

from __future__ import annotations

import time
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


def progress(session, what: str) -> Callable[[str], None]:
    """The reporter of one wait of `session`: what each look saw, said when it changed and at least
    every PROGRESS_EVERY_SECONDS."""
    from homeops.procedures.session import WaitProgress

    return WaitProgress(what, session.wait_timeout, session.say, every=PROGRESS_EVERY_SECONDS).saw


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
