"""Ceph through the Rook toolbox: `kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph ... -f json`."""

from __future__ import annotations

from typing import Sequence

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.decode import json_object
from homeops.tools.shapes import CephStatus, HealthCheck, OkToStop, OsdDump, OsdTree

READ_TIMEOUT = 30.0  # `ceph` answers in a second; a hung monitor should not hang a runbook
CHANGE_TIMEOUT = 60.0

TOOLBOX = ["kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph"]


def _read(args: Sequence[str], timeout: float) -> dict:
    argv = [*TOOLBOX, *args, "-f", "json"]
    return json_object(process.run(argv, timeout=timeout).stdout, argv)


def parse_status(document: dict) -> CephStatus:
    health = document.get("health") or {}
    osdmap = document.get("osdmap") or {}
    # Releases before Pacific nest the counts one level deeper, under osdmap.osdmap.
    osdmap = osdmap.get("osdmap", osdmap)
    pgmap = document.get("pgmap") or {}
    checks = tuple(
        HealthCheck(name, check.get("severity", ""), (check.get("summary") or {}).get("message", ""))
        for name, check in (health.get("checks") or {}).items()
    )
    return CephStatus(
        health=health.get("status", "UNKNOWN"),
        checks=checks,
        num_osds=int(osdmap.get("num_osds", 0)),
        num_up_osds=int(osdmap.get("num_up_osds", 0)),
        num_in_osds=int(osdmap.get("num_in_osds", 0)),
        pgs_by_state=tuple((s.get("state_name", ""), int(s.get("count", 0))) for s in pgmap.get("pgs_by_state") or []),
        num_pgs=int(pgmap.get("num_pgs", 0)),
    )


def parse_osd_tree(document: dict) -> OsdTree:
    nodes = document.get("nodes") or []
    # OSD ids are >= 0 and bucket ids (hosts, racks) negative: a host's OSDs are its non-negative children.
    hosts = {
        n.get("name", ""): tuple(sorted(c for c in n.get("children") or [] if isinstance(c, int) and c >= 0))
        for n in nodes
        if n.get("type") == "host"
    }
    down = tuple(sorted(n["id"] for n in nodes if n.get("type") == "osd" and n.get("status") == "down"))
    return OsdTree(osds_by_host=hosts, down_osds=down)


def parse_osd_dump(document: dict) -> OsdDump:
    flags = frozenset(f for f in str(document.get("flags") or "").split(",") if f)
    host_flags = {
        host: frozenset(flags_of_host) for host, flags_of_host in (document.get("crush_node_flags") or {}).items()
        if flags_of_host
    }
    return OsdDump(flags=flags, host_flags=host_flags)


def parse_ok_to_stop(returncode: int, stdout: str, stderr: str, osds: Sequence[int], argv: Sequence[str]) -> OkToStop:
    """`ok-to-stop` answers in its exit code; its JSON (when any) says which OSDs and how many PGs."""
    if returncode == 0:
        document = json_object(stdout, argv)
        return OkToStop(bool(document.get("ok_to_stop", True)), tuple(document.get("osds") or osds), "")
    # Through `kubectl exec` Ceph's "Error EBUSY: ..." is followed by kubectl's "command terminated ..."
    lines = [line for line in (stderr or stdout).strip().splitlines() if not line.startswith("command terminated")]
    return OkToStop(False, tuple(osds), "; ".join(lines) if lines else f"exited {returncode}")


def status(*, timeout: float = READ_TIMEOUT) -> CephStatus:
    return parse_status(_read(["status"], timeout))


def osd_tree(*, timeout: float = READ_TIMEOUT) -> OsdTree:
    return parse_osd_tree(_read(["osd", "tree"], timeout))


def osd_dump(*, timeout: float = READ_TIMEOUT) -> OsdDump:
    return parse_osd_dump(_read(["osd", "dump"], timeout))


def ok_to_stop(osds: Sequence[int], *, timeout: float = READ_TIMEOUT) -> OkToStop:
    argv = [*TOOLBOX, "osd", "ok-to-stop", *(str(i) for i in osds), "-f", "json"]
    done = process.run(argv, timeout=timeout, check=False)
    return parse_ok_to_stop(done.returncode, done.stdout, done.stderr, osds, argv)


def set_flag(gate: Gate, flag: str, *, why: str = "") -> None:
    gate.change([*TOOLBOX, "osd", "set", flag], timeout=CHANGE_TIMEOUT, why=why)


def unset_flag(gate: Gate, flag: str, *, why: str = "") -> None:
    gate.change([*TOOLBOX, "osd", "unset", flag], timeout=CHANGE_TIMEOUT, why=why)


def set_group(gate: Gate, flag: str, host: str, *, why: str = "") -> None:
    gate.change([*TOOLBOX, "osd", "set-group", flag, host], timeout=CHANGE_TIMEOUT, why=why)


def unset_group(gate: Gate, flag: str, host: str, *, why: str = "") -> None:
    gate.change([*TOOLBOX, "osd", "unset-group", flag, host], timeout=CHANGE_TIMEOUT, why=why)
