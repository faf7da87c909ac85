"""A node's life: running, an upgrade (drain, reboot, boot) and back, worked out from deadlines.

An upgrade stores the wall-clock moments it passes through (`reboot`); `phase` reads them, and
`settle` makes a finished reboot permanent (new version, new boot ID, uncordon). Both depend on
the stored moments only, so a read that settles without saving sees what the next write saves.
"""

from __future__ import annotations

from homeops.twin import faults, ids

CORDONED_BY_TALOS = "talos.dev/cordoned"

# Phases; all but OFFLINE are also the Talos machine stage the node shows.
RUNNING, UPGRADING, REBOOTING, OFFLINE, BOOTING = "running", "upgrading", "rebooting", "offline", "booting"
MAINTENANCE = "maintenance"  # booted from the install image, waiting for `apply-config --insecure`


def find(state: dict, *, name: str | None = None, address: str | None = None) -> dict | None:
    for node in state["nodes"]:
        if node["name"] == name or node["address"] == address:
            return node
    return None


def phase(node: dict, now: float) -> str:
    if node.get("off"):
        return OFFLINE  # shut down, or lost for good (`control-plane-lost`)
    if node.get("maintenance"):
        return MAINTENANCE
    reboot = node["reboot"]
    if not reboot:
        return RUNNING
    if now < reboot["down_at"]:
        return UPGRADING  # Talos cordons and drains before it reboots
    if now < reboot["offline_at"]:
        return REBOOTING  # kubelet stopped; the Talos API still answers
    if now < reboot["booting_at"]:
        return OFFLINE  # between kernels: the Talos API refuses connections
    if reboot["up_at"] is None or now < reboot["up_at"]:
        return BOOTING
    return RUNNING


def settle(state: dict, now: float) -> None:
    """Finish every reboot whose node is back by `now`."""
    for node in state["nodes"]:
        reboot = node["reboot"]
        if reboot and reboot["up_at"] is not None and now >= reboot["up_at"]:
            _finish(state, node, reboot)


def _finish(state: dict, node: dict, reboot: dict) -> None:
    node["talos_version"] = reboot["target_version"]
    node["boot_id"] = reboot["next_boot_id"]
    node["boots"] += 1
    node["ready_since"] = reboot["up_at"]
    if reboot["talos_cordoned"]:
        node["unschedulable"] = False
        node["annotations"].pop(CORDONED_BY_TALOS, None)
    # Pods pinned to the node (its OSDs) come back once it is schedulable: at once when Talos
    # uncordons it, at the uncordon of whoever cordoned it otherwise.
    node["drained"] = node["drained"] and node["unschedulable"]
    if not reboot.get("from_maintenance"):
        # Its OSDs were down while it rebooted: their PGs recover. A new node had none (see register).
        node["recovered_at"] = reboot["up_at"] + state["timing"]["recovery_seconds"]
    if faults.active(state, "pgs-stuck"):
        state["ceph"]["stuck"] = True
    node["reboot"] = None
    node.pop("etcd_stopped", None)  # a boot starts etcd again


def in_maintenance(node: dict) -> bool:
    return bool(node.get("maintenance"))


def installing(node: dict, now: float) -> bool:
    """Configured by `apply-config --insecure` but not yet rebooted away from the install image: the
    maintenance service still answers, so the cluster's talosconfig cannot verify it yet."""
    reboot = node.get("reboot") or {}
    return bool(reboot.get("from_maintenance")) and now < reboot.get("offline_at", 0.0)


def registered(node: dict) -> bool:
    """The node's kubelet has registered it with the API server (every node of a built cluster has)."""
    return node.get("registered", True)


def register(state: dict, now: float, api_up: bool) -> None:
    """A configured node that has booted registers as soon as an API server answers (kubelet's first act)."""
    if not api_up:
        return
    for node in state["nodes"]:
        if not registered(node) and phase(node, now) == RUNNING:
            # From the state, not `now`: every read registers it at the same moment.
            node["registered"] = True
            node["registered_at"] = max(node["ready_since"], state["etcd"].get("formed_at", 0.0))
            if node["osds"] and node.get("configured_at") is not None:
                # Rook prepares the new node's OSDs and Ceph moves their share of the data onto them.
                node["backfill_until"] = node["registered_at"] + state["timing"]["recovery_seconds"]


def is_ready(node: dict, now: float) -> bool:
    return phase(node, now) in (RUNNING, UPGRADING)


def api_reachable(node: dict, now: float) -> bool:
    return phase(node, now) != OFFLINE


def talos_version(node: dict, now: float) -> str:
    """The version the node runs: the new one from the moment it boots it."""
    if phase(node, now) == BOOTING:
        return node["reboot"]["target_version"]
    return node["talos_version"]


def boot_id(node: dict, now: float) -> str:
    if phase(node, now) == BOOTING:
        return node["reboot"]["next_boot_id"]
    return node["boot_id"]


def start_upgrade(state: dict, node: dict, target_version: str, now: float, *, drain: bool) -> float | None:
    """Begin a Talos upgrade of `node`; return the moment it is back (or None: never).

    Talos cordons the node unless it is already unschedulable, and remembers that it did, so it
    uncordons only its own cordon. A drain refused by a PDB is given up after Talos's five-minute
    rule (scaled to `talos_drain_seconds`) and the node upgrades anyway.
    """
    timing = state["timing"]
    talos_cordoned = not node["unschedulable"]
    if talos_cordoned:
        node["unschedulable"] = True
        node["annotations"][CORDONED_BY_TALOS] = "true"
    blocked = drain and faults.active(state, "drain-blocked", node["name"])
    down_at = now + (timing["talos_drain_seconds"] if blocked else 0.0)
    reboot_seconds = timing["reboot_seconds"]
    never_back = faults.active(state, "never-ready", node["name"])
    if faults.active(state, "upgrade-without-reboot", node["name"]):
        # The node reports the new version at once and never reboots: Ready on its old boot ID.
        node["talos_version"] = target_version
        return None
    node["reboot"] = {
        "requested_at": now,
        "target_version": target_version,
        "next_boot_id": ids.uuid4(),
        "talos_cordoned": talos_cordoned,
        "drain_blocked": blocked,
        "down_at": down_at,
        "offline_at": down_at + reboot_seconds / 4,
        "booting_at": down_at + reboot_seconds / 2,
        "up_at": None if never_back else down_at + reboot_seconds,
    }
    if drain and not blocked:
        node["drained"], node["drained_at"] = True, node.get("drained_at") if node["drained"] else now
    return node["reboot"]["up_at"]
