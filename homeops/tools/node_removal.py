"""What removing a node or wiping an OSD's disk runs beyond the usual reads: `talosctl get disks`,
`talosctl wipe disk`, `talosctl reset --graceful`, `kubectl delete node`, `kubectl get pv`.

Talos v1.11's `wipe disk` takes the kernel's device names (`nvme0n1`), not /dev paths, and refuses
a disk under a Talos volume or another device (`internal/app/storaged/server.go`); `reset` is
graceful by default (cordon, drain, leave etcd on a control plane) and shuts the node down unless
`--reboot` (`cmd/talosctl/cmd/talos/reset.go`)."""

from __future__ import annotations

from dataclasses import dataclass

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.kubectl import CHANGE_TIMEOUT, READ_TIMEOUT, items
from homeops.tools.shapes import Disk
from homeops.tools.talosctl import parse_disks

WIPE_TIMEOUT = 600.0  # a FAST wipe takes seconds; a disk that answers slowly gets minutes
RESET_TIMEOUT = 900.0


@dataclass(frozen=True)
class BoundVolume:
    name: str  # the PersistentVolume
    claim: str  # NAMESPACE/NAME of its claim, or "" when unbound
    storage_class: str
    driver: str


def disks(address: str) -> list[Disk]:
    argv = ["talosctl", "-n", address, "get", "disks", "-o", "json"]
    return parse_disks(process.run(argv, timeout=READ_TIMEOUT).stdout, argv)


def wipe_disk(gate: Gate, address: str, name: str, *, why: str = "") -> None:
    gate.change(["talosctl", "-n", address, "wipe", "disk", name], timeout=WIPE_TIMEOUT, why=why,
                about=f"the disk {name} on {address}", unsure="may be wiped")


def reset(gate: Gate, address: str, *, why: str = "", node: str = "") -> None:
    """A graceful reset that shuts the node down (no --reboot), waiting until it is off."""
    gate.change(["talosctl", "-n", address, "reset", "--graceful=true", "--reboot=false", "--wait=true",
                 "--timeout", f"{RESET_TIMEOUT:g}s"], timeout=RESET_TIMEOUT + 60, why=why, about=node or address,
                unsure="may be resetting (the request may have reached it)")


def delete_node(gate: Gate, name: str, *, why: str = "") -> None:
    gate.change(["kubectl", "delete", "node", name, "--ignore-not-found"], timeout=CHANGE_TIMEOUT, why=why,
                about=f"the Node {name}", unsure="may be deleted")


def parse_bound_volumes(volumes: list[dict], node: str) -> list[BoundVolume]:
    """PersistentVolumes whose node affinity requires `node`: node-local data that goes with it."""
    found = []
    for volume in volumes:
        spec = volume.get("spec") or {}
        terms = (((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms")) or []
        pinned = any(node in (expression.get("values") or [])
                     for term in terms for expression in term.get("matchExpressions") or []
                     if expression.get("operator") == "In")
        if not pinned:
            continue
        claim = spec.get("claimRef") or {}
        found.append(BoundVolume(
            str((volume.get("metadata") or {}).get("name") or ""),
            f"{claim.get('namespace')}/{claim.get('name')}" if claim.get("name") else "",
            str(spec.get("storageClassName") or ""), str((spec.get("csi") or {}).get("driver") or ""),
        ))
    return found


def bound_volumes(node: str) -> list[BoundVolume]:
    return parse_bound_volumes(items(["get", "pv"], timeout=READ_TIMEOUT), node)
