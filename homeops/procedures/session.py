"""What every runbook step needs: the cluster as cluster.yaml describes it, the gate, the wait
settings, and (opened by `open_session`) the kernel-side safety layer of the run."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from homeops.cluster.model import Cluster
from homeops.errors import RunbookStopped
from homeops.gate import Gate, stamped


@dataclass(frozen=True)
class Session:
    cluster: Cluster
    gate: Gate
    wait_timeout: float  # seconds any one wait may take before the runbook stops
    poll_interval: float  # seconds between two looks at the cluster while waiting
    guard: object | None = None  # homeops.runner.guard.Guard, when opened by open_session
    project: Path | None = None  # the directory of cluster.yaml: relative paths a runbook writes are under it

    @property
    def apply(self) -> bool:
        return self.gate.apply

    def say(self, line: str) -> None:
        self.gate.say(line)

    def covering(self, seconds: float, what: str):
        """A context manager: in apply mode, the maintenance Lease cannot expire during the next
        `seconds` (a step that may make the API unreachable); nothing in plan mode."""
        if not self.apply or self.guard is None:
            return nullcontext()
        return self.guard.covering(seconds, what)


def open_session(config: str | Path, *, apply: bool | None = None, wait_timeout: float, poll_interval: float,
                 runbook: str | None = None, lock: str = "lease") -> Session:
    """Load cluster.yaml and check the wait parameters; bad values stop the runbook before anything runs.

    `apply` is None for a read-only runbook (it has no such parameter): a plan-mode session that
    says it changes nothing.

    With `runbook` (its name), the run's safety layer starts in this kernel: the maintenance lock
    in apply mode (`lock="workstation"`: a file lock on this workstation instead of the Lease, for
    the bootstrap, which starts before there is an API), the redacted record, redacted output,
    interrupts and signals as stops (see homeops.runner.guard).
    """
    from homeops import ClusterInvalid, load_cluster
    from homeops.runner import target
    from homeops.runner.project import ConfigNotFound, find_config, project_of

    # Before anything else, even a refusal: which cluster (or twin) this run would touch.
    print(stamped(f"target: {target.describe()}"), flush=True)
    if not isinstance(wait_timeout, (int, float)) or wait_timeout <= 0:
        raise RunbookStopped(f"wait_timeout must be a number of seconds above 0, got {wait_timeout!r}; nothing changed")
    if not isinstance(poll_interval, (int, float)) or poll_interval <= 0:
        raise RunbookStopped(f"poll_interval must be a number of seconds above 0, got {poll_interval!r}; nothing changed")
    # `-p wait_timeout=5` alone must not trip over the default poll interval: a wait cannot look
    # less often than once in its whole time.
    poll_interval = min(poll_interval, wait_timeout)
    try:
        path = find_config(config)
    except ConfigNotFound as exc:
        raise RunbookStopped(f"{exc}; nothing changed") from None
    try:
        cluster = load_cluster(path)
    except ClusterInvalid as exc:
        raise RunbookStopped(f"{path} is invalid ({len(exc.problems)} problem(s)): {exc.problems[0]}") from None
    except OSError as exc:
        raise RunbookStopped(f"cannot read {path}: {exc.strerror}") from None
    guard = _start_guard(runbook, bool(apply), project_of(path), lock) if runbook else None
    gate = Gate(bool(apply), before_change=guard.refuse_if_lost if guard is not None else None)
    if apply is None:
        gate.say("mode: read-only (this runbook changes nothing)")
    else:
        gate.say(f"mode: {gate.mode}" + ("" if apply else f" (nothing will change; {plan_hint()} to run the changes)"))
    return Session(cluster, gate, float(wait_timeout), float(poll_interval), guard, project_of(path))


def plan_hint() -> str:
    """How to ask for apply mode where the run happens: the command line, or the notebook itself."""
    from homeops.runner.guard import STARTER_ENV

    if os.environ.get(STARTER_ENV) == "cli":
        return "pass --apply"
    return "set apply = True in the parameters cell (papermill: -p apply True)"


def _start_guard(runbook: str, apply: bool, project: Path, lock: str = "lease"):
    from homeops.runner import guard, kernel_hooks

    def warn(line: str) -> None:
        print(stamped(line), file=sys.stderr, flush=True)

    def say(line: str) -> None:
        print(stamped(line), flush=True)

    kernel_hooks.install()
    started = guard.start(runbook, apply=apply, project=project, warn=warn, say=say, lock=lock)
    kernel_hooks.replay_history(started)
    return started
