"""The plan/apply gate: the only path by which a runbook changes the cluster.

In plan mode (the default) a change is printed as the exact command it would run, and nothing
runs; in apply mode it is printed and run. Read-only commands do not go through the gate: they
run in both modes, so that a plan shows what the cluster really looks like.

Every line the gate says starts with the time it was said (what ran, what a wait saw), so a run
can be matched to the cluster's own logs afterwards. PLAN lines do not: nothing happens when one is
printed, and two plans of the same cluster stay comparable line by line.

A change is followed while it runs: each line the tool prints is said as it comes (redacted, with
the tool's name), and a silence of QUIET_SECONDS is filled by what `watch` sees (or that it still
runs), so no step stays silent on the screen or in the record.

A change interrupted (Ctrl-C, a signal) or timed out after it was sent is in doubt: the cluster may
or may not have done it. The gate says so at once, naming what may have changed ("noout for host
worker-1 may be set"), and raises with that sentence (`in_doubt` on the exception): an interrupt
becomes a RunbookStopped raised while handling it (so the run still ends "interrupted", with the
sentence as its reason), a timeout a ToolTimeout whose message ends with it. Runbooks re-run such a
change, or its undo, safely: every change they make is idempotent (cordon, uncordon, set, unset).
"""

from __future__ import annotations

import shlex
import sys
import time
from typing import Callable, Sequence, TextIO

from homeops.errors import RunbookStopped
from homeops.redaction.stream import LineRedactor
from homeops.tools import process

# The longest a followed change may stay silent before the gate says what it sees: with the
# seconds a look at the cluster takes, a line every 15 s at most.
QUIET_SECONDS = 10.0
UNSURE = "may have taken effect"


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
        self, argv: Sequence[str], *, timeout: float, input: str | None = None, why: str = "",
        about: str = "", unsure: str = UNSURE, watch: Callable[[float], str] | None = None,
    ) -> process.Completed | None:
        """Run a command that changes the cluster (apply), or only show it (plan). None in plan mode.

        `about` names what the command changes and `unsure` what may be true of it when the
        command's answer never came ("noout for host worker-1", "may be set"). `watch(elapsed)`
        says what the cluster shows while the command is silent (the node of an upgrade).
        """
        argv = [str(a) for a in argv]
        shown = shlex.join(argv)
        if not self.apply:
            self._plan(shown, why)
            return None
        if self._before_change is not None:
            self._before_change(shown)
        self.say(f"RUN: {shown}" + (f"  # {why}" if why else ""))
        doubt = f"{about or f'`{shown}`'} {unsure}"
        tool = argv[0].rsplit("/", 1)[-1]
        streams = {name: LineRedactor(lambda line: self.say(f"{tool}: {line}") if line.strip() else None)
                   for name in ("stdout", "stderr")}

        def quiet(elapsed: float) -> None:
            seen = _watched(watch, elapsed) if watch is not None else ""
            self.say(f"{tool} still running ({elapsed:.0f}s of {timeout:g}s)" + (f": {seen}" if seen else ""))

        try:
            try:
                return process.run(argv, timeout=timeout, input=input,
                                   on_line=lambda name, line: streams[name].write(line + "\n"),
                                   quiet=QUIET_SECONDS, on_quiet=quiet)
            finally:
                for stream in streams.values():
                    stream.flush()
        except process.ToolTimeout as exc:
            self.say(f"no answer within {timeout:g}s from `{shown}`: {doubt}")
            exc.in_doubt = doubt
            exc.args = (f"{exc}; {doubt}",)
            raise
        except KeyboardInterrupt as exc:
            self.say(f"interrupted while `{shown}` ran, before its answer: {doubt}")
            stopped = RunbookStopped(f"interrupted while `{shown}` ran, before its answer: {doubt}")
            stopped.in_doubt, stopped.command = doubt, shown
            raise stopped from exc

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


def _watched(watch: Callable[[float], str], elapsed: float) -> str:
    """What `watch` sees; a look that fails is said as such, and never ends the change it watches."""
    try:
        return watch(elapsed)
    except process.ToolError as exc:
        return f"cannot look ({str(exc).splitlines()[0]})"


def in_doubt(error: BaseException | None) -> str | None:
    """What may have changed when `error` (or what it was raised from) ended a change without its answer."""
    seen = error
    while seen is not None:
        doubt = getattr(seen, "in_doubt", None)
        if doubt:
            return doubt
        seen = seen.__cause__ or seen.__context__
    return None
