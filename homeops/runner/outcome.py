"""How a run ended, as an exit code and the one line a person reads last.

Contract with the runbooks: papermill's `ename == "RunbookStopped"` means a gate stopped the run (`RunbookFailed`: a stop on what could not be checked, reported as failed)
and left the cluster safe (exit 1, its message is the last line); any other exception is a failure
named by its step and cell (exit 1); a run without exceptions completed (exit 0).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from homeops.redaction import redact

EXIT_COMPLETED, EXIT_STOPPED, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 1, 130

# What a stop says when running again finishes the job, in the words of where the run happens:
# the command line (which `homeops run` then spells out, `-p` values and all), or the notebook.
RERUN_CLI = "run the same command again"
RERUN_NOTEBOOK = "Run All again (Run > Run All Cells, same parameters)"


def rerun_hint() -> str:
    """How to run again where this run happens; `homeops run` tells its kernel it started it."""
    from homeops.runner.guard import STARTER_ENV

    return RERUN_CLI if os.environ.get(STARTER_ENV) == "cli" else RERUN_NOTEBOOK


def again_with(name: str, value: object) -> str:
    """How to run again with one parameter changed, in the words of where this run happens: `-p` on
    the command line, the parameters cell in a notebook (where there is no command line)."""
    from homeops.runner.guard import STARTER_ENV

    if os.environ.get(STARTER_ENV) == "cli":
        return f"re-run with -p {name}={value!r}"
    return f"set {name} = {value!r} in the parameters cell and Run All again"


def spelt_out(reason: str, command: str | None) -> str:
    """`reason` with the CLI's re-run hint replaced by the exact `command` to run again."""
    if not command:
        return reason
    return reason.replace(RERUN_CLI, f"run `{command}` again")


@dataclass(frozen=True)
class Outcome:
    outcome: str  # completed, stopped, failed, interrupted
    exit_code: int
    reason: str | None

    def last_line(self, runbook: str, mode: str, record: str | None) -> str:
        tail = f" — record: {record}" if record else ""
        if self.outcome == "completed":
            return f"completed: {runbook} ({mode}){tail}"
        return f"{self.outcome}: {spelt_out(str(self.reason), rerun_command)}{tail}"


# The command line of this `homeops run`, as an operator types it again (set by commands/run.py;
# None in a kernel or a library call, where no command line is known).
rerun_command: str | None = None


def completed() -> Outcome:
    return Outcome("completed", EXIT_COMPLETED, None)


def stopped(message: str) -> Outcome:
    return Outcome("stopped", EXIT_STOPPED, one_line(message) or "stopped without a message")


def failed(where: str, error: str, message: str) -> Outcome:
    detail = one_line(message)
    return Outcome("failed", EXIT_FAILED, f"{where}: {error}: {detail}" if detail else f"{where}: {error}")


def interrupted(where: str, by: str | None = None) -> Outcome:
    """Interrupted by `by` (a signal's name; Ctrl-C when not known: SIGINT is what Ctrl-C, Kernel >
    Interrupt and the runner's forwarding of any signal all send)."""
    return Outcome("interrupted", EXIT_INTERRUPTED, f"{by or 'Ctrl-C'} at {where}")


def from_cell_error(where: str, ename: str, evalue: str) -> Outcome:
    if ename == "RunbookStopped":
        return stopped(evalue)
    if ename == "RunbookFailed":  # a stop on what could not be checked: failed, its message as it is
        return Outcome("failed", EXIT_FAILED, one_line(evalue) or "failed without a message")
    return failed(where, ename, evalue)


def one_line(text: str) -> str:
    # Redacted before its lines are joined: a secret that spans lines is only recognised whole.
    return " ".join(part.strip() for part in redact(str(text)).splitlines() if part.strip())
