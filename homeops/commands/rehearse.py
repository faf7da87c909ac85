"""`homeops rehearse`: not built yet (see the runbook engine issue)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("rehearse", help="(not built yet)")
    p.set_defaults(handler=lambda args: (print("homeops rehearse: not built yet"), 2)[1])
