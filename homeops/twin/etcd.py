"""etcd as Talos shows it: a member per control-plane node that has joined, healthy while its node runs.

A built cluster's control planes are all voting members. A node booted in maintenance mode is not
a member; once configured it waits for `talosctl bootstrap` (the first member) or joins a running
etcd as a learner, promoted `promote_seconds` later (Talos promotes its learners itself). Per node:
`etcd_member` (in the member list), `etcd_data` (its data directory holds the member's data) and
`etcd_learner_until` (the moment a learner is promoted); missing keys mean a full, voting member.
"""

from __future__ import annotations

import zlib

from homeops.twin import faults, nodes


def members(state: dict) -> list[dict]:
    return [n for n in state["nodes"] if n["role"] == "control-plane" and n.get("etcd_member", True)]


def is_learner(node: dict, now: float) -> bool:
    return now < node.get("etcd_learner_until", 0.0)


def voters(state: dict, now: float) -> list[dict]:
    return [n for n in members(state) if not is_learner(n, now)]


def running(state: dict, node: dict, now: float) -> bool:
    """The member runs and has rejoined: a rebooted node's etcd needs a moment (`recovery_seconds`) after boot."""
    rebooted = node["boots"] > 0 or node["reboot"] is not None
    rejoined = not rebooted or now >= node["ready_since"] + state["timing"]["recovery_seconds"]
    return nodes.is_ready(node, now) and rejoined and node.get("etcd_data", True) and node.get("etcd_member", True)


def quorum_lost(state: dict, now: float) -> bool:
    """Fewer running voters than a majority: with 2 members, either one rebooting is enough.

    A member of the `etcd-unhealthy` fault runs and votes; it only reports an error. No member at
    all (a cluster not bootstrapped yet) is no quorum either."""
    found = voters(state, now)
    return not found or sum(running(state, n, now) for n in found) < len(found) // 2 + 1


def available(state: dict, now: float) -> bool:
    """etcd serves (so the API servers can): it has members and they have quorum."""
    return not quorum_lost(state, now)


def healthy(state: dict, node: dict, now: float) -> bool:
    # A member without quorum has no leader: it answers, but with "etcdserver: no leader".
    return (running(state, node, now) and not faults.active(state, "etcd-unhealthy", node["name"])
            and not quorum_lost(state, now))


def unhealthy_members(state: dict, now: float) -> list[dict]:
    return [n for n in members(state) if not healthy(state, n, now)]


def leader(state: dict, now: float) -> dict | None:
    for node in voters(state, now):
        if healthy(state, node, now):
            return node
    return None


def promote_seconds(state: dict) -> float:
    return state["timing"].get("promote_seconds", state["timing"]["reboot_seconds"] / 2)


def reconcile(state: dict, now: float) -> None:
    """Configured control planes outside etcd join a serving etcd as learners; learners whose time
    has come are promoted. Join moments come from the state (boot, bootstrap), never from `now`,
    so a read that reconciles without saving sees what the next write saves."""
    for node in state["nodes"]:
        if node.get("etcd_learner_until") and not is_learner(node, now):
            node.pop("etcd_learner_until")
    if not available(state, now):
        return
    for node in state["nodes"]:
        if (node["role"] == "control-plane" and not node.get("etcd_member", True)
                and not node.get("etcd_data", True) and not node.get("etcd_stopped")
                and not node.get("etcd_failure") and nodes.phase(node, now) == nodes.RUNNING):
            joined = max(node["ready_since"], state["etcd"].get("formed_at", 0.0))
            # A new member, with a new ID (made from the state, so every read makes the same one).
            fresh = f"{zlib.crc32((node['member_id'] + repr(joined)).encode()):08x}"
            node.update(etcd_member=True, etcd_data=True, etcd_learner_until=joined + promote_seconds(state),
                        member_id=node["member_id"][8:] + fresh)


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
