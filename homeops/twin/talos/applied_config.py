"""What each node of the twin runs as its machine configuration, and what time does to it.

`node["config"]` is the configuration the node runs (what apply-config gave it, or, for a twin
made already running, what `talosctl gen config` makes from the rendered patches at `twin create`).
A `try` apply keeps the configuration it replaced (`node["config_try"]`) and goes back to it once
its timeout has passed, unless a later apply in another mode confirmed it (Talos's
RollbackToConfigAfter / CancelConfigRollbackTimeout, machined's v1alpha1_server.go). A `staged`
apply waits in `node["staged_config"]` for the node's next boot.
"""

from __future__ import annotations

# The state file holds each configuration sealed: its secrets (machine token, CA, cluster secrets) in
# base64, as a node keeps them on its STATE partition and not in clear where a drill looks for leaks.
SECRET_KEYS = frozenset({"token", "crt", "key", "secret", "id", "secretboxEncryptionSecret"})
SEALED = "sealed:"


def _map(value, change, key: str = ""):
    if isinstance(value, dict):
        return {k: _map(v, change, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(v, change) for v in value]
    return change(value) if key in SECRET_KEYS and isinstance(value, str) else value


def seal(config: dict) -> dict:
    import base64  # here, not at the top: every tool call settles the nodes, few read a configuration

    return _map(config, lambda v: SEALED + base64.b64encode(v.encode()).decode())


def unseal(config: dict) -> dict:
    import base64

    return _map(config, lambda v: base64.b64decode(v[len(SEALED):]).decode() if v.startswith(SEALED) else v)


def store(node: dict, config: dict) -> None:
    node["config"] = seal(config)


def current(state: dict, node: dict) -> dict:
    """The configuration the node runs now."""
    if node.get("config"):
        return unseal(node["config"])
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
            node["config"] = staged["config"]  # sealed when staged
            node.pop("staged_config")


def cut_off(node: dict) -> bool:
    """A tried configuration took the node off the network (the `config-cuts-off` fault) until it reverts."""
    return bool((node.get("config_try") or {}).get("cut_off"))


def confirm(node: dict) -> None:
    """Any apply in another mode than `try` keeps what a `try` applied (the rollback timer is cancelled)."""
    node.pop("config_try", None)
