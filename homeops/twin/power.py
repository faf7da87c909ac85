"""Power off and on: a node shut down by `talosctl shutdown` stays off until someone powers it on.

Off (`off`, `off_since`): the Talos API refuses connections, the kubelet stops posting its status
(the Node still reads Ready until kube-controller-manager's node-monitor grace period has passed,
`timing.node_grace_seconds`), its OSDs are down, and a control plane's etcd member is gone, so a
2-member etcd loses quorum with either control plane off and the API server stops answering.

On (`power_on`, what `homeops twin power-on` and tests call: the twin cannot press a button
itself): the node boots as after any reboot (a new boot ID, Talos's own cordon lifted, its PGs
recovering), in the order power comes back. A node of the `never-ready` fault boots and never
becomes Ready, as a machine that hangs in its boot.
"""

from __future__ import annotations

from homeops.twin import faults, ids, nodes

CORDONED_AT_SHUTDOWN = "shutdown_cordoned"


def grace_seconds(state: dict) -> float:
    """kube-controller-manager's --node-monitor-grace-period, scaled like every other twin duration."""
    timing = state["timing"]
    return timing.get("node_grace_seconds", timing["reboot_seconds"] / 4)


def shut_down(state: dict, node: dict, now: float, *, drain: bool) -> None:
    """`talosctl shutdown`: without --force Talos cordons (remembering it did) and drains first."""
    state["resource_version"] += 1
    if drain:
        if not node["unschedulable"]:
            node["unschedulable"] = True
            node["annotations"][nodes.CORDONED_BY_TALOS] = "true"
            node[CORDONED_AT_SHUTDOWN] = True
        node["drained"], node["drained_at"] = True, now
    node.update(off=True, off_since=now)


def reported_ready(state: dict, node: dict, now: float) -> bool:
    """What the Node object says: Ready while running, and still for the grace period after power went."""
    if nodes.is_ready(node, now):
        return True
    return bool(node.get("off")) and "off_since" in node and now < node["off_since"] + grace_seconds(state)


def is_off(node: dict) -> bool:
    return bool(node.get("off"))


def power_on(state: dict, names: list[str], now: float) -> list[str]:
    """Power on the named nodes that are off, in that order; returns those powered on."""
    reboot_seconds = state["timing"]["reboot_seconds"]
    started = []
    for name in names:
        node = nodes.find(state, name=name)
        if node is None or not is_off(node):
            continue
        node.pop("off")
        node.pop("off_since", None)
        never_back = faults.active(state, "never-ready", node["name"])
        node["reboot"] = {
            "requested_at": now, "target_version": node["talos_version"], "next_boot_id": ids.uuid4(),
            "talos_cordoned": bool(node.pop(CORDONED_AT_SHUTDOWN, False)), "drain_blocked": False,
            # Firmware and kernel first: the Talos API answers half way through the boot.
            "down_at": now, "offline_at": now, "booting_at": now + reboot_seconds / 2,
            "up_at": None if never_back else now + reboot_seconds,
        }
        state["resource_version"] += 1
        started.append(name)
    return started
