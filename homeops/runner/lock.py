"""The maintenance lock: one apply run at a time per cluster, held as a Kubernetes Lease.

The Lease names who holds it (user@host:pid), which runbook runs, and for how long it may be
held (`leaseDurationSeconds` from `renewTime`). It is not renewed during the run: its duration is
an upper bound of the run (every cell has a timeout), so an expired Lease belongs to a run that
died without releasing it and may be taken over.
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from homeops.tools.lease import NAME, NAMESPACE, RUNBOOK_ANNOTATION, LeaseApiError, LeaseClient, LeaseConflict


class LockHeld(Exception):
    """Another run holds the lock; the message is the runner's last line."""


class LockUnavailable(Exception):
    """The lock could not be taken or checked because the API server did not answer."""


@dataclass(frozen=True)
class Holder:
    identity: str
    runbook: str
    expires: datetime | None

    def expired(self, now: datetime) -> bool:
        # A Lease without times cannot be judged; treat it as held rather than take it over.
        return self.expires is not None and self.expires <= now

    def describe(self) -> str:
        until = _rfc3339(self.expires, micro=False) if self.expires else "an unknown time (no renewTime)"
        return f"maintenance lock held by {self.identity} running {self.runbook} until {until}"


def holder_of(lease: dict) -> Holder:
    spec = lease.get("spec") or {}
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    renewed = spec.get("renewTime") or spec.get("acquireTime")
    duration = spec.get("leaseDurationSeconds")
    expires = None
    if renewed and isinstance(duration, int):
        try:
            expires = datetime.fromisoformat(renewed) + timedelta(seconds=duration)
        except ValueError:
            expires = None
    return Holder(
        spec.get("holderIdentity") or "an unknown holder",
        annotations.get(RUNBOOK_ANNOTATION, "an unknown runbook"),
        expires,
    )


def default_identity() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}:{os.getpid()}"


class MaintenanceLock:
    def __init__(
        self,
        client: LeaseClient,
        runbook: str,
        duration_seconds: int,
        identity: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.client = client
        self.runbook = runbook
        self.duration_seconds = duration_seconds
        self.identity = identity or default_identity()
        self._clock = clock
        self.taken_over: Holder | None = None
        self.expires: datetime | None = None

    def acquire(self) -> None:
        """Create the Lease, or take over an expired one; raise LockHeld or LockUnavailable."""
        try:
            current = self.client.get()
            if current is None:
                try:
                    self.client.create(self._lease())
                except LeaseConflict:
                    raise LockHeld(self._winner()) from None
                return
            holder = holder_of(current)
            if not holder.expired(self._clock()):
                raise LockHeld(holder.describe())
            version = (current.get("metadata") or {}).get("resourceVersion")
            try:
                # resourceVersion makes the replace fail if another run took it over meanwhile.
                self.client.replace(self._lease(resource_version=version))
            except LeaseConflict:
                raise LockHeld(self._winner()) from None
            self.taken_over = holder
        except LeaseApiError as exc:
            raise LockUnavailable(f"cannot take the maintenance lock {NAMESPACE}/{NAME}: {exc}") from None

    def describe(self) -> str:
        until = _rfc3339(self.expires, micro=False) if self.expires else "not taken"
        return f"{NAMESPACE}/{NAME} held by {self.identity} for {self.runbook} until {until}"

    def release(self) -> str | None:
        """Delete the Lease if this run still holds it; returns a warning when that was not possible."""
        try:
            current = self.client.get()
            if current is None:
                return f"the maintenance lock {NAMESPACE}/{NAME} was already gone"
            holder = holder_of(current)
            if holder.identity != self.identity:
                return f"the maintenance lock was taken over meanwhile ({holder.describe()}); left in place"
            self.client.delete()
        except (LeaseApiError, LeaseConflict) as exc:
            return f"could not release the maintenance lock (it expires by itself): {exc}"
        return None

    def _winner(self) -> str:
        try:
            lease = self.client.get()
        except LeaseApiError:
            lease = None
        return holder_of(lease).describe() if lease else "maintenance lock taken by another run at the same moment"

    def _lease(self, resource_version: str | None = None) -> dict:
        moment = self._clock()
        self.expires = moment + timedelta(seconds=int(self.duration_seconds))
        now = _rfc3339(moment, micro=True)
        metadata: dict = {"name": NAME, "namespace": NAMESPACE, "annotations": {RUNBOOK_ANNOTATION: self.runbook}}
        if resource_version is not None:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.duration_seconds),
                "acquireTime": now,
                "renewTime": now,
            },
        }


def _rfc3339(moment: datetime, *, micro: bool) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")
