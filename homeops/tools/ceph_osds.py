"""Ceph's commands for removing an OSD and judging where copies can go, through the Rook toolbox:
`osd out|in`, `osd safe-to-destroy`, `osd purge`, `osd metadata`, `osd pool ls detail`,
`osd crush rule dump` (texts and exit codes from Ceph's `src/mgr/DaemonServer.cc` and
`src/mon/OSDMonitor.cc`; see tests/tools/fixtures/upstream/INDEX.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from homeops.gate import Gate
from homeops.tools import ceph, process
from homeops.tools.decode import json_document, json_object
from homeops.tools.process import ToolError


@dataclass(frozen=True)
class SafeToDestroy:
    safe: bool
    why: str  # what Ceph says when it is not: PGs still mapped, no stats, data still stored


@dataclass(frozen=True)
class OsdMetadata:
    osd: int
    hostname: str
    devices: tuple[str, ...]  # the kernel's names: ("nvme0n1",)


def _json(args: Sequence[str], timeout: float = ceph.READ_TIMEOUT):
    argv = [*ceph.TOOLBOX, *args, "-f", "json"]
    with ceph._through_toolbox():
        return json_document(process.run(argv, timeout=timeout).stdout, argv)


def pool_details() -> list[dict]:
    found = _json(["osd", "pool", "ls", "detail"])
    return found if isinstance(found, list) else []


def crush_rules() -> list[dict]:
    found = _json(["osd", "crush", "rule", "dump"])
    return found if isinstance(found, list) else []


def tree_document() -> dict:
    found = _json(["osd", "tree"])
    return found if isinstance(found, dict) else {}


def parse_metadata(document: dict, osd: int) -> OsdMetadata:
    devices = tuple(d for d in str(document.get("devices") or "").split(",") if d)
    return OsdMetadata(osd, str(document.get("hostname") or ""), devices)


def metadata(osd: int) -> OsdMetadata:
    return parse_metadata(json_object_of(["osd", "metadata", str(osd)]), osd)


def json_object_of(args: Sequence[str]) -> dict:
    argv = [*ceph.TOOLBOX, *args, "-f", "json"]
    with ceph._through_toolbox():
        return json_object(process.run(argv, timeout=ceph.READ_TIMEOUT).stdout, argv)


def parse_safe_to_destroy(document: dict, osd: int) -> SafeToDestroy:
    """`-f json` always answers with the four lists (exit 0); the OSD is safe only in `safe_to_destroy`."""
    if osd in (document.get("safe_to_destroy") or []):
        return SafeToDestroy(True, "")
    if osd in (document.get("active") or []):
        return SafeToDestroy(False, f"osd.{osd} still has PGs mapped to it")
    if osd in (document.get("stored_pgs") or []):
        return SafeToDestroy(False, f"osd.{osd} still stores PG data and not every PG is active+clean")
    if osd in (document.get("missing_stats") or []):
        return SafeToDestroy(False, f"osd.{osd} reports no stats and not every PG is active+clean")
    return SafeToDestroy(False, f"Ceph did not judge osd.{osd}")


def safe_to_destroy(osd: int) -> SafeToDestroy:
    argv = [*ceph.TOOLBOX, "osd", "safe-to-destroy", str(osd), "-f", "json"]
    done = process.run(argv, timeout=ceph.READ_TIMEOUT, check=False)
    if done.returncode:
        # EAGAIN before any judgement: "N pgs have unknown state; cannot draw any conclusions".
        lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("command terminated")]
        if 'deployments.apps "rook-ceph-tools" not found' in done.stderr:
            raise ceph.ToolboxMissing(ToolError(argv, done.returncode, done.stderr, done.stdout))
        return SafeToDestroy(False, "; ".join(lines) or f"exited {done.returncode}")
    return parse_safe_to_destroy(json_object(done.stdout, argv), osd)


def _change(gate: Gate, args: Sequence[str], why: str, about: str, unsure: str) -> None:
    with ceph._through_toolbox():
        gate.change([*ceph.TOOLBOX, *args], timeout=ceph.CHANGE_TIMEOUT, why=why, about=about, unsure=unsure)


def out(gate: Gate, osd: int, *, why: str = "") -> None:
    _change(gate, ["osd", "out", str(osd)], why, f"osd.{osd}", "may be marked out")


def mark_in(gate: Gate, osd: int, *, why: str = "") -> None:
    _change(gate, ["osd", "in", str(osd)], why, f"osd.{osd}", "may still be out")


def purge(gate: Gate, osd: int, *, why: str = "") -> None:
    _change(gate, ["osd", "purge", str(osd), "--yes-i-really-mean-it"], why, f"osd.{osd}", "may be purged")
