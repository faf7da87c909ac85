"""The simulated cluster as of now: the state, with every reboot that has finished settled."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from homeops.twin import clock, etcd, nodes, state
from homeops.twin.ceph import osd_lifecycle, rook
from homeops.twin.talos import applied_config


def observe(twin_dir: str) -> tuple[dict, float]:
    """Read-only view: settles finished reboots and runs Rook's reconcile in memory (the next change saves the same)."""
    current = state.read(twin_dir)
    now = clock.twin_now(current)
    catch_up(current, now)
    return current, now


def advance(twin_dir: str, seconds: float) -> None:
    """Move the twin's clock forward by `seconds` (never back): what tests use instead of waiting.

    The controllers catch up with the new time, and that is saved: reboots that have ended are
    settled and Rook has reconciled, as the real ones would have while the time passed. With 0,
    only that: what a reader of the state file sees is the cluster as of now.
    """
    if seconds < 0:
        raise ValueError("the twin's clock only moves forward")
    with state.change(twin_dir) as current:
        current["clock_offset"] = float(current.get("clock_offset", 0.0)) + seconds
        catch_up(current, clock.twin_now(current))


@contextmanager
def changing(twin_dir: str) -> Iterator[tuple[dict, float]]:
    with state.change(twin_dir) as current:
        now = clock.twin_now(current)
        catch_up(current, now)
        yield current, now
        # What the change did (a flag set, a node cordoned) meets Rook's next reconcile at once.
        rook.reconcile(current, now)


def catch_up(current: dict, now: float) -> None:
    """What the cluster's controllers have done by `now`: finished reboots settled, tried configurations
    rolled back, etcd members joined and promoted, kubelets registered, Rook reconciled (new OSDs on wiped
    disks included)."""
    nodes.settle(current, now)
    applied_config.settle(current, now)
    etcd.reconcile(current, now)
    nodes.register(current, now, etcd.available(current, now))
    rook.reconcile(current, now)
    osd_lifecycle.reconcile(current, now)
