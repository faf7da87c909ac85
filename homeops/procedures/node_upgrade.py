"""Upgrading Talos on nodes, one at a time, each taken out of service and back the Ceph-safe way."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Callable, Sequence

from homeops.procedures import waits
from homeops.errors import RunbookStopped
from homeops.cluster.model import Node
from homeops.procedures.node_maintenance import (
    InPlace,
    current_state,
    interruptible,
    keep_protected,
    restore,
    return_to_service,
    stop,
    take_out_of_service,
)
from homeops.procedures.session import Session
from homeops.procedures.versions import kubernetes_minors, parse_version, tag, talos_step_refusal
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import kubectl, talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import NodeStatus


def select_nodes(session: Session, names: str, *, role: str) -> list[Node]:
    """The nodes of `role` named in the comma-separated `names` (all of them when empty), in cluster.yaml order."""
    of_role = [n for n in session.cluster.nodes if n.role == role]
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        if not of_role:
            raise RunbookStopped(f"cluster.yaml has no {role} node; nothing changed")
        return of_role
    known = {n.name: n for n in session.cluster.nodes}
    for name in wanted:
        if name not in known:
            raise RunbookStopped(f"no node named {name!r} in cluster.yaml (nodes: {', '.join(known)}); nothing changed")
        if known[name].role != role:
            raise RunbookStopped(f"{name} is a {known[name].role} node, not a {role}; nothing changed")
    return [n for n in of_role if n.name in wanted]


def target_version(session: Session, talos_version: str) -> str:
    """The Talos release to install, spelt as its tag (`1.11.2` -> `v1.11.2`); versions.talos when empty."""
    return tag(parse_version(talos_version.strip() or session.cluster.versions.talos, what="talos_version"))


def check_upgrade_path(session: Session, nodes: Sequence[Node], version: str) -> None:
    """Stop before any node is touched when one of `nodes` may not go to Talos `version` from what it runs.

    Refused: a downgrade, a jump of more than one Talos minor, a release whose Kubernetes range
    does not include the node's kubelet. Nodes already at `version` are skipped by the upgrade, so
    they are not judged here.
    """
    target = parse_version(version, what="talos_version")
    try:
        running = {n.name: n for n in kubectl.nodes()}
    except ToolError as exc:
        raise RunbookStopped(f"cannot read the nodes to check the Talos upgrade path: {exc}; nothing changed") from None
    refusals: dict[str, list[str]] = {}  # reason -> the nodes it applies to, so that a common reason reads once
    to_upgrade = []
    for node in nodes:
        status = running.get(node.name)
        if status is None:
            raise RunbookStopped(f"{node.name} is in cluster.yaml but not in the cluster; nothing changed")
        if status.talos_version is None:
            raise RunbookStopped(
                f"{node.name} does not report a Talos version (OS image {status.os_image!r}); nothing changed")
        now = parse_version(status.talos_version, what=f"{node.name}'s Talos version")
        if now == target:
            continue
        kubelet = parse_version(status.kubelet_version, what=f"{node.name}'s kubelet version")
        reason = talos_step_refusal(now, target, kubelet)
        if reason is None:
            to_upgrade.append(node.name)
        else:
            refusals.setdefault(reason, []).append(node.name)
    if refusals:
        raise RunbookStopped("refused: " + "; ".join(
            f"{', '.join(names)}: {reason}" for reason, names in refusals.items()) + "; nothing changed")
    if to_upgrade:
        lowest, highest = kubernetes_minors(target)
        session.say(f"upgrade path to Talos {version} checked for {', '.join(to_upgrade)}: no downgrade, "
                    f"at most one minor up, kubelets within Kubernetes 1.{lowest} to 1.{highest}")


def upgrade_node(session: Session, node: Node, version: str, *, force: bool = False, behind: str | None = None) -> bool:
    """Upgrade one node to Talos `version`; False when it already runs it (nothing is touched).

    `behind`: in a plan, the node an earlier run left out that this plan returns to service first.
    """
    try:
        before = kubectl.node(node.name)
    except ToolError as exc:
        raise stop(InPlace(node.name), "read the node", exc) from None
    if before.talos_version == version:
        left = current_state(node, cordoned=before.unschedulable)
        if not left.left_anything:
            session.say(f"{node.name}: already runs Talos {version}, skipped (no reboot)")
            return False
        # An earlier run stopped after the reboot: finish its job instead of leaving the node out.
        session.say(f"{node.name}: already runs Talos {version} but is still out of service "
                    f"({left.describe().removeprefix('left in place: ')}): "
                    + ("returning it to service" if session.apply else f"would return {node.name} to service first"))
        return_to_service(session, node, left)
        session.say(f"{node.name}: back in service" if session.apply else f"{node.name}: planned")
        return False
    session.say(f"{node.name}: Talos {before.talos_version} -> {version}")
    state = take_out_of_service(session, node, purpose=f"Talos upgrade to {version}", behind=behind)
    image = session.cluster.installer_image(version)
    # With --force on a 2-member etcd the reboot takes etcd's quorum and with it the Kubernetes API:
    # the lock is made to last through the reboot and the wait after it, which ride the API out.
    outage = session.covering(2 * session.wait_timeout + talosctl.UPGRADE_MARGIN,
                              f"{node.name}: the Talos upgrade and the wait for the node") if force else nullcontext()
    with outage, interruptible(state):
        _upgrade_and_wait(session, node, version, image, before, state, force)
    return_to_service(session, node, state)
    session.say(f"{node.name}: done" if session.apply else f"{node.name}: planned")
    return True


def _upgrade_and_wait(session: Session, node: Node, version: str, image: str, before: NodeStatus, state: InPlace,
                      force: bool) -> None:
    state.step = "talosctl upgrade"
    try:
        talosctl.upgrade(session.gate, str(node.address), image, timeout=session.wait_timeout, force=force,
                         why="install the new version to the other slot and reboot into it", node=node.name,
                         watch=lambda elapsed: node_seen(node.name, before))
    except ToolError as exc:
        if _undisturbed(node.name, before):
            restore(session, state)
            raise stop(state, "talosctl upgrade", f"{exc} (the node did not reboot)") from None
        why_out = _why_out(node.name)
        if not why_out.startswith(BACK):
            state.notes.append(may_be_rebooting(node))
        raise stop(state, "talosctl upgrade", f"{exc}{_node_detail(node.name)} ({why_out})") from None
    except KeyboardInterrupt:
        state.notes.append(may_be_rebooting(node))
        raise
    except RunbookStopped as exc:
        if getattr(exc, "in_doubt", None):  # interrupted once sent; not a refusal before it ran (a lost lock)
            state.notes.append(may_be_rebooting(node))
        raise
    what = f"{node.name} Ready with a new boot ID and Talos {version}"
    state.step = "wait for Ready"
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
    else:
        session.say(f"waiting for {what} (up to {session.wait_timeout:g}s)")
        def back() -> bool | str:
            keep_protected(session, state)
            now = kubectl.node(node.name)
            return _upgraded(now, before, version) or node_seen(node.name, before, now)

        try:
            wait_until(back, session.wait_timeout, session.poll_interval, what, progress=waits.progress(session, what))
        except WaitTimedOut as exc:
            state.notes.append(may_be_rebooting(node))
            raise stop(state, "wait for Ready", f"{exc}{_node_detail(node.name)}") from None
        except KeyboardInterrupt:
            state.notes.append(may_be_rebooting(node))
            raise


# A look of the watch while talosctl is silent answers well within the gate's rhythm (QUIET_SECONDS).
WATCH_TIMEOUT = 5.0


def node_seen(name: str, before: NodeStatus, now: NodeStatus | None = None) -> str:
    """The node as Kubernetes sees it during its upgrade: still up on its old boot, NotReady, back."""
    if now is None:
        try:
            now = kubectl.node(name, timeout=WATCH_TIMEOUT)
        except ToolError as exc:
            return f"{name}: the Kubernetes API does not answer ({str(exc).splitlines()[0]})"
    if not now.is_ready:
        return f"{name} NotReady (Ready={now.ready}): rebooting"
    if now.boot_id == before.boot_id:
        return f"{name} Ready on its old boot, Talos {now.talos_version}: installing, not rebooted yet"
    return f"{name} Ready on a new boot, Talos {now.talos_version}"


def may_be_rebooting(node: Node) -> str:
    """What a stop during an upgrade tells the operator: the node may not be done, and what to look at."""
    return (f"warning: {node.name} may still be rebooting: wait until `kubectl get node {node.name}` shows it Ready "
            f"before anything else; check by hand: `talosctl -n {node.address} get machinestatus`, "
            f"`kubectl get node {node.name}`, `kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph status`")


def upgrade_nodes(session: Session, nodes: Sequence[Node], version: str, *, force: bool = False,
                  between: Callable[[Node], None] | None = None) -> list[str]:
    """Check the upgrade path of every node, then upgrade them one after another.

    `between` (a callable) runs after each upgraded node.
    """
    check_upgrade_path(session, nodes, version)
    upgraded = []
    ordered, cordoned = _left_out_first(nodes)
    behind = None  # in a plan: the node left out by an earlier run, once this plan has returned it
    for node in ordered:
        if upgrade_node(session, node, version, force=force, behind=behind):
            upgraded.append(node.name)
            if between is not None:
                between(node)
        if not session.apply and node.name in cordoned:
            behind = node.name
    return upgraded


def _left_out_first(nodes: Sequence[Node]) -> tuple[list[Node], set[str]]:
    """A node an earlier run left cordoned is finished before any other is touched: two hosts away
    at once is what the one-node-at-a-time rule forbids. Also the names of the cordoned nodes."""
    try:
        cordoned = {n.name for n in kubectl.nodes() if n.unschedulable}
    except ToolError:
        return list(nodes), set()  # the first node's own read will say what is wrong
    return sorted(nodes, key=lambda n: n.name not in cordoned), cordoned


def summary(upgraded: list[str], nodes: Sequence[Node], version: str, *, apply: bool) -> str:
    skipped = [n.name for n in nodes if n.name not in upgraded]
    verb = "upgraded" if apply else "would upgrade"
    parts = [f"{verb} {', '.join(upgraded)} to Talos {version}" if upgraded else "nothing to upgrade"]
    if skipped:
        parts.append(f"already at {version}: {', '.join(skipped)}")
    return "; ".join(parts)


def _upgraded(now: NodeStatus, before: NodeStatus, version: str) -> bool:
    return now.is_ready and now.boot_id != before.boot_id and now.talos_version == version


def _undisturbed(name: str, before: NodeStatus) -> bool:
    """Still Ready on the same boot: the upgrade was refused before the node went down."""
    try:
        now = kubectl.node(name)
    except ToolError:
        return False
    return now.is_ready and now.boot_id == before.boot_id


BACK = "the node rebooted and is Ready again"


def _why_out(name: str) -> str:
    """Why a node the failed upgrade disturbed stays out of service: Ready again on a new boot (talosctl
    gave up while it rebooted) is not the same as gone, and the stop must not say it is."""
    try:
        back = kubectl.node(name).is_ready
    except ToolError:
        back = False
    gone = BACK if back else "the node went down and did not come back"
    return f"{gone}: it stays out of service"


def _node_detail(name: str) -> str:
    try:
        now = kubectl.node(name)
    except ToolError as exc:
        return f"; cannot read the node: {exc}"
    return f"; now Ready={now.ready}, Talos {now.talos_version}, boot ID {now.boot_id[:8] or '?'}"
