"""The bootstrap's lock: one apply run at a time on this workstation, held as a locked file.

Before the bootstrap there is no Kubernetes API to hold the maintenance Lease, so the bootstrap
runbook locks a file beside its records instead (`fcntl.flock`, exclusive, never waiting); so does
etcd-restore, which runs because the API is down (one file for both: neither may run while the
other rebuilds etcd). The kernel holds it until the run ends; the operating system drops it when
the process dies (`kill -9` included), so a dead run never blocks the next one. The file names its holder for
the refusal message. Two workstations bootstrapping one cluster at once are not seen: the
bootstrap itself refuses a second `talosctl bootstrap` (etcd already running) and a node no
longer in maintenance mode.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from homeops.runner.lock import LockHeld, LockUnavailable, default_identity

FILE_NAME = ".bootstrap.lock"


class WorkstationLock:
    """The interface of MaintenanceLock the guard uses, over a locked file."""

    def __init__(self, directory: Path, runbook: str, identity: str | None = None):
        self.path = Path(directory) / FILE_NAME
        self.runbook = runbook
        self.identity = identity or default_identity()
        self.taken_over = None  # a dead holder's lock is gone with its process: nothing is taken over
        self.lost: str | None = None  # a file lock held by this process cannot be taken away
        self._cover_seconds = 0
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LockUnavailable(f"cannot open the bootstrap lock {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            runbook, holder = _holder(fd)
            os.close(fd)
            raise LockHeld(f"refused: another {runbook} runs from this workstation ({holder}); "
                           "nothing changed") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"holder": self.identity, "runbook": self.runbook,
                                 "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode())
        self._fd = fd

    def keep_renewed(self, notify, on_lost) -> None:
        """Nothing to renew: the lock lasts as long as this process holds the file open."""

    def verify(self) -> None:
        """Nothing to ask: nobody else can take a file lock this process holds."""

    def cover(self, seconds: float) -> None:
        """Nothing to extend: the lock does not expire."""

    def describe(self) -> str:
        return f"{self.path} held by {self.identity} for {self.runbook}"

    def release(self) -> str | None:
        if self._fd is None:
            return None
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None
        return None


def _holder(fd: int) -> tuple[str, str]:
    """The holder's runbook (the bootstrap, or etcd-restore: both run while there is no API) and who since when."""
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return str(data.get("runbook") or "run"), f"{data['holder']} since {data['since']}"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "run", "holder unknown"
