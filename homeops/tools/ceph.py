"""Ceph through the Rook toolbox: `kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph ... -f json`."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.decode import json_object
from homeops.tools.process import ToolError
from homeops.tools.shapes import CephStatus, HealthCheck, OkToStop, OsdDump, OsdTree

READ_TIMEOUT = 30.0  # `ceph` answers in a second; a hung monitor should not hang a runbook
CHANGE_TIMEOUT = 60.0

TOOLBOX = ["kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph"]
TOOLBOX_MISSING = "the Rook toolbox is not deployed: enable toolbox.enabled in the rook-ceph-cluster values"
# What kubectl says when the Deployment does not exist (the chart's default: toolbox.enabled false).
_NO_TOOLBOX = 'deployments.apps "rook-ceph-tools" not found'


class ToolboxMissing(ToolError):
    """Every Ceph call goes through the Rook toolbox; without it there is nothing to ask."""

    def __init__(self, error: ToolError):
        ToolError.__init__(self, error.argv, error.returncode, error.stderr, error.stdout)
        Exception.__init__(self, TOOLBOX_MISSING)


@contextmanager
def _through_toolbox() -> Iterator[None]:
    try:
        yield
    except ToolError as exc:
        if _NO_TOOLBOX in (exc.stderr or ""):
            raise ToolboxMissing(exc) from None
        raise


def _read(args: Sequence[str], timeout: float) -> dict:
    argv = [*TOOLBOX, *args, "-f", "json"]
    with _through_toolbox():
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
    if done.returncode and _NO_TOOLBOX in done.stderr:
        raise ToolboxMissing(ToolError(argv, done.returncode, done.stderr, done.stdout))
    return parse_ok_to_stop(done.returncode, done.stdout, done.stderr, osds, argv)


def _change(gate: Gate, args: Sequence[str], why: str, about: str, unsure: str) -> None:
    with _through_toolbox():
        gate.change([*TOOLBOX, *args], timeout=CHANGE_TIMEOUT, why=why, about=about, unsure=unsure)


def set_flag(gate: Gate, flag: str, *, why: str = "") -> None:
    _change(gate, ["osd", "set", flag], why, f"the cluster-wide {flag}", "may be set")


def unset_flag(gate: Gate, flag: str, *, why: str = "") -> None:
    _change(gate, ["osd", "unset", flag], why, f"the cluster-wide {flag}", "may still be set")


def set_group(gate: Gate, flag: str, *who: str, why: str = "") -> None:
    """`flag` on CRUSH nodes (`worker-1`) or single OSDs (`osd.3`): `ceph osd set-group FLAG WHO...`."""
    _change(gate, ["osd", "set-group", flag, *who], why, _group(flag, who), "may be set")


def unset_group(gate: Gate, flag: str, *who: str, why: str = "") -> None:
    _change(gate, ["osd", "unset-group", flag, *who], why, _group(flag, who), "may still be set")


def _group(flag: str, who: Sequence[str]) -> str:
    return f"{flag} for host {', '.join(who)}"
