"""Upgrading Kubernetes with `talosctl upgrade-k8s`: the path check, the dry run, the kubelet check."""

from __future__ import annotations

from homeops.procedures import waits
from homeops.errors import RunbookStopped
from homeops.procedures.session import Session
from homeops.procedures.versions import in_range, kubernetes_minors, minor, parse_version, tag
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import kubectl, talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import NodeStatus


def read_nodes() -> list[NodeStatus]:
    try:
        return kubectl.nodes()
    except ToolError as exc:
        raise RunbookStopped(f"cannot read the nodes: {exc}; nothing changed") from None


def check_path(session: Session, to: str, nodes: list[NodeStatus]) -> str:
    """The target version, after refusing a jump of more than one minor or a version Talos does not run."""
    target_text = to.strip() or session.cluster.versions.kubernetes
    target = parse_version(target_text, what="to")
    target_text = tag(target)
    running = sorted(parse_version(n.kubelet_version, what=f"{n.name}'s kubelet version") for n in nodes)
    if not running:
        raise RunbookStopped("the cluster reports no node; nothing changed")
    oldest = running[0]
    if target[:2] < oldest[:2]:
        raise RunbookStopped(
            f"refused: {target_text} is older than the running Kubernetes {minor(oldest)} "
            "(downgrades are not supported); nothing changed")
    if target[0] != oldest[0] or target[1] - oldest[1] > 1:
        raise RunbookStopped(
            f"refused: {minor(oldest)} -> {target_text} jumps more than one minor version; upgrade-k8s only "
            f"supports the same or the next minor: upgrade to the latest {oldest[0]}.{oldest[1] + 1}.x first; "
            "nothing changed")
    for n in nodes:
        if n.talos_version is None:
            raise RunbookStopped(f"{n.name} does not report a Talos version (OS image {n.os_image!r}); nothing changed")
        talos = parse_version(n.talos_version, what=f"{n.name}'s Talos version")
        lowest, highest = kubernetes_minors(talos, where=f"running on {n.name}")
        if not in_range(target, (lowest, highest)):
            raise RunbookStopped(
                f"refused: Talos {n.talos_version} on {n.name} supports Kubernetes 1.{lowest} to 1.{highest}, "
                f"not {target_text}; upgrade Talos first; nothing changed")
    return target_text


def upgrade(session: Session, to: str, nodes: list[NodeStatus]) -> str:
    """Dry-run (both modes), then upgrade-k8s through the gate and wait for every kubelet at `to`."""
    behind = [n.name for n in nodes if n.kubelet_version != to]
    if not behind:
        return f"every kubelet already runs {to}: nothing to do"
    address = str(session.cluster.control_planes[0].address)
    try:
        session.say(talosctl.upgrade_k8s_dry_run(address, to))
    except ToolError as exc:
        raise RunbookStopped(
            f"Kubernetes upgrade: stopped at step 'upgrade-k8s --dry-run': {exc}; nothing changed") from None
    try:
        talosctl.upgrade_k8s(session.gate, address, to,
                             why=f"move the control plane and the kubelets of {', '.join(behind)}")
    except ToolError as exc:
        raise RunbookStopped(
            f"Kubernetes upgrade: stopped at step 'upgrade-k8s': {exc}; "
            "upgrade-k8s can be re-run safely once the cause is fixed") from None
    what = f"every kubelet at {to}"
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
        return f"would upgrade Kubernetes to {to} on {', '.join(behind)}"
    try:
        wait_until(lambda: _kubelets_at(to), session.wait_timeout, session.poll_interval, what,
                   progress=waits.progress(session, what))
    except WaitTimedOut as exc:
        lagging = _lagging(to)
        raise RunbookStopped(f"Kubernetes upgrade: stopped at step 'verify kubelets': {exc}{lagging}; "
                             "upgrade-k8s can be re-run safely") from None
    return f"upgraded Kubernetes to {to}: every kubelet runs {to}"


def _kubelets_at(to: str) -> bool | str:
    """True when every kubelet runs `to` and is Ready; otherwise what a look saw: those still behind."""
    nodes = kubectl.nodes()
    behind = [n for n in nodes if n.kubelet_version != to or not n.is_ready]
    if not behind:
        return True
    return (f"{len(nodes) - len(behind)} of {len(nodes)} at {to}; not yet: "
            + ", ".join(f"{n.name} ({n.kubelet_version}, Ready={n.ready})" for n in behind))


def _lagging(to: str) -> str:
    try:
        return "; " + ", ".join(f"{n.name} runs {n.kubelet_version} (Ready={n.ready})"
                                for n in kubectl.nodes() if n.kubelet_version != to or not n.is_ready)
    except ToolError as exc:
        return f"; cannot read the nodes: {exc}"
