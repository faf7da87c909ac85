"""What the gate said, read as an operator reads it: each line it says starts with its time
(`14:03:27 RUN: ...`); PLAN lines carry none (homeops/gate.py)."""

from __future__ import annotations

import re

TIME = re.compile(r"\d\d:\d\d:\d\d ")


def unstamped(line: str) -> str:
    """The line without its indent and its leading `HH:MM:SS ` time."""
    line = line.strip()
    timed = TIME.match(line)
    return line[timed.end():] if timed else line


def gate_lines(out: str) -> list[str]:
    """What the gate ran or showed, in order, each with its `# why`, RUN lines without their time.

    A RUN line without a time, or a PLAN line with one, fails the test that reads it.
    """
    found = []
    for printed in out.splitlines():
        line = printed.strip()
        timed = TIME.match(line)
        said = line[timed.end():] if timed else line
        if said.startswith("RUN: "):
            assert timed, f"a RUN line without its time: {printed!r}"
        elif said.startswith("PLAN: "):
            assert not timed, f"a PLAN line with a time: {printed!r}"
        else:
            continue
        found.append(said)
    return found


def said(out: str) -> list[str]:
    """Every line printed, as said: without indent and time. Each line that is not a PLAN line
    must carry its time."""
    lines = []
    for printed in out.splitlines():
        line = printed.strip()
        if not line:
            continue
        if not line.startswith("PLAN: "):
            assert TIME.match(line), f"a said line without its time: {printed!r}"
        lines.append(unstamped(line))
    return lines
