"""The simulated cluster as of now: the state, with every reboot that has finished settled."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from homeops.twin import clock, nodes, state


def observe(twin_dir: str) -> tuple[dict, float]:
    """Read-only view: settles finished reboots in memory (the next change saves the same)."""
    current = state.read(twin_dir)
    now = clock.now()
    nodes.settle(current, now)
    return current, now


@contextmanager
def changing(twin_dir: str) -> Iterator[tuple[dict, float]]:
    with state.change(twin_dir) as current:
        now = clock.now()
        nodes.settle(current, now)
        yield current, now
