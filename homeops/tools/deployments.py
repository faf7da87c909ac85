"""Deployments through kubectl: read their replicas, `kubectl scale`, `kubectl delete deployment`."""

from __future__ import annotations

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.kubectl import CHANGE_TIMEOUT, READ_TIMEOUT, get_json

_NOT_FOUND = "(NotFound)"


def replicas(namespace: str, name: str) -> int | None:
    """spec.replicas of the Deployment, or None when there is none."""
    try:
        document = get_json(["-n", namespace, "get", "deployment", name], timeout=READ_TIMEOUT)
    except process.ToolError as exc:
        if _NOT_FOUND in (exc.stderr or ""):
            return None
        raise
    value = (document.get("spec") or {}).get("replicas", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def scale(gate: Gate, namespace: str, name: str, count: int, *, why: str = "") -> None:
    gate.change(["kubectl", "-n", namespace, "scale", "deployment", name, f"--replicas={count}"],
                timeout=CHANGE_TIMEOUT, why=why, about=f"{namespace}/{name}", unsure=f"may be at {count} replicas")


def delete(gate: Gate, namespace: str, name: str, *, why: str = "") -> None:
    gate.change(["kubectl", "-n", namespace, "delete", "deployment", name, "--ignore-not-found"],
                timeout=CHANGE_TIMEOUT, why=why, about=f"{namespace}/{name}", unsure="may be deleted")
