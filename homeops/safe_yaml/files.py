"""Reading a file that may be anything: refuse what is not a regular file before it can block.

`open()` on a FIFO waits for a writer forever, and /dev/zero never ends; so the path is
stat'ed first (no side effect), opened non-blocking, and checked again on the open descriptor
(the path may have been swapped in between). Only then is it read, up to a size limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from homeops.safe_yaml.problems import Problem

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


class Unreadable(Exception):
    """The file cannot be read as text; `problem` says why, at the place of a bad byte if any."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def read_text(path: str | Path, file: str, *, max_bytes: int, what: str = "the file") -> str:
    """The UTF-8 text of the regular file `path` (named `file` in messages); raises `Unreadable`."""

    def refuse(reason: str, line: int = 1, column: int = 1) -> Unreadable:
        return Unreadable(Problem(line, column, "", f"cannot read {what}: {reason}", file=file,
                                  code="unreadable-file"))

    try:
        _check_regular(os.stat(path), refuse)
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    with os.fdopen(descriptor, "rb") as stream:
        try:
            info = os.fstat(descriptor)
            _check_regular(info, refuse)
            # read(n) allocates n bytes up front: ask for the size the file has, not for the limit
            expected = min(info.st_size, max_bytes) + 1
            data = stream.read(expected)
            if len(data) == expected:  # it grew since
                data += stream.read(max_bytes + 1 - len(data))
        except OSError as exc:
            raise refuse(exc.strerror or str(exc)) from None
    if len(data) > max_bytes:
        size = f"{max_bytes // 2**20} MB" if max_bytes >= 2**20 else f"{max_bytes} bytes"
        raise refuse(f"it is larger than {size}: is it the right file?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise refuse(f"it is not UTF-8 text (byte 0x{data[exc.start]:02x})", line, column) from None


def _check_regular(info: os.stat_result, refuse) -> None:
    if stat.S_ISREG(info.st_mode):
        return
    kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
    raise refuse(f"it is {kind}, not a regular file")
