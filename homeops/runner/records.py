"""Saved records of runs: `records/<UTC timestamp>-<runbook>.ipynb`, redacted before every write.

The record is written by the runbook's own kernel (`homeops.runner.guard`), whatever started it;
`homeops run` only claims the name first (a valid "running" record at once, so that whoever lists
records meanwhile never sees an empty file) and, when the kernel could not finish it (killed by a
cell timeout, dead), writes the outcome it saw into it.

The `homeops` metadata keys (runbook, mode, outcome, started, finished, exit_code, reason, twin,
pid, pid_started, host, heartbeat) are what the site's Maintenance log reads. A record whose
outcome is still "running" is judged by `judged_outcome`: its process gone (same host: that pid
no longer runs, or runs a process started at another time) or its heartbeat stale means the run
was killed without a word, and it reads as "abandoned".

Records and artefacts are private: files 0600 in directories 0700 (a record may name what a
secret protected, an etcd snapshot holds every Secret of the cluster).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from homeops.redaction import redact_notebook
from homeops.runner.processes import alive, started

HEARTBEAT_SECONDS = 30.0
# A record whose heartbeat is older than this was left by a run that no longer writes it.
STALE_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS
PRIVATE_DIRECTORY = 0o700


def now_iso() -> str:
    return utc_iso(datetime.now(timezone.utc))


@dataclass
class RunStatus:
    runbook: str
    mode: str  # "plan" or "apply"
    twin: bool
    started: str = field(default_factory=now_iso)
    outcome: str = "running"  # running, completed, stopped, failed, interrupted
    finished: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    pid: int = field(default_factory=os.getpid)  # the process writing the record: its death means abandoned
    pid_started: str | None = field(default_factory=lambda: started(os.getpid()))  # that pid, not a later one
    host: str = field(default_factory=socket.gethostname)
    heartbeat: str = field(default_factory=now_iso)

    def finish(self, outcome: str, exit_code: int, reason: str | None) -> None:
        self.outcome, self.exit_code, self.reason = outcome, exit_code, reason
        self.finished = now_iso()


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def private_directory(directory: Path) -> Path:
    """`directory` (and missing parents) made, and itself made private: 0700."""
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY)
    try:
        if directory.stat().st_uid == os.getuid():
            os.chmod(directory, PRIVATE_DIRECTORY)
    except OSError:  # not ours to change: the files in it are still 0600
        pass
    return directory


def new_record_path(directory: Path, runbook: str, now: datetime | None = None) -> Path:
    """A fresh record path; a second run in the same second gets a `-2` suffix instead of overwriting."""
    private_directory(directory)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 1000):
        suffix = "" if attempt == 1 else f"-{attempt}"
        path = directory / f"{stamp}-{runbook}{suffix}.ipynb"
        try:
            # Claim the name now, so two runs started in the same second never share a record.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(descriptor)
            return path.resolve()
        except FileExistsError:
            continue
    raise FileExistsError(f"no free record name for {runbook} in {directory}")


def artifacts_dir(record: Path) -> Path:
    return record.with_name(record.stem + ".artifacts")


def write_record(path: Path, notebook: dict, status: RunStatus) -> None:
    """Write `notebook` with `status` as its `homeops` metadata, redacted, atomically, 0600."""
    notebook = dict(notebook)
    metadata = dict(notebook.get("metadata") or {})
    metadata["homeops"] = asdict(status)
    notebook["metadata"] = metadata
    write_atomically(path, json.dumps(redact_notebook(notebook), indent=1, ensure_ascii=False) + "\n")


def read_record(path: Path) -> dict | None:
    """The record's notebook, or None when it is missing or unreadable (a write that never happened)."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return notebook if isinstance(notebook, dict) else None


def status_of(notebook: dict | None) -> dict | None:
    meta = ((notebook or {}).get("metadata") or {}).get("homeops")
    return meta if isinstance(meta, dict) else None


def judged_outcome(status: dict, now: datetime | None = None, host: str | None = None) -> str:
    """The outcome a reader should show: "abandoned" for a "running" record nobody writes any more."""
    outcome = status.get("outcome")
    if outcome != "running":
        return str(outcome)
    pid, where, since = status.get("pid"), status.get("host"), status.get("pid_started")
    if isinstance(pid, int) and where == (host or socket.gethostname()) \
            and not alive(pid, since if isinstance(since, str) else None):
        return "abandoned"
    try:
        beat = datetime.fromisoformat(str(status.get("heartbeat") or status.get("started")).replace("Z", "+00:00"))
    except ValueError:
        return "abandoned"
    if ((now or datetime.now(timezone.utc)) - beat).total_seconds() > STALE_AFTER_SECONDS:
        return "abandoned"
    return "running"


def write_atomically(path: Path, text: str) -> None:
    # mkstemp makes the file private (0600), and os.replace keeps that mode.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


RUN_MARK = " RUN: "  # a change the gate ran, as it says it: `14:03:27 RUN: kubectl cordon worker-1`
LAST_CHANGES = 3


def last_changes(notebook: dict | None, count: int = LAST_CHANGES) -> list[str]:
    """The last `count` changes a record says its run made (its RUN lines, time included): what an
    abandoned run may have left in place."""
    found = []
    for cell in (notebook or {}).get("cells") or []:
        if not isinstance(cell, dict):
            continue
        for output in cell.get("outputs") or []:
            if not isinstance(output, dict) or output.get("output_type") != "stream":
                continue
            text = output.get("text", "")
            for line in ("".join(text) if isinstance(text, list) else str(text)).splitlines():
                if RUN_MARK in f" {line.strip()}":
                    found.append(line.strip())
    return found[-count:]


@dataclass(frozen=True)
class Abandoned:
    """A record left "running" by a run whose process is gone."""

    path: Path
    status: dict
    changes: list[str]

    def describe(self) -> str:
        status = self.status
        made = "; ".join(self.changes) if self.changes else "no change recorded"
        return (f"{self.path.name} ({status.get('runbook')} {status.get('mode')}, started {status.get('started')}; "
                f"its process {status.get('pid')} on {status.get('host')} is gone): its last changes: {made}")


def abandoned_runs(directory: Path, *, twin: bool, besides: Path | None = None) -> list[Abandoned]:
    """Apply runs of `directory` (against the twin or the cluster, as `twin` says) that read as abandoned."""
    found = []
    for path in sorted(directory.glob("*.ipynb")) if directory.is_dir() else []:
        if besides is not None and path.resolve() == besides.resolve():
            continue
        try:  # most records are finished: only a "running" one is worth parsing
            if b'"running"' not in path.read_bytes():
                continue
        except OSError:
            continue
        notebook = read_record(path)
        status = status_of(notebook)
        if not status or status.get("mode") != "apply" or bool(status.get("twin")) != twin:
            continue
        if judged_outcome(status) == "abandoned":
            found.append(Abandoned(path, status, last_changes(notebook)))
    return found


def mark_abandoned(found: Abandoned, by: Path) -> None:
    """Write into an abandoned record what it is: a reader on another host cannot judge its pid."""
    notebook = read_record(found.path)
    status = status_of(notebook)
    if notebook is None or status is None or status.get("outcome") != "running":
        return
    made = "; ".join(found.changes) if found.changes else "no change recorded"
    status.update(outcome="abandoned", finished=None, exit_code=None,
                  reason=f"its process ended without finishing the run (found by {by.name}); its last changes: {made}",
                  left_in_place=f"unknown: check the cluster; its last changes: {made}")
    write_atomically(found.path, json.dumps(redact_notebook(notebook), indent=1, ensure_ascii=False) + "\n")
