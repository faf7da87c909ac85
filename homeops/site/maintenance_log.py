"""The maintenance log: every saved run record (`records/*.ipynb`), each linked to its own page.

The runner writes a `homeops` dict into each record's notebook metadata (runbook, mode, outcome,
started, finished, exit_code, reason, twin, and whatever later runners add). A record still
"running" is judged when shown (`records.judged_outcome`): its writer gone, it reads "abandoned",
with its last changes (RUN lines) as what it may have left in place. It is read with `json`
and tolerantly: a key the runner did not write shows as a dash, an outcome this code does not know
is shown as written, and a file that is not a readable notebook is listed as such rather than
failing the build, since records are operational output, not documentation sources.

Apply runs against the cluster are the maintenance; plan runs and rehearsals against the twin are
listed apart, so that a reader never mistakes a rehearsal for work done on the cluster.

The runner redacts records as it writes them; the reason is redacted again here because a record
may have been edited or copied in by hand, and the site is public.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from homeops.site.markdown import html_link, html_table, html_text
from homeops.site.record_cache import RecordCache

NO_RECORDS = "No maintenance recorded yet."
NO_REHEARSALS = "No plan run or rehearsal is kept."
MISSING = "—"
UNREADABLE = "unreadable record"
PAGES_DIR = "operations/maintenance-log"  # a record's page sits under the log's own address

_SAFE_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")
_LEFT_IN_PLACE = "; left in place: "
_NOTHING_CHANGED = "; nothing changed"


@dataclass(frozen=True)
class Record:
    file: str
    slug: str  # the record's page: PAGES_DIR/<slug>/index.html
    digest: str  # sha256 of the file's bytes: what a rendered page is cached by
    started: datetime | None
    finished: datetime | None
    runbook: str | None
    mode: str | None
    twin: bool
    outcome: str | None
    exit_code: object
    reason: str | None  # redacted
    left_in_place: str | None  # redacted; None when the record does not say
    writer: dict | None = None  # pid, pid_started, host, heartbeat of a "running" record: judged when shown
    last_changes: tuple[str, ...] = ()  # its last RUN lines (redacted): what an abandoned run may have left

    @property
    def shown_outcome(self) -> str | None:
        """The outcome as a reader should see it now: a "running" record nobody writes any more is abandoned."""
        if self.outcome != "running" or self.writer is None:
            return self.outcome
        from homeops.runner.records import judged_outcome

        return judged_outcome({"outcome": "running", **self.writer})

    @property
    def may_have_left(self) -> str | None:
        """What an abandoned run may have left in place, when the record does not say."""
        if self.left_in_place is not None or self.shown_outcome != "abandoned":
            return self.left_in_place
        made = "; ".join(self.last_changes) if self.last_changes else "no change recorded"
        return f"unknown: check the cluster; its last changes: {made}"

    @property
    def is_maintenance(self) -> bool:
        """An apply run against the cluster (a record that cannot say otherwise counts as one)."""
        return not self.twin and self.mode != "plan"

    @property
    def mode_label(self) -> str:
        mode = self.mode or MISSING
        return f"{mode} (rehearsal, twin)" if self.twin else mode

    @property
    def why(self) -> str | None:
        """The reason without the part that says what was left in place (shown on its own)."""
        if self.reason is None:
            return None
        if _LEFT_IN_PLACE in self.reason:
            return self.reason.rsplit(_LEFT_IN_PLACE, 1)[0]
        return self.reason.removesuffix(_NOTHING_CHANGED)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)  # Python 3.11 reads a trailing Z too
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _redacted(text: str) -> str:
    # Imported here: its patterns are compiled at import, and most builds have no record to redact.
    from homeops.redaction import redact

    return redact(text)


def _left_in_place(meta: dict, reason: str | None) -> str | None:
    declared = meta.get("left_in_place")
    if isinstance(declared, str):
        return _redacted(declared)
    if isinstance(declared, list):
        return _redacted(", ".join(map(str, declared)) or "nothing")
    if reason is None:
        return None
    if _LEFT_IN_PLACE in reason:
        return reason.rsplit(_LEFT_IN_PLACE, 1)[1]
    if reason.endswith(_NOTHING_CHANGED):
        return "nothing (nothing was changed)"
    return None


def slug_for(stem: str) -> str:
    """A page name that is safe in a URL and a path: the record's own name whenever it is."""
    if _SAFE_SLUG.fullmatch(stem) and stem != "all":  # all.html lists every record
        return stem
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:80] or "record"
    return f"{cleaned}-{hashlib.sha256(stem.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"


_SUMMARY_FIELDS = ("started", "finished", "runbook", "mode", "twin", "outcome", "exit_code", "reason", "left_in_place",
                   "writer", "last_changes")
_WRITER_FIELDS = ("pid", "pid_started", "host", "heartbeat", "started")


def _summary_json(record: Record) -> str:
    summary = {name: getattr(record, name) for name in _SUMMARY_FIELDS}
    for name in ("started", "finished"):
        summary[name] = summary[name].isoformat() if summary[name] else None
    return json.dumps(summary)


def _from_summary(path: Path, digest: str, text: str) -> Record | None:
    try:
        summary = json.loads(text)
        summary["started"], summary["finished"] = _parse_time(summary["started"]), _parse_time(summary["finished"])
        summary["last_changes"] = tuple(summary["last_changes"])
        return Record(file=path.name, slug=slug_for(path.stem), digest=digest, **summary)
    except (ValueError, TypeError, KeyError):
        return None


def read_record(path: Path, cache: RecordCache | None = None) -> Record:
    """The record's summary; with a cache, read from it when the record's bytes are unchanged."""
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    digest = hashlib.sha256(data).hexdigest()
    cached = cache.get(digest, "json") if cache else None
    record = _from_summary(path, digest, cached) if cached else None
    if record is None:
        record = _summarise(path, digest, data)
        if cache:
            cache.put(digest, "json", _summary_json(record))
    return record


def _summarise(path: Path, digest: str, data: bytes) -> Record:
    unreadable = Record(path.name, slug_for(path.stem), digest, None, None, None, None, False, UNREADABLE,
                        None, None, None)
    try:
        notebook = json.loads(data)
        meta = notebook.get("metadata", {}).get("homeops", {})
    except (ValueError, AttributeError):
        return unreadable
    if not isinstance(meta, dict):
        meta = {}
    reason = _redacted(str(meta["reason"])) if meta.get("reason") is not None else None
    running = meta.get("outcome") == "running"
    return Record(
        file=path.name,
        slug=slug_for(path.stem),
        digest=digest,
        started=_parse_time(meta.get("started")),
        finished=_parse_time(meta.get("finished")),
        runbook=_text(meta.get("runbook")),
        mode=_text(meta.get("mode")),
        twin=meta.get("twin") is True,
        outcome=_text(meta.get("outcome")),
        exit_code=meta.get("exit_code"),
        reason=reason,
        left_in_place=_left_in_place(meta, reason),
        writer={k: meta.get(k) for k in _WRITER_FIELDS} if running else None,
        last_changes=tuple(_redacted(line) for line in _last_changes(notebook)) if running else (),
    )


def _last_changes(notebook: object) -> list[str]:
    from homeops.runner.records import last_changes

    return last_changes(notebook if isinstance(notebook, dict) else None)


def read_records(directory: Path) -> list[Record]:
    """Newest first; records without a start time go last, by file name.

    Read once per version of the directory: the macros (the log) and the hook (the record pages)
    both need the records in the same build, and `mkdocs serve` rebuilds when a record changes.
    """
    if not directory.is_dir():
        return []
    paths = sorted(directory.glob("*.ipynb"))
    fingerprint = tuple((p.name, *_stat(p)) for p in paths)
    return list(_read_all(directory.resolve(), fingerprint))


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, -1)
    return (info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=4)
def _read_all(directory: Path, fingerprint: tuple) -> tuple[Record, ...]:
    cache = RecordCache(directory)
    records = [read_record(directory / name, cache) for name, *_ in fingerprint]
    dated = sorted((r for r in records if r.started), key=lambda r: r.started, reverse=True)
    return tuple(dated + [r for r in records if not r.started])


def page_path(record: Record) -> str:
    """Where the record's page lives in the docs tree (a generated file, not on disk).

    A file, not a directory of its own: a thousand directories make every rebuild's clean-up slow.
    """
    return f"{PAGES_DIR}/{record.slug}.html"


def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else MISSING


def record_href(from_url: str, record: Record) -> str:
    """The link from a page (its site URL) to a record's page; raw HTML, so MkDocs does not rewrite it."""
    base = from_url if from_url == "" or from_url.endswith("/") else posixpath.dirname(from_url)
    return posixpath.relpath(page_path(record), base or ".")


def outcome_label(record: Record) -> str:
    """The outcome with its exit code, in one cell: "stopped (exit 1)"."""
    outcome = record.shown_outcome or MISSING
    return outcome if record.exit_code is None else f"{outcome} (exit {record.exit_code})"


def _rows(records: list[Record], from_url: str) -> list[tuple]:
    return [
        (
            html_text(when(r.started)),
            html_text(r.runbook or MISSING),
            html_text(r.mode_label),
            html_text(outcome_label(r)),
            html_text(r.reason or ""),
            html_link(r.file, record_href(from_url, r)),
        )
        for r in records
    ]


# Six columns, the record's link among them: with the exit code in a column of its own, the Record
# column began past the right edge of the content at 1400 px (tests/docs/test_browser.py).
HEADERS = ("Started", "Runbook", "Mode", "Outcome", "Reason", "Record")
# The log page shows the newest entries of each list; all of them are on one more page (ALL_RECORDS),
# so the log page, which Markdown and the search index read, stays the same size however many are kept.
NEWEST = 50
ALL_RECORDS = f"{PAGES_DIR}/all.html"


def _section(records: list[Record], from_url: str, empty: str, limit: int | None) -> str:
    if not records:
        return empty
    shown = records if limit is None else records[:limit]
    rendered = html_table(HEADERS, _rows(shown, from_url))
    if len(shown) < len(records):
        base = from_url if from_url == "" or from_url.endswith("/") else posixpath.dirname(from_url)
        rendered += (f"\n\n<p>The newest {len(shown)} of {len(records)}: "
                     f"{html_link('all records', posixpath.relpath(ALL_RECORDS, base or '.'))}.</p>")
    return rendered


def maintenance_log(directory: Path, from_url: str, limit: int | None = NEWEST) -> str:
    """Maintenance (apply runs on the cluster) first, then plan runs and rehearsals, each newest first."""
    records = read_records(directory)
    maintenance = [r for r in records if r.is_maintenance]
    others = [r for r in records if not r.is_maintenance]
    return "\n\n".join([
        "## Maintenance",
        _section(maintenance, from_url, NO_RECORDS, limit),
        "## Plans and rehearsals",
        "Plan runs change nothing, and rehearsals ran against the digital twin, not the cluster.",
        _section(others, from_url, NO_REHEARSALS, limit),
    ])


def all_records(directory: Path, from_url: str) -> str:
    """Every record, as HTML (the page is not Markdown): both lists in full."""
    records = read_records(directory)
    parts = []
    for title, chosen, empty in (("Maintenance", [r for r in records if r.is_maintenance], NO_RECORDS),
                                 ("Plans and rehearsals", [r for r in records if not r.is_maintenance], NO_REHEARSALS)):
        parts.append(f"<h2>{html_text(title)}</h2>")
        parts.append(html_table(HEADERS, _rows(chosen, from_url)) if chosen else f"<p>{html_text(empty)}</p>")
    return "\n".join(parts)
