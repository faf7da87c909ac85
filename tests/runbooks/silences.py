"""How long a run stayed silent: the longest gap between two timed lines, in the terminal or the record."""

from __future__ import annotations

import json
from pathlib import Path

from tests.said import TIME

LONGEST_SILENCE = 15  # seconds: issue 17's rule, at the default wait_timeout and poll_interval


def stamped_moments(lines: list[str]) -> list[int]:
    """The second of the day of every line that starts with its time, in order."""
    moments = []
    for line in lines:
        found = TIME.match(line.strip())
        if found:
            hours, minutes, seconds = map(int, found.group(0).split(":"))
            moments.append(hours * 3600 + minutes * 60 + seconds)
    return moments


def longest_silence(lines: list[str]) -> int:
    """Seconds between the two timed lines furthest apart that follow each other."""
    moments = stamped_moments(lines)
    assert len(moments) > 10, lines
    return max((later - earlier) % 86400 for earlier, later in zip(moments, moments[1:]))


def record_lines(path: Path) -> list[str]:
    """What the run printed, as its record (a notebook) keeps it: every cell's stream output."""
    notebook = json.loads(path.read_text())
    lines = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output["text"] if isinstance(output["text"], str) else "".join(output["text"])
                lines += text.splitlines()
    return lines
