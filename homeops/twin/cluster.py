"""The simulated cluster as of now: the state, with every reboot that has finished settled."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from homeops.twin import clock, nodes, rook, state


def observe(twin_dir: str) -> tuple[dict, float]:
    """Read-only view: settles finished reboots and runs Rook's reconcile in memory (the next change saves the same)."""
    current = state.read(twin_dir)
    now = clock.twin_now(current)
    catch_up(current, now)
    return current, now


@contextmanager
def changing(twin_dir: str) -> Iterator[tuple[dict, float]]:
    with state.change(twin_dir) as current:
        now = clock.twin_now(current)
        catch_up(current, now)
        yield current, now
        # What the change did (a flag set, a node cordoned) meets Rook's next reconcile at once.
        rook.reconcile(current, now)


def catch_up(current: dict, now: float) -> None:
    """What the cluster's controllers have done by `now`: finished reboots settled, Rook reconciled."""
    nodes.settle(current, now)
    rook.reconcile(current, now)
