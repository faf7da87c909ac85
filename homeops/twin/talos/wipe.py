"""`talosctl -n IP wipe disk NAME... [--method FAST|ZEROES] [--drop-partition]`, as Talos v1.11.

From `cmd/talosctl/cmd/talos/wipe.go` and `internal/app/storaged/server.go` (v1.11.6): device
names, not paths (`nvme0n1`, `sda5`); every device is checked before any is wiped; a device Talos
does not know is NotFound, one under a Talos volume (the install disk: EPHEMERAL, STATE...) or
the secondary of another (an active LVM volume, as ceph-volume's OSDs in lvm mode) is
FailedPrecondition. The twin counts a disk that still holds a live OSD as such a secondary; a
disk of a raw-mode OSD would pass Talos's checks, which is why the runbook asks Ceph first.
Errors come back per node: `error wiping device on node IP: rpc error: code = ... desc = ...`.
"""

from __future__ import annotations

from homeops.twin import cluster
from homeops.twin.ceph import osd_lifecycle
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import api, resources

METHODS = ("FAST", "ZEROES")


def wipe(parsed, twin_dir: str) -> int:
    words = parsed.positionals[1:]
    if words[:1] != ["disk"]:
        raise ToolFailure(f'Error: unknown command "{words[0] if words else ""}" for "talosctl wipe"'
                          if words else 'Error: requires at least 1 arg(s), only received 0')
    names = words[1:]
    if not names:
        raise ToolFailure("Error: requires at least 1 arg(s), only received 0")
    method = parsed.value("method", "FAST")
    if method not in METHODS:
        raise ToolFailure(f'invalid wipe method "{method}"')
    errors = []
    for address in api.addresses(parsed):
        with cluster.changing(twin_dir) as (live, now):
            node, error = api.reach(live, address, now, parsed.switch("insecure"))
            if error:
                errors.append(f"error wiping device on node {address}: {error}")
                continue
            refused = _refused(live, node, names)
            if refused:
                errors.append(f"error wiping device on node {address}: rpc error: {refused}")
                continue
            by_name = {d["metadata"]["id"]: d for d in resources.disks(node)}
            for name in names:
                for device in by_name[name]["spec"].get("symlinks", []):
                    if device in (node.get("osd_devices") or []):
                        osd_lifecycle.wipe(live, node, device, now)
            live["resource_version"] += 1
    if errors:
        raise ToolFailure("\n".join(errors))
    return 0


def _refused(state: dict, node: dict, names: list[str]) -> str | None:
    by_name = {d["metadata"]["id"]: d for d in resources.disks(node)}
    install = next(iter(by_name))
    for name in names:
        disk = by_name.get(name)
        if disk is None:
            return f'code = NotFound desc = blockdevice "{name}" not found'
        if name == install:
            return f'code = FailedPrecondition desc = blockdevice "{name}" is in use by volume "EPHEMERAL"'
        for device in disk["spec"].get("symlinks", []):
            osd = osd_lifecycle.disk_in_use(state, node, device)
            if osd is not None:
                return f'code = FailedPrecondition desc = blockdevice "{name}" is in use by disk "dm-{osd}"'
    return None
