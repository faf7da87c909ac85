"""`talosctl apply-config` to a configured node: dry-run, auto, no-reboot, reboot, staged and try.

As machined's ApplyConfiguration (siderolabs/talos v1.11.1, commit
8e85c83625502e08c058b865c123b0828a90fed6, `internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go`):
every mode but `try` first cancels a pending rollback (even a dry run); `try` and `no-reboot` refuse a
change that needs a reboot (reboot_rules); `auto` picks `reboot` or `no-reboot`; a dry run answers
`Dry run summary:`, the mode's details with ` (skipped in dry-run).`, then `Config diff:` and the
diff or `No changes.`. talosctl prints the answer on stderr (helpers.PrintApplyResults). A reboot
does not cordon or drain the node (talos#9603: "Talos never drains on reboots").

The twin reads the JSON its own `talosctl gen config` writes.
"""

from __future__ import annotations

import json
import sys

from homeops.twin import clock, faults, ids
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import applied_config, config_doc, reboot_rules

WITH_REBOOT = "Applied configuration with a reboot"
WITHOUT_REBOOT = "Applied configuration without a reboot"
STAGED = "Staged configuration to be applied after the next reboot"
TRY_TIMEOUT = 60.0  # constants.ConfigTryTimeout


def read_config(data: bytes) -> dict:
    try:
        config = json.loads(data)
    except ValueError:
        config = None
    if not isinstance(config, dict) or config.get("version") != "v1alpha1":
        raise ToolFailure("error applying new configuration: rpc error: code = InvalidArgument desc = the homeops "
                          "twin reads only the v1alpha1 JSON its own `talosctl gen config` writes")
    return config


def _refusal(current: dict, new: dict) -> ToolFailure:
    return ToolFailure("error applying new configuration: rpc error: code = InvalidArgument desc = this config change "
                       "can't be applied in immediate mode\ndiff:\n" + config_doc.diff(current, new))


def apply(state: dict, node: dict, new: dict, mode: str, *, dry_run: bool, timeout: float, now: float) -> str:
    """Apply `new` to the running `node` in `mode`; what talosctl prints (stderr)."""
    current = applied_config.current(state, node)
    if mode != "try":
        applied_config.confirm(node)
    needs_reboot = bool(reboot_rules.reboot_paths(current, new))
    suffix = ""
    if mode in ("try", "no-reboot"):
        if needs_reboot:
            raise _refusal(current, new)
        details = WITHOUT_REBOOT
    elif mode == "staged":
        details = STAGED
    elif mode == "auto":
        mode = "reboot" if needs_reboot else "no-reboot"
        details = WITH_REBOOT if needs_reboot else WITHOUT_REBOOT
        if needs_reboot:
            suffix = ": " + str(_refusal(current, new)).split("desc = ", 1)[1]
    else:
        details = WITH_REBOOT
    if dry_run:
        return f"Dry run summary:\n{details} (skipped in dry-run).\nConfig diff:\n\n{config_doc.diff(current, new) or 'No changes.'}"
    state["resource_version"] += 1
    if mode == "try":
        node["config_try"] = {
            "previous": applied_config.seal(current),
            "revert_at": now + clock.scaled_wait(timeout, state["timing"]["patience_seconds"]),
            "cut_off": faults.active(state, "config-cuts-off", node["name"]),
        }
        applied_config.store(node, new)
        return (f"{details}\nThe config is applied in 'try' mode and will be automatically reverted back in "
                f"{clock.format_duration(timeout)}")
    if mode == "staged":
        node["staged_config"] = {"config": applied_config.seal(new), "boots": node["boots"]}
        return details
    applied_config.store(node, new)
    if mode == "reboot":
        reboot(state, node, now)
    return details + suffix


def reboot(state: dict, node: dict, now: float) -> None:
    """The reboot sequence of an apply: no cordon, no drain, the same Talos version, a new boot."""
    reboot_seconds = state["timing"]["reboot_seconds"]
    node["reboot"] = {
        "requested_at": now,
        "target_version": node["talos_version"],
        "next_boot_id": ids.uuid4(),
        "talos_cordoned": False,
        "drain_blocked": False,
        "down_at": now,
        "offline_at": now + reboot_seconds / 4,
        "booting_at": now + reboot_seconds / 2,
        "up_at": None if faults.active(state, "never-ready", node["name"]) else now + reboot_seconds,
    }


def write(message: str) -> None:
    """As helpers.PrintApplyResults: Fprintln of the details, so a diff's own last newline is followed by another."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
