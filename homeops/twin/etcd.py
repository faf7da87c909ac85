"""etcd as Talos shows it: one member per control-plane node, healthy while its node runs."""

from __future__ import annotations

from homeops.twin import faults, nodes


def members(state: dict) -> list[dict]:
    return [n for n in state["nodes"] if n["role"] == "control-plane"]


def healthy(state: dict, node: dict, now: float) -> bool:
    return nodes.is_ready(node, now) and not faults.active(state, "etcd-unhealthy", node["name"])


def unhealthy_members(state: dict, now: float) -> list[dict]:
    return [n for n in members(state) if not healthy(state, n, now)]


def leader(state: dict, now: float) -> dict | None:
    for node in members(state):
        if healthy(state, node, now):
            return node
    return None


def upgrade_refusal(state: dict, node: dict, now: float) -> str | None:
    """Why Talos refuses to upgrade this control-plane node without --force (None: it does not).

    Talos takes an etcd upgrade lock and refuses when losing this member could cost quorum.
    """
    if node["role"] != "control-plane":
        return None
    count = len(members(state))
    if count == 2:
        return "etcd member count(2) is insufficient to maintain quorum if upgrade commences"
    unhealthy = unhealthy_members(state, now)
    if unhealthy:
        return (
            f"etcd member {unhealthy[0]['member_id']} is not healthy; all members must be healthy to perform an upgrade"
        )
    return None
