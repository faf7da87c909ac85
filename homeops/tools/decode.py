"""Turning what a tool printed into Python values, with errors that say which command printed what.

The real tools print three kinds of machine output: one JSON document (kubectl, ceph), one JSON
object a line (`talosctl version --json`), a stream of concatenated JSON objects (`talosctl get
-o json`), and space-aligned tables (`talosctl etcd members|status`).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any, Sequence

from homeops.tools.process import ToolError

_SHOWN = 200  # characters of unreadable output quoted in an error: enough to recognise it


class ToolOutputInvalid(ToolError):
    """A tool exited 0 but printed something that is not the shape we expect."""

    def __init__(self, argv: Sequence[str], stdout: str, problem: str):
        ToolError.__init__(self, argv, 0, "", stdout)
        shown = stdout.strip()
        shown = shown if len(shown) <= _SHOWN else shown[:_SHOWN] + "..."
        Exception.__init__(self, f"`{shlex.join(self.argv)}` printed output that is not {problem}: {shown!r}")


def json_document(text: str, argv: Sequence[str]) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ToolOutputInvalid(argv, text, f"JSON ({exc})") from None


def json_object(text: str, argv: Sequence[str]) -> dict:
    value = json_document(text, argv)
    if not isinstance(value, dict):
        raise ToolOutputInvalid(argv, text, "a JSON object")
    return value


def json_lines(text: str, argv: Sequence[str]) -> list[dict]:
    """One JSON object a line; blank lines are skipped."""
    objects = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise ToolOutputInvalid(argv, text, f"one JSON object a line (line {number}: {exc})") from None
        if not isinstance(value, dict):
            raise ToolOutputInvalid(argv, text, f"one JSON object a line (line {number} is not an object)")
        objects.append(value)
    return objects


def json_stream(text: str, argv: Sequence[str]) -> list[dict]:
    """Concatenated JSON objects, as `talosctl get -o json` prints them (not an array, maybe not one a line)."""
    decoder = json.JSONDecoder()
    objects: list[dict] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return objects
        try:
            value, position = decoder.raw_decode(text, position)
        except ValueError as exc:
            raise ToolOutputInvalid(argv, text, f"a stream of JSON objects ({exc})") from None
        if not isinstance(value, dict):
            raise ToolOutputInvalid(argv, text, "a stream of JSON objects")
        objects.append(value)


def table(text: str, columns: Sequence[str], argv: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a talosctl table as {column: cell}, read by column name.

    The header is the first line that names every column in `columns`; other columns (talosctl
    v1.11.0 added PROTOCOL and STORAGE to `etcd status`) are kept too, in any order, and lines
    before the header (a `WARNING: ...` block) are skipped. talosctl aligns columns with spaces
    (Go's tabwriter); headers ("PEER URLS") and cells ("17 MB") contain single spaces and the
    last cells may be empty, so cells are cut where the header's names start, not split on
    whitespace. Tab-separated output is accepted too.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        names, starts = _header(line)
        if set(columns) <= set(names):
            break
    else:
        raise ToolOutputInvalid(argv, text, f"a table with the columns {', '.join(columns)}")
    rows = []
    for line in lines[index + 1:]:
        if "\t" in line:
            cells = [cell.strip() for cell in line.split("\t")]
        else:
            cells = [line[start:end].strip() for start, end in zip(starts, starts[1:] + [None])]
        rows.append(dict(zip(names, cells + [""] * (len(names) - len(cells)))))
    return rows


_COLUMN_GAP = re.compile(r"\t+| {2,}")


def _header(line: str) -> tuple[list[str], list[int]]:
    """The column names of a header line and where each starts (names hold single spaces only)."""
    names, starts, position = [], [], 0
    for gap in [*_COLUMN_GAP.finditer(line), None]:
        end = gap.start() if gap else len(line)
        if line[position:end].strip():
            names.append(line[position:end].strip())
            starts.append(position)
        position = gap.end() if gap else end
    return names, starts
