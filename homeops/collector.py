"""Pausing Python's cyclic garbage collector around work that builds many objects and frees none.

Reading cluster.yaml and importing modules both allocate tens of thousands of objects that stay
alive; every collection they trigger walks all of them and finds nothing. With the collector
running, a 10,000-node file took three times as long (bench/validate_scale.py), and imports in a
runbook's kernel a tenth longer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's previous state is restored after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
