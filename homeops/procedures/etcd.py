"""etcd around control-plane maintenance: the two-member refusal, the snapshot, health between nodes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from homeops.procedures import waits
from homeops.errors import RunbookStopped
from homeops.cluster.model import Node
from homeops.procedures.checks import CheckResult
from homeops.procedures.preflight import etcd
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import talosctl
from homeops.tools.process import ToolError

TWO_MEMBER_RISK = (
    "etcd has exactly 2 members: its quorum is 2, so while one control-plane node reboots etcd has no "
    "quorum and the Kubernetes API stops, and losing the other node meanwhile loses the cluster; Talos "
    "itself refuses this upgrade without --force"
)


def refuse_two_members(session: Session, accept_risk: bool) -> bool:
    """Stop on a 2-member etcd unless the operator accepted the risk; True when --force is needed."""
    members = len(session.cluster.control_planes)
    if members != 2:
        return False
    if not accept_risk:
        raise RunbookStopped(
            f"refused: {TWO_MEMBER_RISK}. Add a third control-plane node, or re-run with "
            "-p accept_two_member_etcd_risk=True to upgrade anyway after an etcd snapshot; nothing changed"
        )
    session.say(f"accepted risk: {TWO_MEMBER_RISK}; upgrading with --force after a snapshot")
    return True


def snapshot_path(now: float | None = None) -> Path:
    """Where the snapshot goes: beside the run's record (HOMEOPS_ARTIFACTS), else records/."""
    directory = Path(os.environ.get("HOMEOPS_ARTIFACTS") or "records")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    return directory / f"etcd-{stamp}.snapshot"


def take_snapshot(session: Session, node: Node) -> Path:
    path = snapshot_path()
    if session.apply:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        talosctl.etcd_snapshot(session.gate, str(node.address), str(path),
                               why="a copy of the cluster's state to restore from if the upgrade goes wrong")
    except ToolError as exc:
        raise RunbookStopped(f"{node.name}: stopped at step 'etcd snapshot': {exc}; nothing changed") from None
    if session.apply:
        if not path.is_file() or path.stat().st_size == 0:
            raise RunbookStopped(
                f"{node.name}: stopped at step 'etcd snapshot': {path} was not written; nothing changed")
        session.say(f"etcd snapshot saved: {path} ({path.stat().st_size} bytes)")
    return path


def _healthy(results: list[CheckResult]) -> bool:
    return not any(r.failed for r in results)


def _healthy_or_seen(results: list[CheckResult]) -> bool | str:
    """True when every etcd check passed; otherwise what failed, for the wait's progress line."""
    return _healthy(results) or "; ".join(f"{r.check}: {r.detail}" for r in results if r.failed)


def wait_healthy(session: Session, after: Node) -> None:
    """Between two control-plane nodes: every member back and answering, before the next one goes down."""
    what = "etcd: every member healthy"
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
        return
    session.say(f"waiting for {what} (up to {session.wait_timeout:g}s)")
    try:
        wait_until(lambda: _healthy_or_seen(etcd(session.cluster)), session.wait_timeout, session.poll_interval,
                   what, progress=waits.progress(session, what))
    except WaitTimedOut as exc:
        failures = "; ".join(f"{r.check}: {r.detail}" for r in etcd(session.cluster) if r.failed)
        raise RunbookStopped(
            f"{after.name}: stopped at step 'wait for etcd healthy': {exc}: {failures}; "
            "left in place: nothing (the node was upgraded and uncordoned); the next node was not touched"
        ) from None
