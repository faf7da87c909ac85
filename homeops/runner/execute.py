"""Run one runbook from the command line: execute it with papermill, report, finish its record.

The run's safety (the maintenance lock, the record, redaction, interrupts) is the kernel's own
layer, `homeops.runner.guard`, started by the runbook's first cell as in Jupyter; the runner only
claims the record's name, hands the kernel its environment, turns Ctrl-C, SIGTERM and SIGHUP into
an interrupt of the kernel, and prints the last line. When the kernel could not finish the record
(a cell timeout, a dead kernel), the runner writes the outcome it saw into it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from homeops.catalog import Runbook
from homeops.runner import guard as guards
from homeops.runner import outcome as outcomes
from homeops.runner import target
from homeops.runner.kernel import EarlyKernel, last_log_line, warmed_imports
from homeops.runner.lock import DEFAULT_DURATION_SECONDS as DEFAULT_LOCK_DURATION_SECONDS
from homeops.runner.parameters import effective
from homeops.runner.progress import Progress
from homeops.runner.records import (RunStatus, artifacts_dir, new_record_path, read_record, status_of,
                                    write_record)

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
    """A run's claimed record and its kernel, made as soon as the cheap checks passed.

    The kernel then boots (and imports what the runbook will import) while the command line loads
    cluster.yaml and imports papermill. When a later check refuses the run, `abandon()` stops the
    kernel and removes the record: nothing ran, nothing is kept.
    """

    def __init__(self, runbook: Runbook, apply: bool, records_dir: Path, twin: Path | None,
                 lock_seconds: int | None = None):
        self.path = search_path(twin)
        self.notebook = _unexecuted(runbook.path)
        self.record_path = new_record_path(records_dir, runbook.name)
        # Valid from the first moment: whoever lists records meanwhile (the docs build) sees a run
        # that is "running", never an empty file. The kernel's guard writes it from then on.
        self.status = RunStatus(runbook.name, "apply" if apply else "plan", twin=twin is not None)
        write_record(self.record_path, self.notebook, self.status)
        self.artifacts = artifacts_dir(self.record_path)
        self.artifacts.mkdir(exist_ok=True, mode=0o700)
        env = {**os.environ, "PATH": self.path, guards.RECORD_ENV: str(self.record_path),
               guards.ARTIFACTS_ENV: str(self.artifacts), guards.NOTEBOOK_ENV: str(runbook.path),
               guards.STARTER_ENV: "cli",
               guards.LOCK_SECONDS_ENV: str(lock_seconds or DEFAULT_LOCK_DURATION_SECONDS),
               # The debugger's frozen-modules warning would otherwise land in every run's stderr.
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        if twin is not None:
            env[guards.TWIN_ENV] = str(twin)
        self._runtime = tempfile.TemporaryDirectory(prefix="homeops-kernel-")
        self.kernel = EarlyKernel(env, Path(self._runtime.name), warm=warmed_imports(self.notebook))

    def end(self) -> None:
        """Stop the kernel and tidy what the run did not use."""
        _remove_if_empty(self.artifacts)
        try:
            self.kernel.stop()
        finally:
            self._runtime.cleanup()

    def abandon(self) -> None:
        with _ignoring_ctrl_c():
            self.record_path.unlink(missing_ok=True)
            self.end()


def run_runbook(request: RunRequest, progress: Progress | None = None, started: StartedRun | None = None) -> int:
    """Run the request; `started` is its record and kernel when they were made ahead (same runbook, mode, twin)."""
    progress = progress or Progress()
    started = started or StartedRun(request.runbook, request.apply, request.records_dir, request.twin,
                                    request.lock_seconds)
    where = target.describe({**os.environ, "PATH": started.path,
                             **({guards.TWIN_ENV: str(request.twin)} if request.twin else {})})
    progress.say(f"running {request.runbook.name} ({request.mode}) against {where}; record: {started.record_path}")
    signals = _Forwarding(started.kernel)
    ended = outcomes.completed()
    kernel_saw_the_end = False  # the last cell ended in a live kernel, whose guard then wrote the record
    try:
        with signals:
            try:
                _papermill(request, progress, started.kernel)
                kernel_saw_the_end = True
            except KeyboardInterrupt:  # a second Ctrl-C: the kernel did not stop in time
                ended = outcomes.interrupted(progress.where(), by=signals.received)
            except Exception as exc:  # every way a run can end badly becomes an outcome, never a traceback
                ended = _classify(exc, progress, request.effective_cell_timeout(), started.kernel.runtime_dir)
                kernel_saw_the_end = type(exc).__name__ == "PapermillExecutionError"
        if signals.received is not None and ended.outcome != "interrupted":
            ended = _interrupted(ended, signals.received, progress)
    finally:
        with _ignoring_ctrl_c():
            progress.cell_finished()
            started.end()
            ended, record_line = _finish_record(started, ended, kernel_saw_the_end)
    # Printed after the kernel (and so the lock it held) is gone, so that it really is the last line.
    progress.say(ended.last_line(request.runbook.name, request.mode, None) + record_line)
    return ended.exit_code


def _interrupted(ended: outcomes.Outcome, by: str, progress: Progress) -> outcomes.Outcome:
    """The outcome of a run a signal interrupted: the stop's own message when the runbook stopped itself."""
    if ended.outcome == "stopped":
        return outcomes.Outcome("interrupted", outcomes.EXIT_INTERRUPTED, ended.reason)
    if ended.outcome == "completed":  # the signal arrived after the last cell
        return ended
    return outcomes.interrupted(progress.where(), by=by)


def _finish_record(started: StartedRun, ended: outcomes.Outcome, kernel_saw_the_end: bool
                   ) -> tuple[outcomes.Outcome, str]:
    """The outcome to report and the record's part of the last line.

    The kernel's guard is the record's author: its outcome stands when it finished the record. A
    record still "running" was left by a kernel that could not end it (a cell timeout, a dead
    kernel, a notebook that never opened its session): the runner writes its own outcome in. When
    the kernel saw the end and still did not write it, its writes failed (a full disk): the record
    is incomplete, and the last line says so. A record that is gone was removed by a run refused
    before it began (the lock held).
    """
    if not started.record_path.exists():
        return ended, ""
    notebook = read_record(started.record_path)
    status = status_of(notebook)
    if status is not None and status.get("outcome") not in (None, "running"):
        code = status.get("exit_code")
        ended = outcomes.Outcome(str(status["outcome"]), code if isinstance(code, int) else ended.exit_code,
                                 status.get("reason"))
        return ended, f" — record: {started.record_path}"
    opened = status is not None and status.get("pid") != started.status.pid  # the guard wrote it once
    try:
        kept = RunStatus(**{**started.status.__dict__, **(status or {})})
        kept.finish(ended.outcome, ended.exit_code, ended.reason)
        write_record(started.record_path, notebook or started.notebook, kept)
    except (OSError, TypeError) as exc:
        return ended, f" — the record {started.record_path} is incomplete: {getattr(exc, 'strerror', None) or exc}"
    if opened and kernel_saw_the_end:
        return ended, (f" — the record {started.record_path} is incomplete: the kernel could not write it "
                       "(see the warning above)")
    return ended, f" — record: {started.record_path}"


class _Forwarding:
    """Ctrl-C, SIGTERM and SIGHUP to the runner become an interrupt of the kernel's cell.

    The kernel runs in its own session, so a terminal's Ctrl-C (or an SSH drop's SIGHUP) reaches
    only the runner. The first signal is sent on as SIGINT to the kernel's process group: the cell
    stops as if interrupted in Jupyter, the runbook says what it left in place, the guard releases
    the lock and records "interrupted". A second Ctrl-C stops waiting for that.
    """

    NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}

    def __init__(self, kernel: EarlyKernel):
        self._kernel = kernel
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "_Forwarding":
        for number in self.NAMES:
            try:
                self._previous[number] = signal.signal(number, self._on_signal)
            except ValueError:  # not the main thread
                break
        return self

    def __exit__(self, *exc) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)

    def _on_signal(self, number: int, frame) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = self.NAMES[number]
        _signal_kernel(self._kernel, number)


def _signal_kernel(kernel: EarlyKernel, number: int) -> None:
    """Send the kernel (not its children: a tool running is ended by the cell that ran it) `number`."""
    try:
        manager = kernel.manager()
    except Exception:  # noqa: BLE001  the kernel never started: nothing to interrupt
        return
    provisioner = getattr(manager, "provisioner", None) if manager is not None else None
    process = getattr(provisioner, "process", None)
    if process is not None and process.poll() is None:
        process.send_signal(number)


def _papermill(request: RunRequest, progress: Progress, kernel: EarlyKernel) -> None:
    from homeops.runner import engine  # first: it keeps papermill's import lean

    import papermill

    engine.register()
    # papermill logs each cell's traceback and "unknown parameter" warnings; the runner reports
    # outcomes itself, in one redacted line.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    parameters = {**request.values, "config": str(request.config)}
    if request.runbook.takes_apply:  # a read-only runbook has no apply to set
        parameters["apply"] = request.apply
    papermill.execute_notebook(
        str(request.runbook.path),
        engine.DISCARD,  # the record is the kernel's: papermill's own copy is never written anywhere
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
