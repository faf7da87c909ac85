"""The safety layer inside a runbook's kernel: the maintenance lock, the record, the way a run ends.

`open_session` (the first code cell of every runbook) starts it, so it is there whatever started
the kernel: JupyterLab, papermill, `jupyter nbconvert --execute` or `homeops run`.

- In apply mode it takes the maintenance Lease and keeps it renewed from a background thread
  until the run ends: the last code cell succeeded, a cell failed or was stopped, a signal
  arrived, the kernel exits. A lock lost meanwhile never kills a step mid-flight: the gate
  refuses the next change (`refuse_if_lost`), so the run stops between steps, saying why.
- It writes the run's redacted record (the runbook's cells with their outputs, see
  `transcript`) after every cell and every HEARTBEAT_SECONDS, with the writing process's pid,
  host and a heartbeat, so that a run killed without a word (SIGKILL) reads as abandoned.
  A record that cannot be written (a full disk) never hides a stop: the message still goes to
  the output, and the end says the record is incomplete.
- SIGTERM and SIGHUP become KeyboardInterrupt in the running cell, like Kernel > Interrupt:
  the procedures turn it into a stop naming what was left in place; the run ends "interrupted".
- Files it makes (record, artefacts such as an etcd snapshot, made by talosctl in this process's
  children) are private: the kernel's umask becomes 077.

How the kernel's output reaches the record and is redacted is `homeops.runner.kernel_hooks`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from homeops.errors import RunbookFailed, RunbookStopped
from homeops.runner import lab_shutdown
from homeops.runner import outcome as outcomes
from homeops.runner.lock import DEFAULT_DURATION_SECONDS, LockHeld, LockLost, LockUnavailable, MaintenanceLock
from homeops.runner.records import (HEARTBEAT_SECONDS, RunStatus, abandoned_runs, artifacts_dir, mark_abandoned,
                                    new_record_path, now_iso, private_directory, read_record, status_of,
                                    write_record)
from homeops.runner.transcript import Transcript

RECORD_ENV = "HOMEOPS_RECORD"  # the record's path, claimed by `homeops run`
RECORDS_ENV = "HOMEOPS_RECORDS"  # the records directory, when not the project's records/
ARTIFACTS_ENV = "HOMEOPS_ARTIFACTS"
LOCK_SECONDS_ENV = "HOMEOPS_LOCK_SECONDS"
NOTEBOOK_ENV = "HOMEOPS_NOTEBOOK"  # the runbook notebook being run, when the starter knows it
TWIN_ENV = "HOMEOPS_TWIN"
STARTER_ENV = "HOMEOPS_STARTER"  # "cli" under `homeops run`: the runner prints the last line itself
SIGNALS = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}
PRIVATE_UMASK = 0o077
# A cover that cannot be written is retried this often before the step it should cover is refused.
COVER_ATTEMPTS = 3

_active: "Guard | None" = None


def active() -> "Guard | None":
    return _active


class Guard:
    def __init__(self, runbook: str, apply: bool, record_path: Path, transcript: Transcript,
                 lock: MaintenanceLock | None, twin: bool, warn: Callable[[str], None]):
        self.runbook = runbook
        self.apply = apply
        self.record_path = record_path
        self.transcript = transcript
        self.lock = lock
        self.status = RunStatus(runbook, "apply" if apply else "plan", twin=twin)
        self.warn = warn
        self.record_problem: str | None = None  # why the record is incomplete
        self.finished = False
        self.executing = False  # a cell is running (set by the kernel hooks)
        self.signalled: str | None = None  # the signal that interrupts the run
        self.io = threading.RLock()  # the transcript and the record file, shared with the heartbeat
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="homeops-record-heartbeat", daemon=True)

    # -- the record -------------------------------------------------------------------------
    def save(self) -> None:
        with self.io:
            try:
                write_record(self.record_path, self.transcript.notebook(), self.status)
            except OSError as exc:
                self._record_failed(exc)

    def _record_failed(self, exc: OSError) -> None:
        first = self.record_problem is None
        self.record_problem = f"{exc.strerror or exc}"
        if first:
            self.warn(f"warning: the record {self.record_path} cannot be written ({self.record_problem}); "
                      "the run goes on, its record will be incomplete")

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self.io:
                self.status.heartbeat = now_iso()
                self.save()

    # -- the lock ---------------------------------------------------------------------------
    def refuse_if_lost(self, before: str) -> None:
        """Between steps: stop the run when the lock was lost (the gate calls this before every change).

        Asked of the API at that moment, not only of the renewal thread's last look: a Lease taken
        over a second ago must not let one more change through.
        """
        if self.finished:
            # A cell run again after its run ended (its lock released, its record closed).
            raise RunbookStopped(f"this run of {self.runbook} has ended ({self.status.outcome}) and no longer holds "
                                 f"the maintenance lock; stopped before {before}: Run All to start a new run, "
                                 "with its own lock and record; nothing more was changed")
        if self.lock is None:
            return
        if self.lock.lost is None:
            try:
                self.lock.verify()
            except LockLost:
                pass
        if self.lock.lost is not None:
            raise RunbookStopped(f"{self.lock.lost}; stopped before {before}: another run may be changing the "
                                 "cluster, nothing more was changed by this one")

    @contextmanager
    def covering(self, seconds: float, what: str) -> Iterator[None]:
        if self.lock is None:
            yield
            return
        self.refuse_if_lost(what)
        for attempt in range(1, COVER_ATTEMPTS + 1):
            try:
                self.lock.cover(seconds)
                break
            except Exception as exc:  # noqa: BLE001  (an API error, a conflict with the renewal thread)
                if attempt == COVER_ATTEMPTS:
                    raise RunbookStopped(f"cannot extend the maintenance lock by {seconds:g}s before {what}: {exc}; "
                                         "stopped before it") from None
        try:
            yield
        finally:
            # Back to the short duration at the next renewal; a renewal that fails while the API is
            # away is retried until the extended expiry, and never interrupts the step.
            self.lock._cover_seconds = 0

    def release_lock(self) -> str | None:
        """Release the maintenance lock before the run ends, while the API still answers (cluster-shutdown,
        before the control planes go down: a Lease left behind would outlive the cluster's API and
        refuse the startup for its whole duration). The gate lets changes through without a lock after this.
        Returns a warning when the Lease could not be deleted."""
        if self.lock is None:
            return None
        lock, self.lock = self.lock, None
        return lock.release()

    def take_lease(self, say: Callable[[str], None]) -> None:
        """Take the maintenance Lease once the API answers, in place of the workstation lock a run that
        started without an API holds (cluster-startup); RunbookStopped when another run holds it."""
        if not self.apply or isinstance(self.lock, MaintenanceLock):
            return
        lease = _take_lock(self.runbook, None, say)
        lease.keep_renewed(notify=self.warn, on_lost=lambda: None)
        previous, self.lock = self.lock, lease
        if previous is not None:
            previous.release()

    # -- the end ----------------------------------------------------------------------------
    def end(self, error: BaseException | None, where: str) -> outcomes.Outcome:
        """End the run: its outcome from `error` (None: completed), lock released, record finished."""
        ended = self.outcome_of(error, where)
        self.finish(ended)
        return ended

    def outcome_of(self, error: BaseException | None, where: str) -> outcomes.Outcome:
        if error is None:
            return outcomes.completed()
        interrupted = self.signalled or _interrupt_in(error)
        if isinstance(error, KeyboardInterrupt):
            return outcomes.interrupted(where, by=self.interrupter())
        if isinstance(error, RunbookStopped):
            ended = outcomes.stopped(str(error))
            if isinstance(error, RunbookFailed):
                ended = outcomes.Outcome("failed", outcomes.EXIT_FAILED, ended.reason)
            if not interrupted:
                return ended
            # The procedure's stop says what it left; who interrupted it, when not a person at the
            # notebook, goes first.
            by = None if self.signalled else lab_shutdown.stop_reason()
            return outcomes.Outcome("interrupted", outcomes.EXIT_INTERRUPTED,
                                    f"{by}: {ended.reason}" if by else ended.reason)
        return outcomes.failed(where, type(error).__name__, str(error))

    def finish(self, ended: outcomes.Outcome) -> None:
        global _active
        if self.finished:
            return
        self.finished = True
        self._stop.set()
        warning = self.lock.release() if self.lock is not None else None
        if warning:
            self.warn(f"warning: {warning}")
        with self.io:
            self.status.finish(ended.outcome, ended.exit_code, ended.reason)
            self.status.heartbeat = now_iso()
            self.save()
        if _active is self:
            _active = None

    def interrupter(self) -> str | None:
        """Who interrupted the run: the signal it got, or the lab stopping (which interrupts as Ctrl-C does)."""
        return self.signalled or lab_shutdown.stop_reason()

    def _at_exit(self) -> None:
        """The kernel ends with the run still open between two cells (its lab shut it down): end it here."""
        if not self.finished:
            self.finish(outcomes.interrupted("the kernel's exit, between two cells",
                                             by=self.interrupter() or "shutdown"))

    def closing_line(self) -> str:
        """Where the record is, or that it is incomplete: said once the run has ended."""
        if self.record_problem:
            return f"the record {self.record_path} is incomplete: {self.record_problem}"
        return f"record: {self.record_path}"

    def start(self) -> None:
        global _active
        _active = self
        self.save()
        self._heartbeat.start()
        atexit.register(self._at_exit)
        for number in SIGNALS:
            try:
                signal.signal(number, self._on_signal)
            except ValueError:  # not the main thread (a test calling open_session from a thread)
                pass

    def _on_signal(self, number: int, frame) -> None:
        self.signalled = SIGNALS.get(number, f"signal {number}")
        if self.executing:
            raise KeyboardInterrupt(self.signalled)
        # Between two cells nothing runs: end the run here, then die of the signal as asked.
        self.finish(outcomes.interrupted("between two cells", by=self.signalled))
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)

    def after_interrupted_cell(self) -> None:
        """A signal interrupted the cell that just ended: the process was asked to end, so it does."""
        if self.signalled is None:
            return
        number = next(n for n, name in SIGNALS.items() if name == self.signalled)

        def die() -> None:  # a moment for the cell's error message to leave the kernel first
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)

        threading.Timer(0.5, die).start()


def _interrupt_in(error: BaseException) -> bool:
    seen = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


def start(runbook: str, *, apply: bool, project: Path, warn: Callable[[str], None],
          say: Callable[[str], None], lock: str = "lease") -> Guard:
    """Start the layer for one run of `runbook` (records under `project`/records/); RunbookStopped when refused.

    `lock` is "lease" (the maintenance Lease in the cluster) or "workstation" (a file lock beside the
    records, for the bootstrap, which runs before there is an API to hold a Lease).
    """
    previous = active()
    if previous is not None and not previous.finished:
        previous.finish(outcomes.Outcome("interrupted", outcomes.EXIT_INTERRUPTED,
                                         "the runbook was started again in the same kernel"))
    claimed = os.environ.get(RECORD_ENV)
    record_path = Path(claimed) if claimed else None
    twin = bool(os.environ.get(TWIN_ENV))
    records_dir = record_path.parent if record_path else Path(os.environ.get(RECORDS_ENV) or project / "records")
    abandoned = abandoned_runs(records_dir, twin=twin, besides=record_path)
    for found in abandoned:
        warn(f"warning: an earlier run was abandoned: {found.describe()}; it may have left them in place: "
             "check the cluster before going on")
    taken = None
    if apply and lock == "workstation":
        taken = _take_workstation_lock(runbook, record_path, project, say)
    elif apply:
        taken = _take_lock(runbook, record_path, say)
    elif lock not in ("lease", "workstation"):
        raise ValueError(f"unknown lock {lock!r}")
    lock = taken
    os.umask(PRIVATE_UMASK)
    if record_path is None:
        record_path = new_record_path(Path(os.environ.get(RECORDS_ENV) or project / "records"), runbook)
    else:
        private_directory(record_path.parent)
    if not os.environ.get(ARTIFACTS_ENV):
        os.environ[ARTIFACTS_ENV] = str(artifacts_dir(record_path))
    guard = Guard(runbook, apply, record_path, Transcript(_template(runbook, project)), lock, twin=twin, warn=warn)
    if lock is not None:  # this run now holds the lock: the abandoned ones are closed, once, as what they are
        for found in abandoned:
            try:
                mark_abandoned(found, by=record_path)
            except OSError:
                pass
    if lock is not None:
        lock.keep_renewed(notify=warn, on_lost=lambda: None)
    guard.start()
    return guard


def _take_lock(runbook: str, claimed: Path | None, say: Callable[[str], None]) -> MaintenanceLock:
    from homeops.tools.lease import LeaseClient

    seconds = int(os.environ.get(LOCK_SECONDS_ENV) or DEFAULT_DURATION_SECONDS)
    lock = MaintenanceLock(LeaseClient(kubectl=shutil.which("kubectl") or "kubectl"), runbook, seconds)
    try:
        lock.acquire()
    except (LockHeld, LockUnavailable) as exc:
        if claimed is not None and _unstarted(claimed):
            claimed.unlink(missing_ok=True)  # refused before anything ran: nothing to keep
        # The lock held is a refusal; a lock that could not be checked is a failure to look.
        raise (RunbookStopped if isinstance(exc, LockHeld) else RunbookFailed)(str(exc)) from None
    if lock.taken_over is not None:
        say(f"took over an expired lease: {lock.taken_over.describe()}")
    say(f"maintenance lock taken: {lock.describe()}")
    return lock


def _take_workstation_lock(runbook: str, claimed: Path | None, project: Path, say: Callable[[str], None]):
    from homeops.runner.local_lock import WorkstationLock

    directory = claimed.parent if claimed is not None else Path(os.environ.get(RECORDS_ENV) or project / "records")
    lock = WorkstationLock(directory, runbook)
    try:
        lock.acquire()
    except (LockHeld, LockUnavailable) as exc:
        if claimed is not None and _unstarted(claimed):
            claimed.unlink(missing_ok=True)
        raise (RunbookStopped if isinstance(exc, LockHeld) else RunbookFailed)(str(exc)) from None
    say(f"workstation lock taken: {lock.describe()}")
    return lock


def _unstarted(record: Path) -> bool:
    """The record claimed for this run holds only the starter's placeholder."""
    status = status_of(read_record(record))
    return status is None or status.get("outcome") == "running"


def _template(runbook: str, project: Path) -> dict | None:
    """The runbook's notebook, for the record's markdown cells."""
    import json

    for path in (os.environ.get(NOTEBOOK_ENV), os.environ.get("JPY_SESSION_NAME"),
                 project / "runbooks" / f"{runbook}.ipynb"):
        if not path or not str(path).endswith(".ipynb"):
            continue
        try:
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    return None
