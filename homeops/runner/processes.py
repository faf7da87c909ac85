"""Processes as Linux's /proc shows them: who is alive, since when, whose child, in which group.

A pid alone does not name a process for long: once it exits the number is given to the next one.
A process is named here by its pid and its start time (`started`), as a record names its writer.
Where /proc is missing (not Linux), start times are unknown and a pid is taken at its word.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

PROC = Path("/proc")
SAME_START_SECONDS = 2.0


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: state, ppid, pgrp, ... (None: no such process)."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _boot_time() -> float | None:
    try:
        for line in (PROC / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def started(pid: int) -> str | None:
    """When the process `pid` started, to the second in UTC ("2026-12-06T17:05:28Z"); None when unknown."""
    fields, boot = _stat(pid), _boot_time()
    if fields is None or boot is None:
        return None
    try:
        ticks = int(fields[19])  # field 22 of stat: starttime, in clock ticks since boot
    except (IndexError, ValueError):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(boot + ticks / os.sysconf("SC_CLK_TCK")))


def alive(pid: int, since: str | None = None) -> bool:
    """Whether `pid` runs (a zombie does not), and is the process that started at `since` when given."""
    fields = _stat(pid)
    if fields is None:
        if PROC.is_dir():
            return False
        try:  # no /proc: ask the kernel
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if fields[0] == "Z":
        return False
    now = started(pid)
    if since is None or now is None:
        return True
    try:
        apart = abs((_parse(now) - _parse(since)).total_seconds())
    except ValueError:  # a start time this code did not write: the pid's word only
        return True
    # The boot time /proc gives moves by a second as the clock is adjusted; a pid given to another
    # process started at least that much later.
    return apart <= SAME_START_SECONDS


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)  # Python 3.11 reads the trailing Z


def children_of(parent: int) -> list[int]:
    """The processes whose parent is `parent`."""
    found = []
    for stat in PROC.glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None and fields[0] != "Z" and int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def group_alive(pgid: int) -> bool:
    """Whether any process (zombies aside) is still in the process group `pgid`: while one is, the
    number cannot be given to another process, so signalling the group is safe."""
    for stat in PROC.glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False
