"""The maintenance log: one row per saved run record (`records/*.ipynb`).

The runner writes a `homeops` dict into each record's notebook metadata (runbook, mode,
outcome, started, exit_code, reason, twin). Records are read with `json`; a key the runner did not
write shows as a dash, and a file that is not a readable notebook is listed as such rather than
failing the build, since records are operational output, not documentation sources. The runner
redacts records as it writes them; the reason is redacted again here because a record may have
been edited or copied in by hand, and the site is public.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from homeops.site.markdown import cell, code, table

NO_RECORDS = "No maintenance recorded yet."
MISSING = "—"


@dataclass(frozen=True)
class Record:
    file: str
    started: datetime | None
    runbook: str | None
    mode: str | None
    outcome: str | None
    exit_code: object
    reason: str | None


def _parse_started(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        started = datetime.fromisoformat(value)  # Python 3.11 reads a trailing Z too
    except ValueError:
        return None
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _mode(meta: dict) -> str | None:
    mode = _text(meta.get("mode"))
    return f"{mode or MISSING} (twin)" if meta.get("twin") is True else mode


def _redacted(reason: object) -> str:
    # Imported here: its patterns are compiled at import, and most builds have no record to redact.
    from homeops.runner.redact import redact

    return redact(str(reason))


def read_record(path: Path) -> Record:
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("homeops", {})
    except (OSError, ValueError, AttributeError):
        return Record(path.name, None, None, None, "unreadable record", None, None)
    if not isinstance(meta, dict):
        meta = {}
    return Record(
        file=path.name,
        started=_parse_started(meta.get("started")),
        runbook=_text(meta.get("runbook")),
        mode=_mode(meta),
        outcome=_text(meta.get("outcome")),
        exit_code=meta.get("exit_code"),
        reason=_redacted(meta["reason"]) if meta.get("reason") is not None else None,
    )


def read_records(directory: Path) -> list[Record]:
    """Newest first; records without a start time go last, by file name."""
    records = [read_record(p) for p in sorted(directory.glob("*.ipynb"))] if directory.is_dir() else []
    dated = sorted((r for r in records if r.started), key=lambda r: r.started, reverse=True)
    return dated + [r for r in records if not r.started]


def _when(started: datetime | None) -> str:
    return started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if started else MISSING


def maintenance_log(directory: Path) -> str:
    records = read_records(directory)
    if not records:
        return NO_RECORDS
    rows = [
        (
            _when(r.started),
            cell(r.runbook or MISSING),
            cell(r.mode or MISSING),
            cell(r.outcome or MISSING),
            cell(MISSING if r.exit_code is None else r.exit_code),
            cell(r.reason or ""),
            code(r.file),
        )
        for r in records
    ]
    return table(("Started", "Runbook", "Mode", "Outcome", "Exit code", "Reason", "Record"), rows)
