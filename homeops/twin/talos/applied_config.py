"""What each node of the twin runs as its machine configuration, and what time does to it.

`node["config"]` is the configuration the node runs (what apply-config gave it, or, for a twin
made already running, what `talosctl gen config` makes from the rendered patches at `twin create`).
A `try` apply keeps the configuration it replaced (`node["config_try"]`) and goes back to it once
its timeout has passed, unless a later apply in another mode confirmed it (Talos's
RollbackToConfigAfter / CancelConfigRollbackTimeout, machined's v1alpha1_server.go). A `staged`
apply waits in `node["staged_config"]` for the node's next boot.
"""

from __future__ import annotations


def current(state: dict, node: dict) -> dict:
    """The configuration the node runs now."""
    if node.get("config"):
        return node["config"]
    from homeops.twin.talos import machine_config

    return machine_config.made_up_spec(state, node)


def settle(state: dict, now: float) -> None:
    """Tried configurations whose timeout passed are rolled back; staged ones take effect after a boot."""
    for node in state["nodes"]:
        tried = node.get("config_try")
        if tried and now >= tried["revert_at"]:
            node["config"] = tried["previous"]
            node.pop("config_try")
        staged = node.get("staged_config")
        if staged and not node.get("reboot") and node.get("boots", 0) > staged["boots"]:
            node["config"] = staged["config"]
            node.pop("staged_config")


def cut_off(node: dict) -> bool:
    """A tried configuration took the node off the network (the `config-cuts-off` fault) until it reverts."""
    return bool((node.get("config_try") or {}).get("cut_off"))


def confirm(node: dict) -> None:
    """Any apply in another mode than `try` keeps what a `try` applied (the rollback timer is cancelled)."""
    node.pop("config_try", None)
