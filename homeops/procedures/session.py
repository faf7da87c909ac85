"""What every runbook step needs: the cluster as cluster.yaml describes it, the gate, and the wait settings."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.cluster.model import Cluster


@dataclass(frozen=True)
class Session:
    cluster: Cluster
    gate: Gate
    wait_timeout: float  # seconds any one wait may take before the runbook stops
    poll_interval: float  # seconds between two looks at the cluster while waiting

    @property
    def apply(self) -> bool:
        return self.gate.apply

    def say(self, line: str) -> None:
        self.gate.say(line)

    def covering(self, seconds: float, what: str) -> AbstractContextManager[None]:
        """Hold the maintenance lock through a step that may take the API away for `seconds`.

        A placeholder in this branch (does nothing): the notebook's safety layer (jupyter-path)
        extends the Lease to cover the step before it starts, so a renewal that fails while the
        API is down cannot interrupt the step mid-flight.
        """
        return nullcontext()


def open_session(config: str | Path, *, apply: bool, wait_timeout: float, poll_interval: float) -> Session:
    """Load cluster.yaml and check the wait parameters; bad values stop the runbook before anything runs."""
    from homeops import ClusterInvalid, load_cluster

    if not isinstance(wait_timeout, (int, float)) or wait_timeout <= 0:
        raise RunbookStopped(f"wait_timeout must be a number of seconds above 0, got {wait_timeout!r}; nothing changed")
    if not isinstance(poll_interval, (int, float)) or poll_interval <= 0:
        raise RunbookStopped(f"poll_interval must be a number of seconds above 0, got {poll_interval!r}; nothing changed")
    # `-p wait_timeout=5` alone must not trip over the default poll interval: a wait cannot look
    # less often than once in its whole time.
    poll_interval = min(poll_interval, wait_timeout)
    try:
        cluster = load_cluster(config)
    except ClusterInvalid as exc:
        raise RunbookStopped(f"{config} is invalid ({len(exc.problems)} problem(s)): {exc.problems[0]}") from None
    except OSError as exc:
        raise RunbookStopped(f"cannot read {config}: {exc.strerror}") from None
    gate = Gate(apply)
    gate.say(f"mode: {gate.mode}" + ("" if apply else " (nothing will change; pass --apply to run the changes)"))
    return Session(cluster, gate, float(wait_timeout), float(poll_interval))
