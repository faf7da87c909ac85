"""From nodes in maintenance mode to a Kubernetes API: apply each node's configuration, bootstrap
etcd exactly once, fetch the kubeconfig, wait for the API.

`talosctl bootstrap` starts etcd as a one-member cluster on the first control plane; the other
control planes then join it (as learners first, then members). Run twice, on a cluster that
already has etcd, it would split the cluster in two, so it is run only when no control plane
answers `etcd members`; Talos refuses a second one by itself too ("etcd data directory is not
empty"), which is taken as done, never as a failure to retry.
"""

from __future__ import annotations

from homeops.errors import RunbookStopped
from homeops.cluster.model import Cluster
from homeops.procedures.bootstrap_files import Workspace
from homeops.procedures import waits
from homeops.procedures.bootstrap_preflight import CONFIGURED, MAINTENANCE, NodeState
from homeops.procedures.checks import at_once
from homeops.procedures.preflight import etcd
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import kubectl, talosctl
from homeops.tools.process import ToolError


def _stop(step: str, detail: str, left: str) -> RunbookStopped:
    return RunbookStopped(f"bootstrap: stopped at step '{step}': {detail}; left in place: {left}; "
                          "run the bootstrap again to resume")


def apply_configs(session: Session, workspace: Workspace, states: list[NodeState]) -> list[str]:
    """`apply-config --insecure` to each node still in maintenance mode, in cluster.yaml order."""
    applied = []
    for state in states:
        node = state.node
        if state.state != MAINTENANCE:
            session.say(f"{node.name}: {state.detail}: not configured again")
            continue
        try:
            talosctl.apply_config_insecure(
                session.gate, str(node.address), str(workspace.machine_config(node)),
                why=f"{node.name} installs Talos to {node.install_disk} and reboots into its configuration")
        except ToolError as exc:
            done = ", ".join(applied) or "none"
            raise _stop(f"apply-config {node.name}", str(exc), f"configured in this run: {done}") from None
        applied.append(node.name)
    return applied


def _talos_up(cluster: Cluster, address: str) -> bool:
    return talosctl.version(address).tag == cluster.versions.talos


def wait_installed(session: Session, states: list[NodeState]) -> None:
    """Every node answers with this project's talosconfig, running versions.talos from its install disk."""
    cluster = session.cluster
    what = f"every node installed and answering on Talos {cluster.versions.talos}"

    def look() -> bool | str:
        answers = at_once(*(lambda n=n: _answer(cluster, str(n.address)) for n in cluster.nodes))
        waiting = [f"{n.name} {a}" for n, a in zip(cluster.nodes, answers) if a != "up"]
        return not waiting or f"{len(cluster.nodes) - len(waiting)} of {len(cluster.nodes)} up; {', '.join(waiting)}"

    try:
        waits.wait_for(session, what, look)
    except WaitTimedOut as exc:
        raise _stop("wait for the nodes", str(exc), "the configurations applied; nodes still installing") from None


def _answer(cluster: Cluster, address: str) -> str:
    try:
        tag = talosctl.version(address).tag
    except ToolError:
        return "not answering yet"
    return "up" if tag == cluster.versions.talos else f"runs {tag}"


def etcd_running(cluster: Cluster) -> list[str]:
    """The control planes where etcd answers with members: anything here means etcd was bootstrapped."""
    def members(address: str):
        try:
            return talosctl.etcd_members(address)
        except ToolError:
            return []

    found = at_once(*(lambda cp=cp: members(str(cp.address)) for cp in cluster.control_planes))
    return [f"{cp.name} ({', '.join(m.hostname for m in answer)})"
            for cp, answer in zip(cluster.control_planes, found) if answer]


def bootstrap_etcd(session: Session) -> str:
    """`talosctl bootstrap` on the first control plane, only when etcd runs nowhere."""
    first = session.cluster.control_planes[0]
    running = etcd_running(session.cluster)
    if running:
        return f"etcd already runs on {running[0]}: not bootstrapped again"  # one member's list names them all
    already: list[str] = []

    def attempt() -> bool | str:
        try:
            talosctl.bootstrap(session.gate, str(first.address),
                               why="start etcd on one node, once for the life of the cluster; the others join it")
        except ToolError as exc:
            if talosctl.ALREADY_BOOTSTRAPPED in str(exc):
                already.append(first.name)
                return True
            if talosctl.NOT_AVAILABLE_YET in str(exc):
                return f"{first.name} is still booting (Talos: {talosctl.NOT_AVAILABLE_YET})"
            raise _stop("talosctl bootstrap", str(exc), "every node configured, etcd not bootstrapped") from None
        return True

    what = f"etcd bootstrapped on {first.name}"
    try:
        wait_until(attempt, session.wait_timeout, session.poll_interval, what, progress=waits.progress(session, what))
    except WaitTimedOut as exc:
        raise _stop("talosctl bootstrap", str(exc), "every node configured, etcd not bootstrapped") from None
    if already:
        return f"etcd was already bootstrapped on {first.name} (Talos: {talosctl.ALREADY_BOOTSTRAPPED})"
    return f"planned: bootstrap etcd on {first.name}" if not session.apply else f"bootstrapped etcd on {first.name}"


def wait_etcd(session: Session) -> None:
    """Every control plane a voting etcd member (learners promoted), each answering without errors."""
    what = f"etcd: {len(session.cluster.control_planes)} members, none a learner"

    def look() -> bool | str:
        failing = [f"{r.check}: {r.detail}" for r in etcd(session.cluster) if r.failed]
        return not failing or "; ".join(failing)

    try:
        waits.wait_for(session, what, look)
    except WaitTimedOut as exc:
        raise _stop("wait for etcd", str(exc), "etcd bootstrapped") from None


def fetch_kubeconfig(session: Session, workspace: Workspace) -> str:
    path = workspace.kubeconfig
    if path.exists():
        return f"kept: {path}"
    first = session.cluster.control_planes[0]
    try:
        talosctl.kubeconfig(session.gate, str(first.address), str(path),
                            why="the admin kubeconfig of the new cluster (ignored by Git)")
    except ToolError as exc:
        raise _stop("kubeconfig", str(exc), "etcd bootstrapped") from None
    return f"{'planned' if not session.apply else 'written'}: {path}"


def wait_api(session: Session) -> None:
    """The Kubernetes API answers and lists every node (NotReady until Cilium runs)."""
    names = {n.name for n in session.cluster.nodes}
    what = f"the Kubernetes API listing all {len(names)} nodes"

    def look() -> bool | str:
        seen = {n.name for n in kubectl.nodes()}
        return names <= seen or f"{len(seen & names)} of {len(names)} nodes registered"

    try:
        waits.wait_for(session, what, look)
    except WaitTimedOut as exc:
        raise _stop("wait for the API", str(exc), "etcd bootstrapped, kubeconfig written") from None


def configured_summary(states: list[NodeState]) -> str:
    kept = [s.node.name for s in states if s.state == CONFIGURED]
    return f"already configured: {', '.join(kept)}" if kept else "every node was in maintenance mode"
