"""talosctl: versions, machine status, etcd, the upgrades, and the initial setup (changes go through the gate).

A node booted from the install image and not configured yet is in maintenance mode: only the
`--insecure` calls answer it (no talosconfig, no client certificate), and only a few resources
(disks, links, ...) and `apply-config` are served (Talos v1.11 "Getting Started", step 5 and 7).
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.decode import ToolOutputInvalid, json_lines, json_stream, table
from homeops.tools.shapes import (Disk, EtcdAlarm, EtcdMember, EtcdSnapshot, EtcdStatus, Link, MachineStatus,
                                  TalosVersion)

READ_TIMEOUT = 30.0  # apid answers in a second; a node that is rebooting should fail fast, not hang
SNAPSHOT_TIMEOUT = 300.0  # an etcd snapshot of a home cluster is tens of MB
UPGRADE_K8S_TIMEOUT = 1800.0  # upgrade-k8s rolls the control plane and every kubelet, one after another
UPGRADE_MARGIN = 60.0  # talosctl needs a moment beyond its own --timeout to report and exit
CHANGE_TIMEOUT = 120.0  # apply-config, bootstrap, kubeconfig, gen: answered in seconds

# The columns the runbooks read. talosctl prints more, and which ones depends on the client:
# `etcd status` gained PROTOCOL and STORAGE in talosctl v1.11.0 (Talos's own v1.11 docs still
# show the 9 columns without them), so tables are read by these names, never by position.
MEMBER_COLUMNS = ("NODE", "ID", "HOSTNAME", "LEARNER")
STATUS_COLUMNS = ("NODE", "MEMBER", "LEADER", "LEARNER", "ERRORS")
ALARM_COLUMNS = ("NODE", "MEMBER", "ALARM")  # printed only when some member has an alarm
# `etcd snapshot`'s two lines (cmd/talosctl/cmd/talos/etcd.go): the bytes written, then what etcd's
# snapshot.Status reads back from the file.
_SNAPSHOT_SAVED = re.compile(r'^etcd snapshot saved to "(?P<path>.*)" \((?P<bytes>\d+) bytes\)$', re.MULTILINE)
_SNAPSHOT_INFO = re.compile(r"^snapshot info: hash (?P<hash>[0-9a-f]{8}), revision (?P<revision>\d+), "
                            r"total keys (?P<keys>\d+), total size (?P<size>\d+)$", re.MULTILINE)
MACHINE_CONFIG_TYPE = "MachineConfigs.config.talos.dev"
_CLIENT_TAG = re.compile(r"^\s*Tag:\s*(\S+)", re.MULTILINE)


def _read(address: str, args: Sequence[str], timeout: float) -> tuple[list[str], str]:
    argv = ["talosctl", "-n", address, *args]
    return argv, process.run(argv, timeout=timeout).stdout


def parse_versions(text: str, argv: Sequence[str]) -> list[TalosVersion]:
    found = []
    for obj in json_lines(text, argv):
        tag = (obj.get("version") or {}).get("tag")
        if not tag:
            raise ToolOutputInvalid(argv, text, "talosctl version JSON with .version.tag")
        found.append(TalosVersion(node=(obj.get("metadata") or {}).get("hostname", ""), tag=tag))
    return found


def parse_machine_status(text: str, argv: Sequence[str]) -> list[MachineStatus]:
    found = []
    for obj in json_stream(text, argv):
        spec = obj.get("spec") or {}
        status = spec.get("status") or {}
        unmet = tuple(
            c.get("name", str(c)) if isinstance(c, dict) else str(c) for c in status.get("unmetConditions") or []
        )
        found.append(MachineStatus(obj.get("node", ""), spec.get("stage", ""), bool(status.get("ready")), unmet))
    return found


def parse_etcd_members(text: str, argv: Sequence[str]) -> list[EtcdMember]:
    return [
        EtcdMember(row["NODE"], row["ID"], row["HOSTNAME"], row["LEARNER"] == "true")
        for row in table(text, MEMBER_COLUMNS, argv)
    ]


def parse_etcd_status(text: str, argv: Sequence[str]) -> list[EtcdStatus]:
    return [
        EtcdStatus(row["NODE"], row["MEMBER"], row["LEADER"], row["LEARNER"] == "true", row["ERRORS"])
        for row in table(text, STATUS_COLUMNS, argv)
    ]


def version(address: str, *, timeout: float = READ_TIMEOUT) -> TalosVersion:
    argv, out = _read(address, ["version", "--json"], timeout)
    # The hidden --json flag prints the server messages only, one protojson object a line.
    versions = parse_versions(out, argv)
    if not versions:
        raise ToolOutputInvalid(argv, out, "a talosctl version JSON line for the node")
    return versions[-1]


def parse_client_version(text: str, argv: Sequence[str]) -> str:
    """The tag of `talosctl version --client` (`Client:` then `\tTag:         v1.11.1`)."""
    found = _CLIENT_TAG.search(text)
    if not found:
        raise ToolOutputInvalid(argv, text, "a talosctl client version with a Tag: line")
    return found.group(1)


def client_version(*, timeout: float = READ_TIMEOUT) -> str:
    """The installed talosctl's own release: it need not match the cluster's Talos."""
    argv = ["talosctl", "version", "--client"]
    return parse_client_version(process.run(argv, timeout=timeout).stdout, argv)


def machine_status(address: str, *, timeout: float = READ_TIMEOUT) -> MachineStatus:
    argv, out = _read(address, ["get", "machinestatus", "-o", "json"], timeout)
    found = parse_machine_status(out, argv)
    if not found:
        raise ToolOutputInvalid(argv, out, "a MachineStatus resource")
    return found[0]


def etcd_members(address: str, *, timeout: float = READ_TIMEOUT) -> list[EtcdMember]:
    argv, out = _read(address, ["etcd", "members"], timeout)
    return parse_etcd_members(out, argv)


def etcd_status(address: str, *, timeout: float = READ_TIMEOUT) -> list[EtcdStatus]:
    argv, out = _read(address, ["etcd", "status"], timeout)
    return parse_etcd_status(out, argv)


def parse_etcd_alarms(text: str, argv: Sequence[str]) -> list[EtcdAlarm]:
    """No output at all means no alarm: talosctl prints the header only above the first alarm."""
    if not text.strip():
        return []
    return [EtcdAlarm(row["NODE"], row["MEMBER"], row["ALARM"]) for row in table(text, ALARM_COLUMNS, argv)]


def etcd_alarms(address: str, *, timeout: float = READ_TIMEOUT) -> list[EtcdAlarm]:
    argv, out = _read(address, ["etcd", "alarm", "list"], timeout)
    return parse_etcd_alarms(out, argv)


def parse_etcd_snapshot(text: str, argv: Sequence[str]) -> EtcdSnapshot:
    saved, info = _SNAPSHOT_SAVED.search(text), _SNAPSHOT_INFO.search(text)
    if not saved or not info:
        raise ToolOutputInvalid(argv, text, "talosctl's 'etcd snapshot saved to' and 'snapshot info:' lines")
    return EtcdSnapshot(saved["path"], int(saved["bytes"]), info["hash"], int(info["revision"]), int(info["keys"]),
                        int(info["size"]))


def etcd_snapshot(gate: Gate, address: str, path: str, *, why: str = "") -> EtcdSnapshot | None:
    """What talosctl printed of the snapshot it wrote to `path`; None in plan mode.

    A snapshot changes nothing in the cluster, but it writes a file: plan mode only shows it."""
    argv = ["talosctl", "-n", address, "etcd", "snapshot", path]
    done = gate.change(argv, timeout=SNAPSHOT_TIMEOUT, why=why, about=f"the snapshot {path}",
                       unsure=f"may be incomplete (a {path}.part file may be left)")
    return None if done is None else parse_etcd_snapshot(done.stdout, argv)


def machine_config(address: str, *, timeout: float = READ_TIMEOUT) -> str:
    """The node's running machine configuration, as `get machineconfig -o yaml` prints the resource.

    It carries the cluster's secrets (CA keys, tokens): returned to be encrypted, never shown, and
    an unexpected answer is reported without its text."""
    argv = ["talosctl", "-n", address, "get", "machineconfig", "-o", "yaml"]
    return checked_machine_config(process.run(argv, timeout=timeout).stdout, argv)


def checked_machine_config(text: str, argv: Sequence[str]) -> str:
    """`text` when it is a MachineConfig resource with a spec; otherwise an error that never shows it."""
    if f"type: {MACHINE_CONFIG_TYPE}" not in text or not re.search(r"^spec:", text, re.MULTILINE):
        raise process.ToolError(argv, 0, f"printed no {MACHINE_CONFIG_TYPE} resource with a spec "
                                         f"({len(text)} characters, not shown: they may hold secrets)")
    return text


def upgrade(gate: Gate, address: str, image: str, *, timeout: float, force: bool = False, why: str = "",
            node: str = "", watch: Callable[[float], str] | None = None) -> None:
    """Install `image` and reboot; talosctl waits until the node is back (or `timeout` seconds pass).

    Its progress (stderr) is said as it comes; `watch` fills its silences (the node as Kubernetes sees it).
    """
    argv = ["talosctl", "-n", address, "upgrade", "-i", image, "--timeout", f"{timeout:g}s"]
    if force:
        argv.append("--force")
    gate.change(argv, timeout=timeout + UPGRADE_MARGIN, why=why, about=node or address,
                unsure="may be upgrading or rebooting (the request may have reached it)", watch=watch)


def upgrade_k8s_argv(address: str, to: str, *, dry_run: bool) -> list[str]:
    argv = ["talosctl", "-n", address, "upgrade-k8s", "--to", to.removeprefix("v")]
    return [*argv, "--dry-run"] if dry_run else argv


def upgrade_k8s_dry_run(address: str, to: str, *, timeout: float = UPGRADE_K8S_TIMEOUT) -> str:
    """What upgrade-k8s would do; read-only, so it runs in plan mode too."""
    argv = upgrade_k8s_argv(address, to, dry_run=True)
    done = process.run(argv, timeout=timeout)
    return (done.stdout + done.stderr).strip()


def upgrade_k8s(gate: Gate, address: str, to: str, *, timeout: float = UPGRADE_K8S_TIMEOUT, why: str = "") -> None:
    gate.change(upgrade_k8s_argv(address, to, dry_run=False), timeout=timeout, why=why,
                about="the control plane and the kubelets",
                unsure=f"may be partly upgraded to Kubernetes {to} (upgrade-k8s can be run again)")


# --- maintenance mode and the initial setup --------------------------------------------------


def _spec(obj: dict) -> dict:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _id(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("id") or "")


def parse_disks(text: str, argv: Sequence[str]) -> list[Disk]:
    """`talosctl get disks -o json`: one Disk resource after another (talosctl's output/json.go
    writes each resource's YAML form as indented JSON, so the spec keys are the YAML tags of
    pkg/machinery/resources/block/disk.go: dev_path, size, readonly, cdrom, model, serial, symlinks)."""
    found = []
    for obj in json_stream(text, argv):
        spec, disk_id = _spec(obj), _id(obj)
        if not disk_id:
            raise ToolOutputInvalid(argv, text, "Disk resources with .metadata.id")
        size = spec.get("size")
        found.append(Disk(
            node=str(obj.get("node") or ""), id=disk_id,
            dev_path=str(spec.get("dev_path") or f"/dev/{disk_id}"),  # dev_path is new in Talos v1.9
            size=size if isinstance(size, int) and not isinstance(size, bool) else 0,
            readonly=bool(spec.get("readonly")), cdrom=bool(spec.get("cdrom")),
            model=str(spec.get("model") or ""), serial=str(spec.get("serial") or ""),
            symlinks=tuple(str(s) for s in spec.get("symlinks") or ()),
        ))
    return found


def parse_links(text: str, argv: Sequence[str]) -> list[Link]:
    """`talosctl get links -o json`: LinkStatus resources (YAML tags of network/link_status.go)."""
    found = []
    for obj in json_stream(text, argv):
        spec, link_id = _spec(obj), _id(obj)
        if not link_id:
            raise ToolOutputInvalid(argv, text, "LinkStatus resources with .metadata.id")
        found.append(Link(
            node=str(obj.get("node") or ""), id=link_id, type=str(spec.get("type") or ""),
            kind=str(spec.get("kind") or ""), hardware_addr=str(spec.get("hardwareAddr") or "").lower(),
            permanent_addr=str(spec.get("permanentAddr") or "").lower(),
        ))
    return found


def insecure_argv(address: str, resource: str) -> list[str]:
    return ["talosctl", "-n", address, "get", resource, "--insecure", "-o", "json"]


def disks_insecure(address: str, *, timeout: float = READ_TIMEOUT) -> list[Disk]:
    """The disks of a node in maintenance mode; ToolError when it does not answer without credentials
    (not booted, or already configured: its API then wants a client certificate)."""
    argv = insecure_argv(address, "disks")
    return parse_disks(process.run(argv, timeout=timeout).stdout, argv)


def links_insecure(address: str, *, timeout: float = READ_TIMEOUT) -> list[Link]:
    argv = insecure_argv(address, "links")
    return parse_links(process.run(argv, timeout=timeout).stdout, argv)


def apply_config_insecure(gate: Gate, address: str, file: str, *, why: str = "") -> None:
    """Give a node in maintenance mode its first configuration; it installs Talos and reboots."""
    gate.change(["talosctl", "apply-config", "--insecure", "--nodes", address, "--file", file],
                timeout=CHANGE_TIMEOUT, why=why)


# What Talos answers a second bootstrap (machined's v1alpha1_server.go, Bootstrap): the etcd data
# directory of that node already holds a cluster. talosctl wraps it: "error executing bootstrap: rpc
# error: code = AlreadyExists desc = etcd data directory is not empty".
ALREADY_BOOTSTRAPPED = "etcd data directory is not empty"
# Talos answers FailedPrecondition with this until a freshly installed node has booted far enough
# (its volumes ready) to start etcd, while its version already answers: the bootstrap itself is
# retried, as public Talos bootstrap scripts do (`until talosctl bootstrap; do sleep 10; done`).
NOT_AVAILABLE_YET = "bootstrap is not available yet"


def bootstrap(gate: Gate, address: str, *, why: str = "") -> None:
    """Start etcd as a one-member cluster on `address`: once per cluster, ever (the others join it)."""
    gate.change(["talosctl", "bootstrap", "--nodes", address], timeout=CHANGE_TIMEOUT, why=why)


def kubeconfig(gate: Gate, address: str, path: str, *, why: str = "") -> None:
    """Write the cluster's admin kubeconfig to `path` (a file of its own: --merge=false, --force)."""
    gate.change(["talosctl", "kubeconfig", "--nodes", address, path, "--merge=false", "--force"],
                timeout=CHANGE_TIMEOUT, why=why)


def gen_secrets(gate: Gate, output: str, *, why: str = "") -> None:
    gate.change(["talosctl", "gen", "secrets", "--output-file", output], timeout=CHANGE_TIMEOUT, why=why)


def gen_config(gate: Gate, args: Sequence[str], *, why: str = "") -> None:
    """`talosctl gen config ARGS`: a file on the workstation (plan mode only shows it)."""
    gate.change(["talosctl", "gen", "config", *args], timeout=CHANGE_TIMEOUT, why=why)


def config_endpoints(gate: Gate, talosconfig: str, endpoints: Sequence[str], node: str, *, why: str = "") -> None:
    """Point a talosconfig at the control planes (`config endpoint`) and a default node (`config node`)."""
    gate.change(["talosctl", "--talosconfig", talosconfig, "config", "endpoint", *endpoints],
                timeout=CHANGE_TIMEOUT, why=why)
    gate.change(["talosctl", "--talosconfig", talosconfig, "config", "node", node], timeout=CHANGE_TIMEOUT,
                why="the node talosctl asks when none is named")
