"""`talosctl get disks|links`: a node's disks (its install disk and OSD disks from cluster.yaml) and
network links (its NIC, with the MAC cluster.yaml gives), as Talos v1.11 resources.

Shapes from siderolabs/talos release-1.11: `pkg/machinery/resources/block/disk.go` (DiskSpec, its
print columns), `pkg/machinery/resources/network/link_status.go` (LinkStatusSpec, print columns)
and `cmd/talosctl/cmd/talos/output/` (`-o yaml`: `node:` then the resource, documents separated by
`---`; `-o json`: each resource an indented JSON object with sorted keys, one after another).
Examples: tests/tools/fixtures/upstream/talosctl-get-disk-yaml.txt, talosctl-get-links-yaml.txt.
"""

from __future__ import annotations

import json
import re

from homeops.twin import clock

DISKS = {"disks", "disk", "disks.block.talos.dev"}
LINKS = {"links", "link", "linkstatus", "linkstatuses", "linkstatuses.net.talos.dev"}
MACHINE_CONFIGS = {"machineconfig", "machineconfigs", "mc", "machineconfigs.config.talos.dev"}

DISK_COLUMNS = ["SIZE", "READ ONLY", "TRANSPORT", "ROTATIONAL", "WWID", "MODEL", "SERIAL"]
LINK_COLUMNS = ["TYPE", "KIND", "HW ADDR", "OPER STATE", "LINK STATE"]
NIC = "enp1s0"

_SIZES = {
    "nvme": (500_107_862_016, "500 GB"),
    "sata": (256_060_514_304, "256 GB"),
    "osd": (1_000_204_886_016, "1.0 TB"),
}
_BY_ID = re.compile(r"^(?P<bus>nvme|ata|scsi|wwn)-(?P<model>.+)_(?P<serial>[^_]+)$")


def kind_of(word: str) -> str | None:
    word = word.lower()
    if word in DISKS:
        return "disks"
    if word in LINKS:
        return "links"
    if word in MACHINE_CONFIGS:
        return "machineconfig"
    return None


def _metadata(namespace: str, kind: str, ident: str, version: int, owner: str, since: float) -> dict:
    moment = clock.rfc3339(since)
    return {"namespace": namespace, "type": kind, "id": ident, "version": version, "owner": owner,
            "phase": "running", "created": moment, "updated": moment}


def _disk(node: dict, ident: str, dev_path: str, size_key: str, symlinks: list[str], model: str = "",
          serial: str = "") -> dict:
    nvme = ident.startswith("nvme")
    size, pretty = _SIZES[size_key]
    spec: dict = {"dev_path": dev_path, "size": size, "pretty_size": pretty, "io_size": 512, "sector_size": 512,
                  "readonly": False, "cdrom": False}
    if model:
        spec["model"] = model
    if serial:
        spec["serial"] = serial
    spec["bus_path"] = "/pci0000:00/0000:00:1d.0/0000:03:00.0/nvme/nvme0" if nvme else (
        "/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0")
    spec["sub_system"] = "/sys/class/block"
    spec["transport"] = "nvme" if nvme else "sata"
    if symlinks:  # omitempty
        spec["symlinks"] = symlinks
    return {"metadata": _metadata("runtime", "Disks.block.talos.dev", ident, 1, "block.DisksController",
                                  node["ready_since"]), "spec": spec}


def disks(node: dict) -> list[dict]:
    """The install disk, then one disk per OSD device, named as the kernel would name them."""
    install = node["install_disk"]
    base = install.rsplit("/", 1)[-1] if not install.startswith("/dev/disk/") else "sda"
    nvme = base.startswith("nvme")
    links = [install] if install.startswith("/dev/disk/") else []
    links.append("/dev/disk/by-path/pci-0000:03:00.0-nvme-1" if nvme else "/dev/disk/by-path/pci-0000:00:17.0-ata-1")
    serial = "S5GXNX0T" + node["address"].rsplit(".", 1)[-1].zfill(6)
    found = [_disk(node, base, f"/dev/{base}", "nvme" if nvme else "sata", links,
                   "Samsung SSD 980 500GB" if nvme else "CT250MX500SSD1", serial)]
    used = {base}
    for device in node.get("osd_devices", []):
        name = device.rsplit("/", 1)[-1]
        match = _BY_ID.match(name)
        nvme = bool(match and match.group("bus") == "nvme")
        ident = next(candidate for candidate in (
            [f"nvme{i}n1" for i in range(16)] if nvme else [f"sd{chr(ord('a') + i)}" for i in range(26)]
        ) if candidate not in used)
        used.add(ident)
        model = match.group("model").replace("_", " ") if match else ""
        serial = match.group("serial") if match else ""
        found.append(_disk(node, ident, f"/dev/{ident}", "osd", [device], model, serial))
    return found


def links(node: dict) -> list[dict]:
    mac = node["mac_address"]
    loopback = {
        "index": 1, "type": "loopback", "linkIndex": 0, "flags": "UP,LOOPBACK,RUNNING,LOWER_UP",
        "hardwareAddr": "00:00:00:00:00:00", "permanentAddr": "00:00:00:00:00:00",
        "broadcastAddr": "00:00:00:00:00:00", "mtu": 65536, "queueDisc": "noqueue", "operationalState": "unknown",
        "kind": "", "slaveKind": "", "linkState": True, "port": "Other", "duplex": "Unknown",
    }
    nic = {
        "index": 2, "type": "ether", "linkIndex": 0, "flags": "UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP",
        "hardwareAddr": mac, "permanentAddr": mac, "broadcastAddr": "ff:ff:ff:ff:ff:ff", "mtu": 1500,
        "queueDisc": "fq_codel", "operationalState": "up", "kind": "", "slaveKind": "", "busPath": "0000:01:00.0",
        "driver": "igc", "linkState": True, "speedMbit": 1000, "port": "TwistedPair", "duplex": "Full",
    }
    return [
        {"metadata": _metadata("network", "LinkStatuses.net.talos.dev", ident, 2, "network.LinkStatusController",
                               node["ready_since"]), "spec": spec}
        for ident, spec in (("lo", loopback), (NIC, nic))
    ]


# kind -> (type, namespace, the short name of the table's TYPE column, extra columns)
NAMES = {
    "disks": ("Disks.block.talos.dev", "runtime", "Disk", DISK_COLUMNS),
    "links": ("LinkStatuses.net.talos.dev", "network", "LinkStatus", LINK_COLUMNS),
    "machineconfig": ("MachineConfigs.config.talos.dev", "config", "MachineConfig", []),
}


def of(kind: str, node: dict, state: dict | None = None) -> list[dict]:
    if kind == "machineconfig":
        # Imported here: its hashing is needed by this one command, not by every talosctl call.
        from homeops.twin.talos import machine_config

        return [machine_config.resource(state, node)]
    return disks(node) if kind == "disks" else links(node)


def row(kind: str, resource: dict) -> list[str]:
    spec = resource["spec"]
    if kind == "machineconfig":
        return []
    if kind == "disks":
        return [spec["pretty_size"], str(spec["readonly"]).lower(), spec.get("transport", ""),
                "true" if spec.get("rotational") else "", spec.get("wwid", ""), spec.get("model", ""),
                spec.get("serial", "")]
    return [spec["type"], spec["kind"], spec["hardwareAddr"], spec["operationalState"], str(spec["linkState"]).lower()]


def as_json(address: str, resource: dict) -> str:
    """What talosctl's JSON writer prints: a Go map, so every level's keys sorted, indented by 4."""
    return json.dumps({"node": address, **resource}, indent=4, sort_keys=True)


def as_yaml(address: str, resource: dict) -> str:
    """What talosctl's YAML writer prints (yaml.v3, indent 4): `node:`, then metadata and spec in field order."""
    if resource["metadata"]["type"] == NAMES["machineconfig"][0]:
        # The spec is the configuration document, printed as Talos's encoder prints it (sequences of mappings too).
        from homeops.twin.talos import config_doc

        spec = "".join(f"    {line}" for line in config_doc.dump(resource["spec"]).splitlines(keepends=True))
        return f"node: {address}\n" + _yaml({"metadata": resource["metadata"]}, 0) + "spec:\n" + spec
    return f"node: {address}\n" + _yaml(resource, 0)


def _yaml(mapping: dict, indent: int) -> str:
    pad = " " * indent
    lines = []
    for key, value in mapping.items():
        if value is None:
            lines.append(f"{pad}{key}:\n")
        elif isinstance(value, dict):
            lines.append(f"{pad}{key}:\n" + _yaml(value, indent + 4))
        elif isinstance(value, list):
            if value:
                lines.append(f"{pad}{key}:\n" + "".join(f"{pad}    - {_scalar(v)}\n" for v in value))
            else:
                lines.append(f"{pad}{key}: []\n")
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}\n")
    return "".join(lines)


_PLAIN_UNSAFE = re.compile(r"^(|true|false|yes|no|on|off|null|~|[-+]?[0-9][0-9_.]*)$", re.IGNORECASE)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return f'"{value}"' if _PLAIN_UNSAFE.match(value) else value
