"""The Kubernetes Lease calls the maintenance lock needs, as kubectl command lines.

Only the command lines of ARCHITECTURE.md are used (`get lease ... -o json`, `create -f -`,
`replace -f -`, `delete lease`), so the twin's fake kubectl and a real cluster answer alike.
API errors are told apart by the reason kubectl prints: `Error from server (NotFound): ...`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from homeops.tools.process import ToolError, run

NAMESPACE = "kube-system"
NAME = "homeops-maintenance"
RUNBOOK_ANNOTATION = "homeops.dev/runbook"
TIMEOUT_SECONDS = 20.0
# kubectl's own request timeout is this share of a call's time limit: a slow API server then ends
# the call with its own error, and the rest of the limit covers starting kubectl and printing it.
REQUEST_SHARE = 0.8


class LeaseConflict(Exception):
    """Someone else created or changed the Lease first (AlreadyExists or Conflict)."""


class LeaseApiError(Exception):
    """The API server could not be asked (unreachable, unauthorised, kubectl missing)."""


@dataclass(frozen=True)
class LeaseClient:
    kubectl: str = "kubectl"
    timeout: float = TIMEOUT_SECONDS  # the most one kubectl call may take, start to exit

    def request_timeout_seconds(self) -> int:
        # Whole seconds, and never 0: `--request-timeout=0s` would mean no timeout at all.
        return max(1, math.floor(self.timeout * REQUEST_SHARE))

    def get(self) -> dict | None:
        """The Lease as JSON, or None when there is none."""
        try:
            done = self._kubectl(["-n", NAMESPACE, "get", "lease", NAME, "-o", "json"])
        except _NotFound:
            return None
        try:
            return json.loads(done)
        except ValueError as exc:
            raise LeaseApiError(f"kubectl printed a Lease that is not JSON: {exc}") from None

    def create(self, lease: dict) -> None:
        self._kubectl(["create", "-f", "-"], stdin=json.dumps(lease))

    def replace(self, lease: dict) -> None:
        """Replace the Lease; the API refuses (LeaseConflict) unless `metadata.resourceVersion` is current.

        A Lease deleted since it was read is a conflict too: someone else changed it first.
        """
        try:
            self._kubectl(["replace", "-f", "-"], stdin=json.dumps(lease))
        except _NotFound:
            raise LeaseConflict(f"the Lease {NAMESPACE}/{NAME} was deleted since it was read") from None

    def delete(self) -> bool:
        """Delete the Lease; False when it was already gone."""
        try:
            self._kubectl(["-n", NAMESPACE, "delete", "lease", NAME])
        except _NotFound:
            return False
        return True

    def _kubectl(self, args: list[str], stdin: str | None = None) -> str:
        argv = [self.kubectl, f"--request-timeout={self.request_timeout_seconds()}s", *args]
        try:
            return run(argv, timeout=self.timeout, input=stdin).stdout
        except ToolError as exc:
            reason = exc.stderr or exc.stdout
            if "(NotFound)" in reason:
                raise _NotFound() from None
            if "(AlreadyExists)" in reason or "(Conflict)" in reason:
                raise LeaseConflict(_last_line(reason)) from None
            raise LeaseApiError(str(exc)) from None


class _NotFound(Exception):
    pass


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
