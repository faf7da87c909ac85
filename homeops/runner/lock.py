"""The maintenance lock: one apply run at a time per cluster, held as a Kubernetes Lease.

The Lease names who holds it (user@host:pid), which runbook runs, and until when
(`renewTime` + `leaseDurationSeconds`). As in client-go's leader election, the Lease is short
(a minute by default) and a background thread renews it every third of its duration, so a
runner that dies without releasing it (`kill -9`, a lost laptop) blocks other runs for at most
one duration: a Lease past its expiry belongs to a run that is gone and may be taken over.

A renewal that fails because the API server did not answer is retried until the Lease would
expire. A renewal that finds the Lease deleted, or held by someone else, means the lock is
lost: another run may now be changing the cluster, so the run stops before its next change
(the guard's `refuse_if_lost`, which also asks the API itself), never in the middle of a step.
`cover(seconds)` lengthens the Lease ahead of a step that may make the API unreachable.
"""

from __future__ import annotations

import dataclasses
import getpass
import math
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from homeops.tools.lease import NAME, NAMESPACE, RUNBOOK_ANNOTATION, LeaseApiError, LeaseClient, LeaseConflict

DEFAULT_DURATION_SECONDS = 60
# Below this, a renewal (two kubectl calls every third of the duration) has no room for one retry.
MINIMUM_DURATION_SECONDS = 3
RENEWALS_PER_DURATION = 3
RETRIES_PER_RENEWAL_INTERVAL = 4
MINIMUM_CALL_SECONDS = 1.0


class LockHeld(Exception):
    """Another run holds the lock; the message is the runner's last line."""


class LockUnavailable(Exception):
    """The lock could not be taken or checked because the API server did not answer."""


class LockLost(Exception):
    """This run no longer holds the lock. `reason` is recorded; the message says more."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason} ({detail})")
        self.reason = reason


@dataclass(frozen=True)
class Holder:
    identity: str
    runbook: str
    expires: datetime | None

    def expired(self, now: datetime) -> bool:
        # A Lease without times cannot be judged; treat it as held rather than take it over.
        return self.expires is not None and self.expires <= now

    def describe(self) -> str:
        return f"maintenance lock held by {self.identity} running {self.runbook} until {self.until()}"

    def until(self) -> str:
        return _rfc3339(self.expires, micro=False) if self.expires else "an unknown time (no renewTime)"


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
        duration_seconds: int = DEFAULT_DURATION_SECONDS,
        identity: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        sleep: Callable[[float], None] | None = None,
    ):
        if duration_seconds < MINIMUM_DURATION_SECONDS:
            raise ValueError(f"a maintenance lock lasts at least {MINIMUM_DURATION_SECONDS}s, not {duration_seconds}s")
        self.client = client
        self.runbook = runbook
        self.duration_seconds = int(duration_seconds)
        self.identity = identity or default_identity()
        self._clock = clock
        self._sleep = sleep  # tests pass one that moves their `clock`; by default the renewer waits on `_stopping`
        self.taken_over: Holder | None = None
        self.acquired: datetime | None = None
        self.expires: datetime | None = None
        self.lost: str | None = None  # the reason, once the lock is lost
        self._stopping = threading.Event()
        self._renewer: threading.Thread | None = None
        self._renewing = threading.Lock()  # one renewal at a time: the thread's, or cover()'s
        self._cover_seconds = 0  # added to the duration while a step that may lose the API runs

    @property
    def renew_interval_seconds(self) -> float:
        return self.duration_seconds / RENEWALS_PER_DURATION

    @property
    def retry_interval_seconds(self) -> float:
        return self.renew_interval_seconds / RETRIES_PER_RENEWAL_INTERVAL

    def acquire(self) -> None:
        """Create the Lease, or take over an expired one; raise LockHeld or LockUnavailable."""
        try:
            current = self.client.get()
            moment = self._clock()
            if current is None:
                try:
                    self.client.create(self._lease(moment, acquired=moment))
                except LeaseConflict:
                    raise LockHeld(self._winner()) from None
            else:
                holder = holder_of(current)
                if not holder.expired(moment):
                    raise LockHeld(holder.describe())
                try:
                    # resourceVersion makes the replace fail if another run took it over meanwhile.
                    self.client.replace(self._lease(moment, acquired=moment, resource_version=_version(current)))
                except LeaseConflict:
                    raise LockHeld(self._winner()) from None
                self.taken_over = holder
        except LeaseApiError as exc:
            raise LockUnavailable(f"cannot take the maintenance lock {NAMESPACE}/{NAME}: {exc}") from None
        self.acquired = moment
        self.expires = self._expiry(moment)

    def renew(self, client: LeaseClient | None = None) -> None:
        """Move `renewTime` to now, if this run still holds the Lease (through `client`, by
        default the lock's own).

        Raises LockLost when the Lease is gone or held by someone else; LeaseApiError (the API
        did not answer) or LeaseConflict (the Lease changed between the read and the write) when
        a retry may still succeed.
        """
        if self.acquired is None:
            raise RuntimeError("renew() before acquire()")
        client = client or self.client
        with self._renewing:
            self._renew(client)

    def verify(self) -> None:
        """Raise LockLost (and remember why) when the Lease is now gone or someone else's.

        An API that does not answer proves nothing: the renewal thread judges that by the expiry.
        """
        try:
            current = self.client.get()
        except (LeaseApiError, LeaseConflict):
            return
        if current is None:
            lost = LockLost("lost the maintenance lock: its Lease was deleted by someone else",
                            f"{NAMESPACE}/{NAME} not found")
        elif holder_of(current).identity != self.identity:
            holder = holder_of(current)
            lost = LockLost(f"lost the maintenance lock to {holder.identity}", holder.describe())
        else:
            return
        self.lost = self.lost or lost.reason
        raise lost

    def cover(self, seconds: float) -> None:
        """From now on, the Lease lasts `seconds` more than its duration (0: back to its duration).

        Written at once: the step it covers may make the API unreachable (a control-plane node
        of a two-member etcd rebooting), and a Lease that expires meanwhile would let another run
        in. Raises what `renew` raises when that write fails.
        """
        self._cover_seconds = max(0, math.ceil(seconds))
        self.renew()

    def _renew(self, client: LeaseClient) -> None:
        current = client.get()
        if current is None:
            raise LockLost("lost the maintenance lock: its Lease was deleted by someone else",
                           f"{NAMESPACE}/{NAME} not found")
        holder = holder_of(current)
        if holder.identity != self.identity:
            raise LockLost(f"lost the maintenance lock to {holder.identity}", holder.describe())
        moment = self._clock()
        client.replace(self._lease(moment, acquired=self.acquired, resource_version=_version(current)))
        self.expires = self._expiry(moment)

    def keep_renewed(self, notify: Callable[[str], None], on_lost: Callable[[], None]) -> None:
        """Renew the Lease in a daemon thread until `release()`.

        When the lock is lost, `notify` gets a message for the person running it and `on_lost`
        is called to stop the run, then again every renewal interval while the run goes on (the
        first call may land between two cells, when there is nothing to stop yet).
        """
        if self._renewer is not None:
            raise RuntimeError("the maintenance lock is already being renewed")
        self._renewer = threading.Thread(target=self._renew_until_stopped, args=(notify, on_lost),
                                         name="maintenance-lock-renewal", daemon=True)
        self._renewer.start()

    def describe(self) -> str:
        until = _rfc3339(self.expires, micro=False) if self.expires else "not taken"
        return f"{NAMESPACE}/{NAME} held by {self.identity} for {self.runbook} until {until}"

    def release(self) -> str | None:
        """Stop renewing, then delete the Lease if this run still holds it; returns a warning when
        that was not possible."""
        self._stop_renewing()
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

    def _renew_until_stopped(self, notify: Callable[[str], None], on_lost: Callable[[], None]) -> None:
        # Calls short enough that a hung API server is noticed, and retried, well before expiry.
        client = _renewal_client(self)
        delay = self.renew_interval_seconds
        while not self._pause(delay):
            try:
                self.renew(client)
                delay = self.renew_interval_seconds
            except LockLost as exc:
                if self._stopping.is_set():  # released meanwhile: this run deleted the Lease itself
                    return
                self._lose(exc, notify)
                break
            except Exception as exc:  # noqa: BLE001  (beyond API errors: a failed fork, a full disk...)
                # Whatever the cause, a renewal that fails is retried while the Lease lasts: a
                # thread that died here would let the Lease expire under a run that goes on.
                if self._stopping.is_set():
                    return
                assert self.expires is not None
                if self._clock() + timedelta(seconds=self.retry_interval_seconds) >= self.expires:
                    self._lose(LockLost(
                        "lost the maintenance lock: it could not be renewed before it expired",
                        f"expired at {_rfc3339(self.expires, micro=False)}; last error: {exc}"), notify)
                    break
                delay = self.retry_interval_seconds
        else:
            return
        while True:
            try:
                on_lost()
            except Exception as exc:  # the run is stopped by other means (its end, Ctrl-C); say why not here
                notify(f"warning: could not interrupt the run: {type(exc).__name__}: {exc}")
            if self._pause(self.renew_interval_seconds):
                return

    def _pause(self, seconds: float) -> bool:
        """Wait `seconds` between renewals; True once the lock is released."""
        if self._sleep is None:
            return self._stopping.wait(seconds)
        self._sleep(seconds)
        return self._stopping.is_set()

    def _lose(self, lost: LockLost, notify: Callable[[str], None]) -> None:
        self.lost = lost.reason
        notify(f"{lost}; stopping the run")

    def _stop_renewing(self) -> None:
        self._stopping.set()
        if self._renewer is not None:
            # A renewal in flight makes at most two kubectl calls, each with its own time limit.
            self._renewer.join(timeout=2 * _renewal_client(self).timeout + 1)
            self._renewer = None

    def _winner(self) -> str:
        try:
            lease = self.client.get()
        except LeaseApiError:
            lease = None
        return holder_of(lease).describe() if lease else "maintenance lock taken by another run at the same moment"

    def _expiry(self, renewed: datetime) -> datetime:
        return renewed + timedelta(seconds=self._current_duration())

    def _current_duration(self) -> int:
        return self.duration_seconds + self._cover_seconds

    def _lease(self, renewed: datetime, *, acquired: datetime, resource_version: str | None = None) -> dict:
        metadata: dict = {"name": NAME, "namespace": NAMESPACE, "annotations": {RUNBOOK_ANNOTATION: self.runbook}}
        if resource_version is not None:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self._current_duration(),
                "acquireTime": _rfc3339(acquired, micro=True),
                "renewTime": _rfc3339(renewed, micro=True),
            },
        }


def _renewal_client(lock: MaintenanceLock) -> LeaseClient:
    # Half an interval per call: a renewal (a read and a write) that hangs ends in time for a
    # retry long before the Lease expires.
    limit = max(MINIMUM_CALL_SECONDS, min(lock.client.timeout, lock.renew_interval_seconds / 2))
    return dataclasses.replace(lock.client, timeout=limit)


def _version(lease: dict) -> str | None:
    return (lease.get("metadata") or {}).get("resourceVersion")


def _rfc3339(moment: datetime, *, micro: bool) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")
