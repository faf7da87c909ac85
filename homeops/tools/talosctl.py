"""talosctl: versions, machine status, etcd, and the upgrades (which go through the gate)."""

from __future__ import annotations

import re
from typing import Callable, Sequence

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.decode import ToolOutputInvalid, json_lines, json_stream, table
from homeops.tools.shapes import EtcdMember, EtcdStatus, MachineStatus, TalosVersion

READ_TIMEOUT = 30.0  # apid answers in a second; a node that is rebooting should fail fast, not hang
SNAPSHOT_TIMEOUT = 300.0  # an etcd snapshot of a home cluster is tens of MB
UPGRADE_K8S_TIMEOUT = 1800.0  # upgrade-k8s rolls the control plane and every kubelet, one after another
UPGRADE_MARGIN = 60.0  # talosctl needs a moment beyond its own --timeout to report and exit

# The columns the runbooks read. talosctl prints more, and which ones depends on the client:
# `etcd status` gained PROTOCOL and STORAGE in talosctl v1.11.0 (Talos's own v1.11 docs still
# show the 9 columns without them), so tables are read by these names, never by position.
MEMBER_COLUMNS = ("NODE", "ID", "HOSTNAME", "LEARNER")
STATUS_COLUMNS = ("NODE", "MEMBER", "LEADER", "LEARNER", "ERRORS")
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


def etcd_snapshot(gate: Gate, address: str, path: str, *, why: str = "") -> None:
    # A snapshot changes nothing in the cluster, but it writes a file: plan mode only shows it.
    gate.change(["talosctl", "-n", address, "etcd", "snapshot", path], timeout=SNAPSHOT_TIMEOUT, why=why,
                about=f"the snapshot {path}", unsure=f"may be incomplete (a {path}.part file may be left)")


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
