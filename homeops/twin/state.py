"""The twin's shared state: one JSON file in the twin directory, guarded by `fcntl.flock`.

Every fake tool call is a new process; two runbooks (or parallel tests) may call at once. A
change holds the exclusive lock from read to write, so no update is lost; a read holds the shared
lock. The file is replaced atomically, so even a killed writer leaves the old state whole.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
MARKER = "homeops-twin"  # the state's "kind": what makes a directory a twin


class NotATwin(Exception):
    pass


def state_path(twin_dir: str) -> str:
    # os.path, not pathlib: pathlib's import is a noticeable share of a fake tool call.
    return os.path.join(twin_dir, STATE_FILE)


@contextmanager
def _locked(twin_dir: str, mode: int) -> Iterator[None]:
    fd = os.open(os.path.join(twin_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _load(twin_dir: str) -> dict:
    try:
        with open(state_path(twin_dir), encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError) as exc:
        raise NotATwin(f"{twin_dir} is not a twin directory (cannot read {STATE_FILE}: {exc})") from None
    if state.get("kind") != MARKER:
        raise NotATwin(f"{twin_dir} is not a twin directory ({STATE_FILE} was not written by homeops)")
    return state


def _save(twin_dir: str, state: dict) -> None:
    target = state_path(twin_dir)
    temporary = os.path.join(twin_dir, f".{STATE_FILE}.{os.getpid()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(state, handle, separators=(",", ":"))
    os.replace(temporary, target)


def read(twin_dir: str) -> dict:
    """The state as it is now (a private copy: changing it changes nothing)."""
    with _locked(twin_dir, fcntl.LOCK_SH):
        return _load(twin_dir)


@contextmanager
def change(twin_dir: str) -> Iterator[dict]:
    """Read, let the caller change, and write back, all under the exclusive lock.

    When the block raises, nothing is written: a refused command leaves the state as it was.
    """
    with _locked(twin_dir, fcntl.LOCK_EX):
        state = _load(twin_dir)
        yield state
        _save(twin_dir, state)


def write_new(twin_dir: str, state: dict) -> None:
    """Write a fresh state (used by `create`), under the exclusive lock."""
    with _locked(twin_dir, fcntl.LOCK_EX):
        _save(twin_dir, state)
