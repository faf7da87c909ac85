"""Run one runbook: lock (apply only), execute with papermill, record, report, unlock."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from homeops.catalog import Runbook
from homeops.runner import outcome as outcomes
from homeops.runner.kernel import EarlyKernel, last_log_line, warmed_imports
from homeops.runner.lock import DEFAULT_DURATION_SECONDS as DEFAULT_LOCK_DURATION_SECONDS
from homeops.runner.lock import LockHeld, LockUnavailable, MaintenanceLock
from homeops.runner.parameters import effective
from homeops.runner.progress import Progress
from homeops.runner.records import SCHEME, Record, RecordIO, RunStatus, artifacts_dir, new_record_path
from homeops.tools.lease import LeaseClient

# Every wait of a runbook is bounded by its wait_timeout. One cell may take a node through all
# the phases of its maintenance (drain, reboot, Ready, Ceph clean, etcd healthy), and one cell may
# loop over every node; the margin covers the commands around the waits.
WAITS_PER_NODE = 5
CELL_TIMEOUT_MARGIN_SECONDS = 120
DEFAULT_WAIT_TIMEOUT_SECONDS = 900
KERNEL_START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class RunRequest:
    runbook: Runbook
    values: dict[str, object]  # typed -p values
    config: Path
    apply: bool
    records_dir: Path
    nodes: int  # nodes in cluster.yaml: how many a cell may wait for
    twin: Path | None = None
    cell_timeout: float | None = None
    lock_seconds: int | None = None

    @property
    def mode(self) -> str:
        return "apply" if self.apply else "plan"

    def waiting_bound_seconds(self) -> float:
        """The most a run may wait in all: every phase of every node at the runbook's wait_timeout."""
        wait = effective(self.runbook, self.values, "wait_timeout", DEFAULT_WAIT_TIMEOUT_SECONDS)
        if not isinstance(wait, (int, float)) or isinstance(wait, bool) or wait <= 0:
            wait = DEFAULT_WAIT_TIMEOUT_SECONDS
        return float(wait) * WAITS_PER_NODE * max(self.nodes, 1)

    def effective_cell_timeout(self) -> float:
        if self.cell_timeout is not None:
            return self.cell_timeout
        return self.waiting_bound_seconds() + CELL_TIMEOUT_MARGIN_SECONDS

    def lock_duration_seconds(self) -> int:
        """The maintenance Lease's duration: short, because the runner renews it while the run goes on."""
        return self.lock_seconds if self.lock_seconds is not None else DEFAULT_LOCK_DURATION_SECONDS


def search_path(twin: Path | None) -> str:
    inherited = os.environ.get("PATH", os.defpath)
    return f"{twin / 'bin'}{os.pathsep}{inherited}" if twin else inherited


class StartedRun:
    """A run's record and kernel, made as soon as the cheap checks passed.

    The kernel then boots (and imports what the runbook will import) while the command line loads
    cluster.yaml, takes the lock and imports papermill. When a later check refuses the run,
    `abandon()` stops the kernel and removes the record: nothing ran, nothing is kept.
    """

    def __init__(self, runbook: Runbook, apply: bool, records_dir: Path, twin: Path | None):
        self.path = search_path(twin)
        notebook = _unexecuted(runbook.path)
        self.record_path = new_record_path(records_dir, runbook.name)
        # Valid from the first moment: whoever lists records meanwhile (the docs build) sees a run
        # that is "running", never an empty file.
        self.record = Record(self.record_path, RunStatus(runbook.name, "apply" if apply else "plan",
                                                         twin=twin is not None))
        self.record.write_notebook(notebook)
        self.artifacts = artifacts_dir(self.record_path)
        self.artifacts.mkdir(exist_ok=True)
        env = {**os.environ, "PATH": self.path, "HOMEOPS_RECORD": str(self.record_path),
               "HOMEOPS_ARTIFACTS": str(self.artifacts),
               # The debugger's frozen-modules warning would otherwise land in every run's stderr.
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        self._runtime = tempfile.TemporaryDirectory(prefix="homeops-kernel-")
        self.kernel = EarlyKernel(env, Path(self._runtime.name), warm=warmed_imports(notebook))

    def end(self, *, keep_record: bool, release: Callable[[], str | None] | None = None) -> str | None:
        """Stop the kernel, drop the record unless kept, and call `release` (the lock's); its warning."""
        if not keep_record:
            self.record_path.unlink(missing_ok=True)
        _remove_if_empty(self.artifacts)
        try:
            self.kernel.stop()
            # Only once the kernel is gone: no code of this run may go on after the lock is free.
            return release() if release is not None else None
        finally:
            self._runtime.cleanup()

    def abandon(self) -> None:
        with _ignoring_ctrl_c():
            self.end(keep_record=False)


def run_runbook(request: RunRequest, progress: Progress | None = None, started: StartedRun | None = None) -> int:
    """Run the request; `started` is its record and kernel when they were made ahead (same runbook, mode, twin)."""
    progress = progress or Progress()
    started = started or StartedRun(request.runbook, request.apply, request.records_dir, request.twin)
    kernel, record, record_path = started.kernel, started.record, started.record_path
    executed = False
    lock: MaintenanceLock | None = None
    ended: outcomes.Outcome | None = None
    warning: str | None = None
    try:
        if request.apply:
            lock, ended = _take_lock(request, started.path, progress)
        if lock is not None:
            lock.keep_renewed(notify=progress.warn, on_lost=lambda: _interrupt(kernel))
        if lock is not None or not request.apply:
            executed = True
            ended = _execute(request, progress, record, kernel, lock)
    finally:
        with _ignoring_ctrl_c():
            # refused, or Ctrl-C while taking the lock: nothing ran, nothing to keep
            warning = started.end(keep_record=executed, release=lock.release if lock is not None else None)
    if warning:
        progress.warn(f"warning: {warning}")
    assert ended is not None  # set by the refusal or by the run; anything else raised above
    # Printed after the lock is released, so that it really is the last line.
    progress.say(ended.last_line(request.runbook.name, request.mode, str(record_path) if executed else None))
    return ended.exit_code


def _take_lock(request: RunRequest, path: str, progress: Progress
               ) -> tuple[MaintenanceLock | None, outcomes.Outcome | None]:
    """The held lock, or None and the outcome of a run refused before its notebook."""
    kubectl = shutil.which("kubectl", path=path) or "kubectl"
    lock = MaintenanceLock(LeaseClient(kubectl=kubectl), request.runbook.name, request.lock_duration_seconds())
    try:
        lock.acquire()
    except LockHeld as exc:
        return None, outcomes.stopped(str(exc))
    except LockUnavailable as exc:
        return None, outcomes.Outcome("failed", outcomes.EXIT_FAILED, str(exc))
    if lock.taken_over is not None:
        progress.say(f"took over an expired lease: {lock.taken_over.describe()}")
    progress.say(f"maintenance lock taken: {lock.describe()}")
    return lock, None


def _execute(request: RunRequest, progress: Progress, record: Record, kernel: EarlyKernel,
             lock: MaintenanceLock | None = None) -> outcomes.Outcome:
    runbook = request.runbook
    parameters = {**request.values, "config": str(request.config), "apply": request.apply}
    where = f" against the twin {request.twin}" if request.twin else ""
    progress.say(f"running {runbook.name} ({request.mode}){where}; record: {record.path}")

    RecordIO.register(record)
    ended = outcomes.completed()
    try:
        try:
            _papermill(request, record, progress, parameters, kernel)
        except KeyboardInterrupt:
            ended = outcomes.interrupted(progress.where())
        except Exception as exc:  # every way a run can end badly becomes an outcome, never a traceback
            ended = _classify(exc, progress, request.effective_cell_timeout(), kernel.runtime_dir)
    finally:
        if lock is not None and lock.lost is not None:  # the interrupted cell is a consequence, not the cause
            ended = outcomes.Outcome("failed", outcomes.EXIT_FAILED, lock.lost)
        with _ignoring_ctrl_c():
            progress.cell_finished()
            record.finish(ended.outcome, ended.exit_code, ended.reason)
            RecordIO.unregister(record)
    return ended


def _interrupt(kernel: EarlyKernel) -> None:
    """Stop the running cell: called from the lock's renewal thread when the lock is lost."""
    from jupyter_core.utils import run_sync

    manager = kernel.manager()
    if manager is not None and manager.has_kernel:
        run_sync(manager.interrupt_kernel)()


def _papermill(request: RunRequest, record: Record, progress: Progress, parameters: dict,
               kernel: EarlyKernel) -> None:
    import papermill
    from papermill.iorw import papermill_io

    from homeops.runner import engine

    engine.register()
    if not any(scheme == SCHEME for scheme, _ in papermill_io._handlers):
        papermill_io.register(SCHEME, RecordIO)
    # papermill logs each cell's traceback and "unknown parameter" warnings; the runner reports
    # outcomes itself, in one redacted line.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    papermill.execute_notebook(
        str(request.runbook.path),
        record.url,
        parameters=parameters,
        engine_name=engine.ENGINE_NAME,
        kernel_name="python3",
        language="python",
        progress_bar=False,
        start_timeout=KERNEL_START_TIMEOUT_SECONDS,
        execution_timeout=request.effective_cell_timeout(),
        stdout_file=progress.stdout,
        stderr_file=progress.stderr,
        km=kernel.manager(),
        progress=progress,
    )


def _classify(exc: Exception, progress: Progress, cell_timeout: float, runtime_dir: Path) -> outcomes.Outcome:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return outcomes.from_cell_error(progress.where(), exc.ename, exc.evalue)
    if isinstance(exc, CellTimeoutError):
        return outcomes.failed(progress.where(), "CellTimeoutError",
                               f"the cell did not finish within {cell_timeout:g}s")
    # The kernel's own log says why it died or did not start; the exception alone rarely does.
    log = last_log_line(runtime_dir)
    detail = f"{exc} (kernel log: {log})" if log else str(exc)
    if isinstance(exc, DeadKernelError):
        return outcomes.failed(progress.where(), "DeadKernelError", detail)
    return outcomes.failed(progress.where(), type(exc).__name__, detail)


def _unexecuted(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass


@contextmanager
def _ignoring_ctrl_c() -> Iterator[None]:
    """Finish writing the record and releasing the lock even if Ctrl-C is pressed again."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals cannot be changed, nothing to protect against
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
