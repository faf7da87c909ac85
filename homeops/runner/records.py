"""Saved records of runs: `records/<UTC timestamp>-<runbook>.ipynb`, redacted before every write.

papermill saves the output notebook after each cell through its I/O layer. Records are written
through a private scheme (`homeops-record://`) whose handler parses the notebook, adds the run's
`homeops` metadata, redacts every string and replaces the file atomically, so nothing unredacted
touches the disk and a reader never sees half a file.

The `homeops` metadata keys (runbook, mode, outcome, started, finished, exit_code, reason, twin)
are what the site's Maintenance log reads.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from homeops.runner.redact import redact_notebook

SCHEME = "homeops-record://"


@dataclass
class RunStatus:
    runbook: str
    mode: str  # "plan" or "apply"
    twin: bool
    started: str = field(default_factory=lambda: utc_iso(datetime.now(timezone.utc)))
    outcome: str = "running"  # running, completed, stopped, failed, interrupted
    finished: str | None = None
    exit_code: int | None = None
    reason: str | None = None

    def finish(self, outcome: str, exit_code: int, reason: str | None) -> None:
        self.outcome, self.exit_code, self.reason = outcome, exit_code, reason
        self.finished = utc_iso(datetime.now(timezone.utc))


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_record_path(directory: Path, runbook: str, now: datetime | None = None) -> Path:
    """A fresh record path; a second run in the same second gets a `-2` suffix instead of overwriting."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 1000):
        suffix = "" if attempt == 1 else f"-{attempt}"
        path = directory / f"{stamp}-{runbook}{suffix}.ipynb"
        try:
            # Claim the name now, so two runs started in the same second never share a record.
            with path.open("x", encoding="utf-8"):
                pass
            return path.resolve()
        except FileExistsError:
            continue
    raise FileExistsError(f"no free record name for {runbook} in {directory}")


def artifacts_dir(record: Path) -> Path:
    return record.with_name(record.stem + ".artifacts")


class Record:
    """One run's record file; papermill writes it through `RecordIO` as `self.url`."""

    def __init__(self, path: Path, status: RunStatus):
        self.path = path
        self.status = status
        self._last: dict | None = None

    @property
    def url(self) -> str:
        return SCHEME + str(self.path)

    def write_notebook(self, notebook: dict) -> None:
        self._last = notebook
        notebook = dict(notebook)
        metadata = dict(notebook.get("metadata") or {})
        papermill = dict(metadata.get("papermill") or {})
        for key in ("input_path", "output_path"):
            if isinstance(papermill.get(key), str) and papermill[key].startswith(SCHEME):
                papermill[key] = papermill[key][len(SCHEME):]
        if papermill:
            metadata["papermill"] = papermill
        metadata["homeops"] = asdict(self.status)
        notebook["metadata"] = metadata
        write_atomically(self.path, json.dumps(redact_notebook(notebook), indent=1, ensure_ascii=False) + "\n")

    def finish(self, outcome: str, exit_code: int, reason: str | None) -> None:
        """Write the final status into the notebook last written (papermill's, or the first one)."""
        if self._last is None:
            raise RuntimeError(f"{self.path}: finished before anything was written")
        self.status.finish(outcome, exit_code, reason)
        self.write_notebook(self._last)


class RecordIO:
    """papermill I/O handler for `homeops-record://PATH` (write-only)."""

    records: dict[str, Record] = {}

    @classmethod
    def register(cls, record: Record) -> None:
        cls.records[record.url] = record

    @classmethod
    def unregister(cls, record: Record) -> None:
        cls.records.pop(record.url, None)

    @classmethod
    def write(cls, buf: str, path: str) -> None:
        cls.records[path].write_notebook(json.loads(buf))

    @classmethod
    def read(cls, path: str) -> str:
        raise OSError(f"{path}: records are written, not read, by the runner")

    @classmethod
    def listdir(cls, path: str) -> list[str]:
        raise OSError(f"{path}: records cannot be listed through papermill")

    @classmethod
    def pretty_path(cls, path: str) -> str:
        return path[len(SCHEME):] if path.startswith(SCHEME) else path


def write_atomically(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a record gets the mode any new file would.
        os.fchmod(descriptor, 0o666 & ~_umask())
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
