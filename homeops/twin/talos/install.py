"""`talosctl apply-config --insecure -n IP --file F`: a node in maintenance mode installs Talos
(versions.talos of cluster.yaml) and reboots into the configured system.

A configured node takes the configuration as machined does (homeops.twin.talos.config_apply).
As Talos's maintenance service (siderolabs/talos release-1.11 `internal/app/maintenance/server.go`):
modes auto, reboot and try only; `--dry-run` prints its summary on stderr; success prints nothing.
talosctl's own errors from `cmd/talosctl/cmd/talos/apply-config.go`. After the reboot the node
registers with Kubernetes once an API server answers, and a control plane's etcd waits for
`talosctl bootstrap` or joins a running etcd as a learner (homeops.twin.etcd).
"""

from __future__ import annotations

import sys

from homeops.twin import cluster, ids, nodes, output
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import api

MAINTENANCE_MODES = ("auto", "reboot", "try")
MODES = ("auto", "interactive", "no-reboot", "reboot", "staged", "try")


def apply_config(parsed, twin_dir: str) -> int:
    if len(parsed.positionals) > 1:
        raise ToolFailure(f"unknown positional argument {parsed.positionals[1]}")
    filename = parsed.value("file")
    if not filename:
        raise ToolFailure("no filename supplied for configuration")
    try:
        with open(filename, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ToolFailure(f'failed to read configuration from "{filename}": open {filename}: {reason}') from None
    if not data:
        raise ToolFailure("no configuration data read")
    mode = parsed.value("mode", "auto")
    if mode not in MODES:
        raise ToolFailure(f'Error: invalid argument "{mode}" for "-m, --mode" flag: possible options are: '
                          + ", ".join(MODES))
    addresses = api.addresses(parsed)
    insecure = parsed.switch("insecure")
    with cluster.changing(twin_dir) as (live, now):
        for address in addresses[:1] if insecure else addresses:
            # talosctl's maintenance client talks to the first node only (siderolabs/talos#11773).
            node, error = api.reach(live, address, now, insecure)
            if error:
                raise ToolFailure(f"error applying new configuration: {error}")
            if not nodes.in_maintenance(node):
                # A configured node (reached without --insecure): homeops.twin.talos.config_apply.
                from homeops.twin.talos import config_apply

                config_apply.write(config_apply.apply(
                    live, node, config_apply.read_config(data), mode, dry_run=parsed.switch("dry-run"),
                    timeout=api.duration(parsed, "timeout", "1m"), now=now))
                continue
            if mode not in MAINTENANCE_MODES:
                raise ToolFailure(
                    "error applying new configuration: rpc error: code = Unimplemented desc = apply configuration "
                    f"--mode='{mode}' is not supported in maintenance mode"
                )
            if parsed.switch("dry-run"):
                output.write(sys.stderr, "Dry run summary:\nNode is running in maintenance mode and does not have a "
                                         "config yet.")
                continue
            install(live, node, now)
            configuration = _configuration(data)
            if configuration is not None:
                from homeops.twin.talos import applied_config

                applied_config.store(node, configuration)
    return 0


def install(state: dict, node: dict, now: float) -> None:
    """Install to the node's disk and reboot into the configured system (one reboot long)."""
    reboot_seconds = state["timing"]["reboot_seconds"]
    node["maintenance"] = False
    node["configured_at"] = now
    node["reboot"] = {
        "requested_at": now,
        "target_version": state["versions"]["talos"],
        "next_boot_id": ids.uuid4(),
        "talos_cordoned": False,
        "drain_blocked": False,
        "down_at": now,
        "offline_at": now + reboot_seconds / 4,
        "booting_at": now + reboot_seconds / 2,
        "up_at": now + reboot_seconds,
        # Until it goes offline the node still runs the maintenance service it installs from:
        # only --insecure answers (homeops.twin.nodes.installing).
        "from_maintenance": True,
    }


def _configuration(data: bytes) -> dict | None:
    """What the node now runs: the twin's own generated JSON; None (a made-up one) for any other file."""
    import json

    try:
        config = json.loads(data)
    except ValueError:
        return None
    return config if isinstance(config, dict) and config.get("version") == "v1alpha1" else None
