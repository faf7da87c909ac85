"""How a runbook's kernel output is redacted and recorded, through IPython's own extension points.

Installed once per kernel by `open_session`, they stay for the kernel's life:

- `sys.stdout` / `sys.stderr` become redacting streams: whole lines only (a PEM block held back
  until its END line), each line both sent to the notebook and added to the record;
- rich outputs (`display_pub.publish`, the execute result) are redacted value by value and recorded;
- tracebacks are redacted; a stop (`RunbookStopped`) or an interrupt shows its message, not a
  traceback through library code;
- `pre_run_cell` / `post_run_cell` follow the cells: the record is saved after each one, and the
  run ends (lock released, outcome recorded) when a cell fails or the last one succeeds.

Without an active guard (a cell run after the end) output is still redacted, not recorded.
"""

from __future__ import annotations

import sys
import threading

from homeops.errors import RunbookStopped
from homeops.runner import guard as guards
from homeops.redaction import LineRedactor, redact, redact_tree
from homeops.runner.run_cells import own_cells

RED, RESET = "\x1b[1;31m", "\x1b[0m"


class RedactingStream:
    """Wraps ipykernel's OutStream: what passes is redacted, line by line, and recorded."""

    def __init__(self, inner, name: str):
        self._inner = inner
        self._name = name
        self._lock = threading.RLock()  # the lock's renewal thread may warn while a cell prints
        self._lines = LineRedactor(self._emit)

    def write(self, text: str) -> int:
        with self._lock:
            self._lines.write(text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        # Partial lines wait for their end (or the end of the cell): a key printed in two writes
        # must not leave half of itself behind.
        self._inner.flush()

    def end_of_cell(self) -> None:
        with self._lock:
            self._lines.flush()
        self._inner.flush()

    def _emit(self, line: str) -> None:
        text = line + "\n"
        self._inner.write(text)
        guard = guards.active()
        if guard is not None:
            with guard.io:
                guard.transcript.stream(self._name, text)

    def __getattr__(self, name):  # set_parent, fileno, isatty, encoding...: the wrapped stream's
        return getattr(self._inner, name)


class _Shown:
    """An exception value as ipykernel shows it (`str(evalue)`), redacted."""

    def __init__(self, text: str):
        self._text = text

    def __str__(self) -> str:
        return self._text


def install() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "_homeops_hooks", False):
        return
    shell._homeops_hooks = True
    streams = [RedactingStream(sys.stdout, "stdout"), RedactingStream(sys.stderr, "stderr")]
    sys.stdout, sys.stderr = streams

    def end_of_output() -> None:
        for stream in streams:
            stream.end_of_cell()

    publish = shell.display_pub.publish

    def redacted_publish(data, metadata=None, *args, **kwargs):
        end_of_output()  # printed lines first, as they came
        data, metadata = redact_tree(data), redact_tree(metadata or {})
        _record(lambda t: t.display(data, metadata))
        return publish(data, metadata, *args, **kwargs)

    shell.display_pub.publish = redacted_publish

    write_format_data = shell.displayhook.write_format_data

    def redacted_result(format_dict, md_dict=None):
        format_dict, md_dict = redact_tree(format_dict), redact_tree(md_dict or {})
        _record(lambda t: t.result(format_dict, md_dict))
        return write_format_data(format_dict, md_dict)

    shell.displayhook.write_format_data = redacted_result

    show = shell._showtraceback

    def redacted_traceback(etype, evalue, stb):
        end_of_output()
        stb = [redact(line) for line in (_short(etype, evalue) or stb)]
        shown = redact(str(evalue))
        _record(lambda t: t.error(etype.__name__, shown, stb))
        return show(etype, _Shown(shown), stb)

    shell._showtraceback = redacted_traceback

    def pre_run_cell(info) -> None:
        guard = guards.active()
        if guard is not None:
            with guard.io:
                guard.transcript.cell_started(info.raw_cell)
            guard.executing = True

    def post_run_cell(result) -> None:
        end_of_output()
        guard = guards.active()
        if guard is None:
            return
        guard.executing = False
        error = result.error_in_exec or result.error_before_exec
        with guard.io:
            cell = guard.transcript.current
            where = where_in(guard.transcript, cell)
        if error is not None:
            guard.end(error, where)
        elif cell is not None and guard.transcript.is_last_code_cell(cell):
            guard.end(None, where)
        else:
            guard.save()
            return
        _run_ended(shell)
        _closing(guard)
        guard.after_interrupted_cell()

    shell.events.register("pre_run_cell", pre_run_cell)
    shell.events.register("post_run_cell", post_run_cell)


def replay_history(guard) -> None:
    """The cells of this run that ran before its guard existed (parameters, and the one opening the session).

    A kernel lives through many runs (Run All, apply = True, Run All again): a run's cells are those
    run since the previous run ended, and of those, from the last parameters cell on; the cells of
    earlier runs, or typed between two runs, belong to none.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    history = shell.history_manager.input_hist_raw
    inputs = own_cells(list(history[getattr(shell, "_homeops_run_from", 1):]), guard.transcript.parameter_names)
    with guard.io:
        for source in inputs:
            guard.transcript.cell_started(source)
    guard.executing = bool(inputs)


def _run_ended(shell) -> None:
    """The next run's cells start after the one that just ran."""
    shell._homeops_run_from = len(shell.history_manager.input_hist_raw)


def where_in(transcript, cell) -> str:
    """`Step 2: Cordon (code cell 4)`: the step and the code cell's number, counted as the record shows them."""
    if cell is None:
        return "the kernel start, before the first cell"
    number = sum(1 for c in transcript.cells[: transcript.cells.index(cell) + 1] if c.get("cell_type") == "code")
    step = transcript.step_of(cell)
    return f"{step} (code cell {number})" if step else f"code cell {number}"


def _short(etype, evalue) -> list[str] | None:
    if isinstance(evalue, RunbookStopped):
        return [f"{RED}stopped:{RESET} {evalue}"]
    if isinstance(evalue, KeyboardInterrupt):
        guard = guards.active()
        by = (guard.interrupter() if guard is not None else None) or "interrupt"
        return [f"{RED}interrupted:{RESET} {by}; the run stopped in this cell"]
    return None


def _record(change) -> None:
    guard = guards.active()
    if guard is not None:
        with guard.io:
            change(guard.transcript)


def _closing(guard) -> None:
    """The run's last words in the notebook: how it ended, and where its record is."""
    status = guard.status
    line = f"{status.outcome}: {guard.runbook} ({status.mode})" if status.outcome == "completed" else status.outcome
    if guard.record_problem or not _under_runner():
        print(f"{line} — {guard.closing_line()}", file=sys.stderr if guard.record_problem else sys.stdout,
              flush=True)
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, RedactingStream):
                stream.end_of_cell()


def _under_runner() -> bool:
    import os

    return os.environ.get(guards.STARTER_ENV) == "cli"
