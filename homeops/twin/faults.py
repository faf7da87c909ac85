"""Which faults of the scenario are active (the state keeps fault -> node names)."""

from __future__ import annotations


def active(state: dict, fault: str, node: str | None = None) -> bool:
    """True when `fault` is in the scenario, and (given `node`) applies to that node."""
    if fault not in state["faults"]:
        return False
    return node is None or node in state["faults"][fault]
