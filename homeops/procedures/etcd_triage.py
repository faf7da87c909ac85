"""etcd-restore's first look, and its one refusal: a restore only when etcd has lost quorum.

Talos's disaster-recovery guide (v1.11, "Recovery") asks first whether etcd can be saved: the member
list on every healthy control plane (`talosctl etcd members`) and each one's service
(`talosctl service etcd`); "If the quorum can be restored, restoring quorum might be a better
strategy". So each control plane is asked, at its own address:
- `service etcd`: no answer means the node is lost (it cannot be wiped or restored onto: it comes
  back later with node-add); `Preparing` means its etcd waits with no data (a bootstrap, or to
  join); any other state (Running, Failed, Finished) means a data directory the reset must wipe;
- `etcd status`: a member answering with a leader and no error means etcd has quorum.
With quorum the restore is refused, changing nothing, unless the operator says why (`why`, said and
recorded): a restore throws away every change since the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeops.cluster.model import Cluster, Node
from homeops.errors import RunbookStopped
from homeops.procedures.checks import at_once
from homeops.tools import talos_recovery, talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import EtcdMember, EtcdStatus

PREPARING = "Preparing"
NO_LEADER = "0" * 16  # etcd status's LEADER when the member knows no leader


@dataclass(frozen=True)
class ControlPlane:
    node: Node
    service: str | None  # the etcd service's state; None when the node did not answer
    answer: str  # what the node answered (or why it did not), for the table and the record
    status: EtcdStatus | None = None
    status_error: str = ""

    @property
    def reachable(self) -> bool:
        return self.service is not None

    @property
    def has_data(self) -> bool:
        """Its etcd has (or may have) a data directory: anything but waiting in Preparing."""
        return self.reachable and self.service != PREPARING

    @property
    def healthy_member(self) -> bool:
        """A member that answers with a leader and no error: etcd has quorum."""
        status = self.status
        return status is not None and not status.errors and status.leader.strip("0") != ""


@dataclass(frozen=True)
class Triage:
    control_planes: tuple[ControlPlane, ...]
    members: tuple[EtcdMember, ...] | None  # the member list from the first node that gave it
    members_error: str = ""  # why no node gave it

    @property
    def quorum(self) -> bool:
        return any(cp.healthy_member for cp in self.control_planes)

    @property
    def reachable(self) -> list[ControlPlane]:
        return [cp for cp in self.control_planes if cp.reachable]

    @property
    def lost(self) -> list[ControlPlane]:
        return [cp for cp in self.control_planes if not cp.reachable]

    @property
    def with_data(self) -> list[ControlPlane]:
        return [cp for cp in self.control_planes if cp.has_data]

    def rows(self) -> list[tuple[str, str, str, str]]:
        listed = {m.hostname for m in self.members or ()}
        rows = [("node", "etcd service", "etcd status", "in member list")]
        for cp in self.control_planes:
            if cp.status is not None:
                status = cp.status.errors or ("healthy" if cp.healthy_member else "no leader")
            else:
                status = cp.status_error or "-"
            member = "?" if self.members is None else ("yes" if cp.node.name in listed else "no")
            rows.append((f"{cp.node.name} ({cp.node.address})", cp.service or f"no answer: {cp.answer}", status,
                         member))
        return rows

    def table(self) -> str:
        rows = self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows)


def _first_line(error: Exception) -> str:
    """Why a talosctl call failed, in one line: the `* IP: reason` of its multi-node error, or its last line."""
    text = getattr(error, "stderr", "") or getattr(error, "stdout", "") or str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reasons = [line[2:] for line in lines if line.startswith("* ")]
    return reasons[0] if reasons else lines[-1] if lines else type(error).__name__


def _look(node: Node) -> ControlPlane:
    address = str(node.address)
    try:
        service = talos_recovery.etcd_service(address)
    except ToolError as exc:
        return ControlPlane(node, None, _first_line(exc))
    try:
        statuses = talosctl.etcd_status(address)
    except ToolError as exc:
        return ControlPlane(node, service.state, service.health, None, _first_line(exc))
    mine = [s for s in statuses if s.node in ("", address)] or statuses
    return ControlPlane(node, service.state, service.health, mine[0] if mine else None,
                        "" if mine else "no status")


def _members(looked: list[ControlPlane]) -> tuple[tuple[EtcdMember, ...] | None, str]:
    errors = []
    for cp in looked:
        if not cp.reachable:
            continue
        try:
            return tuple(talosctl.etcd_members(str(cp.node.address))), ""
        except ToolError as exc:
            errors.append(f"{cp.node.name}: {_first_line(exc)}")
    return None, "; ".join(errors) or "no control plane answers"


def triage(cluster: Cluster) -> Triage:
    """Every control plane looked at (at once: each is a few read-only calls), then the member list."""
    control_planes = cluster.control_planes
    if not control_planes:
        raise RunbookStopped("refused: cluster.yaml has no control-plane node; nothing changed")
    looked = at_once(*(lambda node=node: _look(node) for node in control_planes))
    members, error = _members(looked)
    return Triage(tuple(looked), members, error)


def decide(session, found: Triage, why: str) -> str:
    """Go on (the sentence saying why) or stop, changing nothing: with quorum, without a reason; with
    no control plane answering (nothing to restore onto)."""
    why = (why or "").strip()
    if not found.reachable:
        raise RunbookStopped(
            "refused: no control-plane node answers (" + "; ".join(f"{cp.node.name}: {cp.answer}" for cp in found.lost)
            + "): a restore needs one running Talos to bootstrap etcd on; reinstall a control plane with its "
            "machine configuration (the backup holds it), then run etcd-restore again; nothing changed")
    if found.quorum:
        names = [cp.node.name for cp in found.control_planes if cp.healthy_member]
        healthy = f"{', '.join(names)} answer{'s' if len(names) == 1 else ''} with a leader"
        if not why:
            raise RunbookStopped(
                f"refused: etcd has quorum ({healthy}): bring the missing member back instead "
                "(Talos's guide: restoring quorum beats a disaster recovery), or, to throw away every change since "
                "the snapshot, re-run with -p why=\"the reason\" (recorded); nothing changed")
        return f"etcd has quorum ({healthy}), restored anyway because: {why}"
    lost = ", ".join(cp.node.name for cp in found.lost)
    decided = "etcd has no quorum: no member answers with a leader" + (f"; lost (no answer): {lost}" if lost else "")
    return decided + (f"; the operator's reason: {why}" if why else "")
