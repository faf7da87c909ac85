"""What the in-process tests of the procedures share: a guard that records what each step asks to be
covered, the operator's lines of a session, a stop's message, and Ceph pools with and without room."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from homeops.errors import RunbookStopped
from homeops.procedures.ceph_capacity import PoolRoom
from homeops.procedures.session import Session
from tests.said import said

# One pool of size 3, min_size 2, host failure domain, with 4, 3 or 2 hosts left without what is removed.
KEEPS = (PoolRoom("rbd", 3, 2, "host", 4, 3),)
SHORT = (PoolRoom("rbd", 3, 2, "host", 3, 2),)
STOPS = (PoolRoom("rbd", 3, 2, "host", 2, 1),)


@dataclass
class CoveringGuard:
    """The kernel guard's `covering(seconds, what)`, recorded."""

    covered: list = field(default_factory=list)

    @contextmanager
    def covering(self, seconds, what):
        self.covered.append((seconds, what))
        yield


def out(session: Session) -> list[str]:
    return said(session.gate._out.getvalue())


def stopped(action) -> str:
    with pytest.raises(RunbookStopped) as raised:
        action()
    return str(raised.value)
