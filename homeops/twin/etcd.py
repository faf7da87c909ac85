"""etcd as Talos shows it: one member per control-plane node, healthy while its node runs."""

from __future__ import annotations

from homeops.twin import faults, nodes


def members(state: dict) -> list[dict]:
    return [n for n in state["nodes"] if n["role"] == "control-plane"]


def running(state: dict, node: dict, now: float) -> bool:
    """The member runs and has rejoined: a rebooted node's etcd needs a moment (`recovery_seconds`) after boot."""
    rebooted = node["boots"] > 0 or node["reboot"] is not None
    rejoined = not rebooted or now >= node["ready_since"] + state["timing"]["recovery_seconds"]
    return nodes.is_ready(node, now) and rejoined


def quorum_lost(state: dict, now: float) -> bool:
    """Fewer running members than a majority: with 2 members, either one rebooting is enough.

    A member of the `etcd-unhealthy` fault runs and votes; it only reports an error."""
    found = members(state)
    return bool(found) and sum(running(state, n, now) for n in found) < len(found) // 2 + 1


def healthy(state: dict, node: dict, now: float) -> bool:
    # A member without quorum has no leader: it answers, but with "etcdserver: no leader".
    return (running(state, node, now) and not faults.active(state, "etcd-unhealthy", node["name"])
            and not quorum_lost(state, now))


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
