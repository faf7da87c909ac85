"""node-add: one machine of cluster.yaml, booted in maintenance mode, joins the running cluster.

Where the node stands decides what is done, so a re-run never does a step twice: a node Kubernetes
already lists is not configured again (the waits below only confirm it joined); a node in maintenance
mode is checked against cluster.yaml (install disk, OSD disks, the NIC's MAC: the bootstrap's own
check) before anything changes; one that answers neither way is not booted, and the run stops saying
how to boot it. A control plane gets a fresh encrypted backup first (etcd-backup's code) and only
joins a healthy etcd. Its configuration is the bootstrap's: `talosctl gen config` from the cluster's
secrets bundle (talos/secrets.sops.yaml) with the rendered patches, then `apply-config --insecure`.
Joined means: a worker Ready on versions.talos with its OSDs up and every PG clean again (Ceph moves
data onto them); a control plane an etcd learner, then a voting member, every member healthy, Ready
on versions.talos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from homeops.cluster.model import Cluster, Node
from homeops.errors import RunbookStopped
from homeops.procedures import bootstrap_preflight, etcd_backup, machine_configs, osd_placement, preflight, waits
from homeops.procedures.bootstrap_files import Workspace
from homeops.procedures.bootstrap_preflight import MAINTENANCE, NodeState
from homeops.procedures.checks import CheckResult, at_once, failed, guarded, passed
from homeops.procedures.etcd import voting_members
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import ceph, kubectl, talosctl
from homeops.tools.process import ToolError

RUNBOOK = "node-add"
IN_KUBERNETES = "in Kubernetes"


@dataclass(frozen=True)
class Standing:
    """Where the node stands before this run changes anything."""

    node: Node
    state: str  # IN_KUBERNETES, or one of bootstrap_preflight's MAINTENANCE, CONFIGURED, INSTALLING, UNREACHABLE
    detail: str
    machine: NodeState | None = None  # what it answered when not in Kubernetes
    registered: frozenset[str] = frozenset()  # the nodes Kubernetes lists now

    @property
    def needs_config(self) -> bool:
        return self.state == MAINTENANCE


@dataclass
class Joined:
    """What this run did, for the summary."""

    node: Node
    changed: list[str] = field(default_factory=list)
    backup: etcd_backup.Backup | None = None


def chosen_node(session: Session, name: str) -> Node:
    """The node of cluster.yaml named `name`: the one that joins."""
    cluster = session.cluster
    names = ", ".join(n.name for n in cluster.nodes)
    if not name.strip():
        raise RunbookStopped(f"no node given: pass -p node=NAME, a node of cluster.yaml ({names}); nothing changed")
    try:
        return cluster.node(name.strip())
    except KeyError:
        raise RunbookStopped(
            f"refused: no node named {name.strip()!r} in cluster.yaml (nodes: {names}): add it there first (name, "
            "role, address, install_disk, mac_address, osd_devices), run homeops render, commit and push, then boot "
            "it in maintenance mode; nothing changed") from None


def without(cluster: Cluster, keep) -> Cluster:
    """cluster.yaml with only the nodes `keep(node)` accepts."""
    data = cluster.model_dump(mode="json")
    data["nodes"] = [n for n, node in zip(data["nodes"], cluster.nodes) if keep(node)]
    return type(cluster).model_validate(data)


def running(cluster: Cluster, standing_: Standing, *, joined: bool = False) -> Cluster:
    """cluster.yaml as far as the cluster has it: the nodes Kubernetes lists, and with `joined` the new one.
    Other nodes of cluster.yaml that are not in the cluster yet are added by runs of their own."""
    return without(cluster, lambda n: n.name in standing_.registered or (joined and n.name == standing_.node.name))


def _registered(name: str):
    return next((n for n in kubectl.nodes() if n.name == name), None)


def standing(node: Node, workspace: Workspace) -> Standing:
    """In Kubernetes already (a re-run), or what the machine answers (the bootstrap's reading of it)."""
    try:
        listed = kubectl.nodes()
    except ToolError as exc:
        raise RunbookStopped(f"{node.name}: cannot read the cluster's nodes: {exc}; nothing changed") from None
    registered = frozenset(n.name for n in listed)
    status = next((n for n in listed if n.name == node.name), None)
    if status is not None:
        return Standing(node, IN_KUBERNETES, f"already in Kubernetes ({'Ready' if status.is_ready else 'not Ready'}, "
                                             f"Talos {status.talos_version or status.os_image})",
                        registered=registered)
    machine = bootstrap_preflight.node_state(node, workspace)
    return Standing(node, machine.state, machine.detail, machine, registered)


def _secrets_bundle(cluster: Cluster, workspace: Workspace) -> CheckResult:
    """The new node's configuration must come from the cluster's own secrets, kept encrypted in Git."""
    check, path = "Talos secrets", workspace.secrets_sops
    if not path.is_file():
        return failed(check, f"{path} is missing: a new node's configuration is made from the secrets bundle the "
                             "bootstrap kept there (restore it from Git); a new bundle would make another cluster")
    problem = bootstrap_preflight.encryption_problem(path, str(cluster.secrets.age_public_key or ""))
    if problem:
        return failed(check, f"{path}: {problem}")
    return passed(check, f"{path.name} is SOPS-encrypted to {cluster.secrets.age_public_key}")


def _machine(standing_: Standing) -> CheckResult:
    if standing_.machine is None:
        return passed(f"node {standing_.node.name}", f"{standing_.detail}: not configured again")
    return bootstrap_preflight.hardware(standing_.machine)


def _cluster_health(before: Cluster) -> list[CheckResult]:
    """The running cluster can take a new node: its nodes Ready, etcd's members healthy, Ceph clean, Flux Ready."""
    nodes, etcd_results, ceph_results, flux_results = at_once(
        partial(guarded, "nodes Ready", lambda: [preflight.nodes_ready(kubectl.nodes())]),
        partial(preflight.etcd, before),
        preflight.ceph_health,
        preflight.flux_ready,
    )
    return nodes + [r for r in etcd_results if r.check != "etcd fault tolerance"] + ceph_results + flux_results


def checks(session: Session, workspace: Workspace, config: Path, standing_: Standing) -> list[CheckResult]:
    """Everything that must hold before the node is configured; nothing to hold when it already joined."""
    if not standing_.needs_config:
        return [_machine(standing_)]
    cluster = session.cluster
    results = [bootstrap_preflight.render_clean(cluster, config), _machine(standing_),
               _secrets_bundle(cluster, workspace), bootstrap_preflight.age_key(cluster)]
    pending = [n.name for n in cluster.nodes if n.name not in standing_.registered and n.name != standing_.node.name]
    if pending:
        results.append(CheckResult("other new nodes", "warn", f"also in cluster.yaml, not in the cluster yet: "
                                                               f"{', '.join(pending)} (each joins by a run of its own)"))
    return results + _cluster_health(running(cluster, standing_))


def backup_first(session: Session, standing_: Standing) -> etcd_backup.Backup | None:
    """A control plane about to join etcd: a fresh encrypted backup of the running cluster first."""
    node = standing_.node
    if not standing_.needs_config:
        session.say(f"{node.name} is not configured again: no backup needed")
        return None
    if node.role != "control-plane":
        session.say(f"{node.name} is a worker: etcd does not change, no backup needed")
        return None
    before = Session(running(session.cluster, standing_), session.gate, session.wait_timeout, session.poll_interval,
                      session.guard, session.project)
    return etcd_backup.take_backup(before, etcd_backup.DEFAULT_DESTINATION, keep=None,
                                   why=f"the cluster's state before {node.name} joins etcd, to restore from")


def configure(session: Session, workspace: Workspace, standing_: Standing, joined: Joined) -> None:
    """The node's machine configuration from the cluster's secrets bundle, then `apply-config --insecure`."""
    node = standing_.node
    if not standing_.needs_config:
        session.say(f"{node.name}: {standing_.detail}: not configured again")
        return
    with machine_configs.bundle_in_clear(session, workspace, True, runbook=RUNBOOK) as plain:
        made = machine_configs.node_config(session, workspace, node, plain, runbook=RUNBOOK)
    try:
        talosctl.apply_config_insecure(
            session.gate, str(node.address), str(made),
            why=f"{node.name} installs Talos {session.cluster.versions.talos} to {node.install_disk} and reboots "
                "into its configuration")
    except ToolError as exc:
        doubt = getattr(exc, "in_doubt", None)
        left = doubt or "nothing: the node is still in maintenance mode"
        raise RunbookStopped(f"{node.name}: stopped at step 'apply-config': {exc}; left in place: {left}") from None
    if session.apply:
        joined.changed.append(f"configured {node.name} (apply-config --insecure)")


def _stop(node: Node, step: str, detail: str, left: str) -> RunbookStopped:
    return RunbookStopped(f"{node.name}: stopped at step '{step}': {detail}; left in place: {left}; run node-add "
                          "again to go on waiting")


def _wait(session: Session, node: Node, what: str, look, step: str, left: str, hint: str = "") -> None:
    if not session.apply:
        session.gate.would_wait(what, session.wait_timeout)
        return
    report = waits.progress(session, what)
    last: list[str] = []

    def heard(seen: str) -> None:
        last[:] = [seen]
        report(seen)

    try:
        wait_until(look, session.wait_timeout, session.poll_interval, what, progress=heard)
    except WaitTimedOut as exc:
        # wait_until reports every look before it may time out: something was seen.
        raise _stop(node, step, f"{exc}; last seen: {last[-1]}{hint}", left) from None
    session.say(f"{what}: yes")


def ready_on_talos(session: Session, node: Node) -> bool | str:
    """True when the node is Ready in Kubernetes on versions.talos; otherwise what it shows."""
    status = _registered(node.name)
    if status is None:
        return "not registered with Kubernetes yet"
    wanted = session.cluster.versions.talos
    if not status.is_ready:
        return f"registered, Ready={status.ready}"
    if status.talos_version != wanted:
        return f"Ready on Talos {status.talos_version or status.os_image}, not {wanted}"
    return True


class _EtcdJoin:
    """A control plane's membership as etcd lists it: absent, learner (said once), voting."""

    def __init__(self, session: Session, node: Node):
        self.session, self.node, self.learner_seen = session, node, False

    def __call__(self) -> bool | str:
        members, errors = preflight.etcd_member_list(self.session.cluster)
        if members is None:
            return f"no member answers: {'; '.join(errors)}"
        mine = next((m for m in members if m.hostname == self.node.name), None)
        if mine is None:
            return f"not an etcd member yet (members: {', '.join(sorted(m.hostname for m in members))})"
        if mine.learner:
            if not self.learner_seen:
                self.learner_seen = True
                self.session.say(f"{self.node.name}: joined etcd as a learner (member {mine.id}); Talos promotes it "
                                 "once it has caught up")
            return "an etcd learner, not promoted yet"
        return True


def _etcd_healthy(after: Cluster) -> bool | str:
    failing = [f"{r.check}: {r.detail}" for r in preflight.etcd(after) if r.failed]
    return "; ".join(failing) or True


def _osds_up(node: Node) -> bool | str:
    found = osd_placement.placement(node.name)
    if len(found.osds) < node.osd_count:
        return f"{len(found.osds)} of {node.osd_count} OSDs prepared by Rook"
    down = sorted(set(found.osds) & set(ceph.osd_tree().down_osds))
    if down:
        return f"OSDs {', '.join(map(str, down))} down"
    return True


def _pgs_clean() -> bool | str:
    status = ceph.status()
    return True if status.pgs_clean else f"{status.health}, PGs not clean: {status.unclean_pgs}"


def wait_joined(session: Session, standing_: Standing) -> None:
    """Until the node has joined: a control plane in etcd (learner, then voting, every member healthy), then
    Ready on versions.talos; a worker Ready on versions.talos, its OSDs up and every PG clean."""
    node, talos = standing_.node, session.cluster.versions.talos
    left = f"{node.name} configured, joining" if standing_.needs_config else f"{node.name} as it was"
    if node.role == "control-plane":
        _wait(session, node, f"{node.name} a voting etcd member", _EtcdJoin(session, node), "wait for etcd", left)
        _wait(session, node, "etcd: every member healthy", partial(_etcd_healthy, running(session.cluster, standing_,
                                                                                          joined=True)),
              "wait for etcd health", left)
    _wait(session, node, f"{node.name} Ready on Talos {talos}", partial(ready_on_talos, session, node),
          "wait for the node", left)
    if node.role == "control-plane":
        return
    if node.osd_count:
        _wait(session, node, f"{node.osd_count} OSD(s) of {node.name} up", partial(_osds_up, node),
              "wait for its OSDs", left,
              hint=" (Rook prepares OSDs only on the nodes the rook-ceph-cluster HelmRelease lists, rendered from "
                   "cluster.yaml: is the render committed and pushed, and has Flux reconciled it?)")
    _wait(session, node, "every Ceph PG active+clean", _pgs_clean, "wait for Ceph", left)


def summary(session: Session, joined: Joined, standing_: Standing) -> str:
    node = joined.node
    if not session.apply:
        if not standing_.needs_config:
            return f"plan: {node.name} is {standing_.detail}: nothing to change"
        return f"plan: {node.name} would be configured and join the cluster; nothing changed"
    if not joined.changed:
        return f"{node.name} had already joined ({standing_.detail}): nothing changed"
    lines = [f"{node.name} joined the cluster: " + "; ".join(joined.changed)]
    if joined.backup is not None and joined.backup.directory is not None:
        lines.append(f"  backup before it joined: {joined.backup.directory}")
    if node.role == "control-plane":
        count = voting_members(session)
        quorum = count // 2 + 1
        lines.append(f"  etcd: {count} members, quorum {quorum}: tolerates {count - quorum} member(s) down")
    return "\n".join(lines)

