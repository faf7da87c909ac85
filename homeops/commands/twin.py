"""`homeops twin`: not built yet (see the runbook engine issue)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("twin", help="(not built yet)")
    p.set_defaults(handler=lambda args: (print("homeops twin: not built yet"), 2)[1])
