"""etcd around control-plane maintenance: the two-member refusal, the snapshot (etcd_backup's), health between nodes."""

from __future__ import annotations

from homeops.errors import RunbookStopped
from homeops.cluster.model import Node
from homeops.procedures import etcd_backup, waits
from homeops.procedures.checks import CheckResult
from homeops.procedures.preflight import etcd, etcd_member_list
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.runner.outcome import again_with

QUORUM_RISK = (
    "etcd has exactly 2 members: its quorum is 2, so while one control-plane node reboots etcd has no "
    "quorum and the Kubernetes API stops, and losing the other node meanwhile loses the cluster"
)
TWO_MEMBER_RISK = QUORUM_RISK + "; Talos itself refuses this upgrade without --force"


def voting_members(session: Session) -> int:
    """How many voting members etcd has now, as the cluster lists them (a learner does not count toward
    quorum); cluster.yaml's control-plane count only when no member answers (the etcd gate then stops)."""
    members, _ = etcd_member_list(session.cluster)
    if members is None:
        return len(session.cluster.control_planes)
    return sum(not m.learner for m in members)


def refuse_two_members(session: Session, accept_risk: bool, *, upgrade: bool = True) -> bool:
    """Stop on a 2-member etcd unless the operator accepted the risk; True when it is accepted (and an
    upgrade then needs --force).

    `upgrade`: the reboots are `talosctl upgrade`s, which Talos itself refuses without --force; otherwise
    (apply-config's reboots into a new configuration) Talos has no such check and the risk alone is said.
    Judged on the cluster's own member list, not cluster.yaml's count: a third control plane written
    into cluster.yaml but not joined yet (node-add) gives no fault tolerance, and one that has joined
    does (3 voting members, quorum 2: one may reboot)."""
    members = voting_members(session)
    if members != 2:
        return False
    risk = TWO_MEMBER_RISK if upgrade else QUORUM_RISK
    if not accept_risk:
        anyway = ("to upgrade anyway after an etcd snapshot" if upgrade
                  else "to reboot the control planes anyway, one at a time, after an etcd backup")
        raise RunbookStopped(
            f"refused: {risk}. Add a third control-plane node, or "
            f"{again_with('accept_two_member_etcd_risk', True)} {anyway}; nothing changed"
        )
    session.say(f"accepted risk: {risk}; " + ("upgrading with --force after a snapshot" if upgrade
                                               else "rebooting each control plane after an etcd backup"))
    return True


def take_snapshot(session: Session) -> etcd_backup.Backup:
    """The backup before an upgrade: etcd-backup's own code (health, encryption, manifest) into
    `backups/`, without retention: an upgrade never removes a backup."""
    return etcd_backup.take_backup(session, etcd_backup.DEFAULT_DESTINATION, keep=None,
                                   why="a copy of the cluster's state to restore from if the upgrade goes wrong")


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
