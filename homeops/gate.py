"""The plan/apply gate: the only path by which a runbook changes the cluster.

In plan mode (the default) a change is printed as the exact command it would run, and nothing
runs; in apply mode it is printed and run. Read-only commands do not go through the gate: they
run in both modes, so that a plan shows what the cluster really looks like.

Every line the gate says starts with the time it was said (what ran, what a wait saw), so a run
can be matched to the cluster's own logs afterwards. PLAN lines do not: nothing happens when one is
printed, and two plans of the same cluster stay comparable line by line.
"""

from __future__ import annotations

import shlex
import sys
import time
from typing import Callable, Sequence, TextIO

from homeops.tools import process


def stamped(line: str, moment: float | None = None) -> str:
    """`line` as the gate says it: after the local time of day, to the second (`14:03:27 RUN: ...`)."""
    return f"{time.strftime('%H:%M:%S', time.localtime(moment))} {line}"


class Gate:
    def __init__(self, apply: bool, out: TextIO | None = None,
                 before_change: Callable[[str], None] | None = None):
        self.apply = bool(apply)
        self._out = out
        # Called with the command before every change in apply mode; raises to refuse it (the
        # session's guard does, once the maintenance lock is lost).
        self._before_change = before_change

    @property
    def mode(self) -> str:
        return "apply" if self.apply else "plan"

    def say(self, line: str) -> None:
        self._print(stamped(line))

    def _print(self, line: str) -> None:
        print(line, file=self._out or sys.stdout, flush=True)

    def change(
        self, argv: Sequence[str], *, timeout: float, input: str | None = None, why: str = ""
    ) -> process.Completed | None:
        """Run a command that changes the cluster (apply), or only show it (plan). None in plan mode."""
        argv = [str(a) for a in argv]
        shown = shlex.join(argv)
        if not self.apply:
            self._plan(shown, why)
            return None
        if self._before_change is not None:
            self._before_change(shown)
        self.say(f"RUN: {shown}" + (f"  # {why}" if why else ""))
        return process.run(argv, timeout=timeout, input=input)

    def would(self, what: str, why: str = "") -> None:
        """In plan mode, a step done on this machine rather than by a command (a file encrypted,
        an old backup removed): described, not done. Nothing in apply mode, where it is done."""
        if not self.apply:
            self._plan(f"would {what}", why)

    def would_wait(self, what: str, timeout: float) -> None:
        """In plan mode a wait that depends on a change cannot be observed: describe it instead."""
        self._plan(f"would wait for {what} (up to {timeout:g}s)", "")

    def _plan(self, step: str, why: str) -> None:
        plain = f"PLAN: {step}" + (f"  # {why}" if why else "")
        if self._out is not None:
            self._print(plain)
            return
        from homeops.runner.display import plan_line_html, show

        show(plain, plan_line_html(step, why))
