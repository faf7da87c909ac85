"""Waiting for the cluster to reach a state, with a timeout and a poll interval, never forever."""

from __future__ import annotations

import time
from typing import Callable

from homeops.tools.process import ToolError


class WaitTimedOut(Exception):
    def __init__(self, what: str, timeout: float, last_error: str | None):
        self.what = what
        self.timeout = timeout
        self.last_error = last_error
        detail = f" (last error: {last_error})" if last_error else ""
        super().__init__(f"{what} did not happen within {timeout:g}s{detail}")


def wait_until(predicate: Callable[[], bool], timeout: float, poll_interval: float, what: str) -> None:
    """Poll `predicate` until it is true; raise WaitTimedOut after `timeout` seconds.

    A tool that fails while polling (a node rebooting, an API server restarting) counts as
    "not yet": what is awaited is often exactly what makes the tools fail for a while.
    """
    deadline = time.monotonic() + timeout
    last_error: str | None = None
    while True:
        try:
            if predicate():
                return
        except ToolError as exc:
            last_error = str(exc)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimedOut(what, timeout, last_error)
        time.sleep(min(poll_interval, remaining))
