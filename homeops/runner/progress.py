"""What a person sees while a runbook runs: one line per step, and the notebook's own output.

Everything goes through the redactor first. A step's line carries the time it started. The notebook's printed lines are indented under the
step they belong to, so the plan lines of a plan run read as a list under their step.
"""

from __future__ import annotations

import sys
from typing import TextIO

from homeops.gate import stamped
from homeops.redaction import LineRedactor, redact

OUTPUT_INDENT = "    "


class Progress:
    """Follows the run cell by cell: knows the current step and code cell, prints as they start."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None):
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self.step: str | None = None
        self.code_cell = 0
        self.stdout = _LiveStream(self._out)
        self.stderr = _LiveStream(self._err)

    def say(self, line: str) -> None:
        print(redact(line), file=self._out, flush=True)

    def warn(self, line: str) -> None:
        print(redact(line), file=self._err, flush=True)

    def cell_started(self, cell: dict) -> None:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if cell.get("cell_type") == "markdown" and source.lstrip().startswith("## "):
            self.step = source.strip().splitlines()[0][3:].strip()
            self.say(stamped(f"▸ {self.step}"))
        elif cell.get("cell_type") == "code":
            self.code_cell += 1

    def cell_finished(self) -> None:
        self.stdout.end_of_cell()
        self.stderr.end_of_cell()

    def where(self) -> str:
        """The current position for a failure line: `Step 2 — Cordon (code cell 4)`."""
        if self.code_cell == 0:
            return "the kernel start, before the first cell"
        cell = f"code cell {self.code_cell}"
        return f"{self.step} ({cell})" if self.step else cell


class _LiveStream:
    """A file-like sink for papermill's stdout_file/stderr_file that prints redacted whole lines.

    papermill calls flush() after every chunk; a chunk may end mid-line (or mid-key), so flush
    does nothing and the partial line is completed at the end of the cell instead.
    """

    def __init__(self, target: TextIO):
        self._target = target
        self._lines = LineRedactor(self._emit)

    def write(self, chunk: str) -> int:
        self._lines.write(chunk)
        return len(chunk)

    def flush(self) -> None:
        pass

    def end_of_cell(self) -> None:
        self._lines.flush()

    def _emit(self, line: str) -> None:
        print(OUTPUT_INDENT + line, file=self._target, flush=True)
