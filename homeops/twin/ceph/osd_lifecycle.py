"""An OSD's life in the twin beyond up and down: `ceph osd out|in`, `safe-to-destroy`, `purge`, its
disk (`ceph osd metadata`), and Rook making a new OSD on a wiped free disk.

Which disk an OSD sits on: `ceph.osd_device["ID"] = [node, /dev/disk/by-id/...]`, filled from
each node's `osd_devices` (in order) the first time anything changes, and for every OSD Rook makes.
A disk whose OSD was purged keeps Ceph's BlueStore label (`ceph.disks["node|device"] = {"state":
"ceph"}`) until `talosctl wipe disk` clears it ("wiped", at a time); with the `wipe-incomplete`
fault the label survives the wipe (siderolabs/talos#10797). While the operator runs, Rook's
OSD prepare job makes a new OSD on a wiped disk that holds none, `timing.reboot_seconds` after the
later of the wipe and the operator's return, with the lowest free id (Ceph reuses purged ids) and a
new uuid; its PGs backfill for `timing.recovery_seconds`.
"""

from __future__ import annotations

import zlib

from homeops.twin import faults, nodes
from homeops.twin.kube import deployments


def _ceph(state: dict) -> dict:
    return state["ceph"]


def marked_out(state: dict) -> dict:
    return _ceph(state).get("marked_out") or {}


def is_marked_out(state: dict, osd: int) -> bool:
    return str(osd) in marked_out(state)


def device_map(state: dict) -> dict[str, list[str]]:
    """OSD id (text) -> [node name, by-id device]: stored entries, then the built cluster's order."""
    found = dict(_ceph(state).get("osd_device") or {})
    for node in state["nodes"]:
        devices = list(node.get("osd_devices") or [])
        taken = {device for name, device in found.values() if name == node["name"]}
        free = [device for device in devices if device not in taken]
        for osd in node["osds"]:
            if str(osd) not in found and free:
                found[str(osd)] = [node["name"], free.pop(0)]
    return found


def _remember_devices(state: dict) -> None:
    _ceph(state)["osd_device"] = device_map(state)


def uuid_of(state: dict, osd: int) -> str:
    generation = (_ceph(state).get("generation") or {}).get(str(osd), 0)
    # Made from the fsid, the id and how often that id was purged: the same at every read. (Not uuid5:
    # the uuid module imports platform, and the fake tools import no more than they need.)
    seed = f"{_ceph(state)['fsid']}/osd.{osd}.{generation}".encode()
    text = "".join(f"{zlib.crc32(seed, salt):08x}" for salt in (1, 2, 3, 4))
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def host_of(state: dict, osd: int) -> dict | None:
    return next((node for node in state["nodes"] if osd in node["osds"]), None)


def kernel_name(node: dict, device: str) -> str:
    """The kernel's name of a by-id device on the node, as `talosctl get disks` names it."""
    from homeops.twin.talos import resources

    for disk in resources.disks(node):
        if device in disk["spec"].get("symlinks", []):
            return disk["metadata"]["id"]
    return device.rsplit("/", 1)[-1]


def metadata(state: dict, osd: int) -> dict:
    node = host_of(state, osd)
    _, device = device_map(state)[str(osd)]
    name = kernel_name(node, device)
    serial = device.rsplit("/", 1)[-1].split("-", 1)[-1]
    return {
        "id": osd, "arch": "x86_64", "hostname": node["name"], "ceph_version_short": "19.2.3",
        "osd_objectstore": "bluestore", "bluestore_bdev_type": "ssd", "bluestore_bdev_dev_node": f"/dev/{name}",
        "devices": name, "device_ids": f"{name}={serial}", "device_paths": f"{name}={device}",
        "osd_data": f"/var/lib/ceph/osd/ceph-{osd}", "rotational": "0",
    }


def mark(state: dict, osd: int, out: bool, now: float) -> str:
    """`ceph osd out|in ID`: the monitor's line (on stderr). Marking out starts moving its data away."""
    _remember_devices(state)
    stored = _ceph(state).setdefault("marked_out", {})
    if out:
        if str(osd) in stored:
            return f"osd.{osd} is already out. "
        stored[str(osd)] = now
        for node in state["nodes"]:
            if node["osds"]:
                node["recovered_at"] = max(node["recovered_at"], now + state["timing"]["recovery_seconds"])
        _ceph(state)["epoch"] += 1
        return f"marked out osd.{osd}. "
    if str(osd) not in stored:
        return f"osd.{osd} is already in. "
    del stored[str(osd)]
    _ceph(state)["epoch"] += 1
    return f"marked in osd.{osd}. "


def safe_to_destroy(state: dict, osd: int, now: float, pg_states) -> dict:
    """Ceph's mgr (DaemonServer.cc `osd safe-to-destroy`): an OSD with PGs mapped to it is `active`;
    one that is down while PGs are not all active+clean has no stats to judge by; else safe."""
    from homeops.twin.ceph import ceph

    report = {"safe_to_destroy": [], "active": [], "missing_stats": [], "stored_pgs": []}
    node = host_of(state, osd)
    if node is None:
        report["safe_to_destroy"].append(osd)  # gone from the map: clearly safe
        return report
    clean = all(ceph.PG_HEALTHY.match(s["state_name"]) for s in pg_states)
    moving = node["recovered_at"] > now
    if ceph.osd_in(state, node, osd, now) or (moving and ceph.osd_up(state, node, osd, now)):
        report["active"].append(osd)
    elif not clean and not ceph.osd_up(state, node, osd, now):
        report["missing_stats"].append(osd)
    elif not clean:
        report["stored_pgs"].append(osd)
    else:
        report["safe_to_destroy"].append(osd)
    return report


def purge(state: dict, osd: int, now: float) -> str:
    """`ceph osd purge ID --yes-i-really-mean-it`: gone from the CRUSH map, the OSD map and auth;
    its disk keeps Ceph's label until it is wiped."""
    _remember_devices(state)
    node = host_of(state, osd)
    name, device = _ceph(state)["osd_device"].pop(str(osd))
    node["osds"] = [o for o in node["osds"] if o != osd]
    deployments.keep_purged_osd(state, osd, node.get("crush_host") or node["name"])
    _ceph(state).setdefault("disks", {})[f"{name}|{device}"] = {"state": "ceph", "since": now}
    (_ceph(state).get("marked_out") or {}).pop(str(osd), None)
    generations = _ceph(state).setdefault("generation", {})
    generations[str(osd)] = generations.get(str(osd), 0) + 1
    _ceph(state)["epoch"] += 1
    return f"purged osd.{osd}"


def disk_in_use(state: dict, node: dict, device: str) -> int | None:
    """The OSD that holds the by-id `device` on `node`, if one does."""
    for osd, (name, held) in device_map(state).items():
        if name == node["name"] and held == device:
            return int(osd)
    return None


def wipe(state: dict, node: dict, device: str, now: float) -> None:
    _remember_devices(state)
    disks = _ceph(state).setdefault("disks", {})
    label_stays = faults.active(state, "wipe-incomplete", node["name"])
    disks[f"{node['name']}|{device}"] = {"state": "ceph" if label_stays else "wiped", "since": now}


def reconcile(state: dict, now: float) -> None:
    """Rook's OSD prepare, while the operator runs: a new OSD on each wiped disk that holds none."""
    if not deployments.operator_running(state):
        return
    disks = _ceph(state).get("disks") or {}
    operator_since = deployments.running_since(state)
    delay = state["timing"]["reboot_seconds"]
    for key, disk in sorted(disks.items()):
        if disk["state"] != "wiped":
            continue
        name, device = key.split("|", 1)
        node = nodes.find(state, name=name)
        ready_at = max(disk["since"], operator_since) + delay
        if node is None or now < ready_at or not nodes.registered(node) or nodes.phase(node, now) != nodes.RUNNING:
            continue
        _remember_devices(state)
        taken = {o for n in state["nodes"] for o in n["osds"]}
        osd = next(i for i in range(len(taken) + 1) if i not in taken)
        node["osds"] = sorted(node["osds"] + [osd])
        _ceph(state)["osd_device"][str(osd)] = [name, device]
        disk.update(state="ceph", since=ready_at)
        deployments.forget_osd(state, osd)
        node["recovered_at"] = max(node["recovered_at"], ready_at + state["timing"]["recovery_seconds"])
        _ceph(state)["epoch"] += 1
