"""The Talos secrets bundle and the machine configurations made from it, on the workstation.

The bundle (`talosctl gen secrets`: the cluster's CAs and tokens) is made once and kept
SOPS-encrypted in Git as talos/secrets.sops.yaml, so the configurations can be made again at any
time from the same secrets. It is in clear only inside the private talos/generated/ while the
configurations are made, and removed afterwards. Each node's configuration is `talosctl gen
config` with the rendered patches (talos/patches/all.yaml, controlplane.yaml for control planes,
then talos/nodes/NAME.yaml), as docs/getting-started/initial-setup.md shows them.

Writing files changes nothing in the cluster, but plan mode only shows them, as it shows the
etcd snapshot: a plan leaves the workstation as it found it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from homeops.cluster.model import Cluster, Node
from homeops.errors import RunbookStopped
from homeops.procedures.bootstrap_files import Workspace
from homeops.procedures.bootstrap_preflight import MAINTENANCE, NodeState, encryption_problem
from homeops.procedures.session import Session
from homeops.tools import talosctl, workstation
from homeops.tools.process import ToolError


def _step(step: str, change, *args, runbook: str = "bootstrap", **kwargs) -> None:
    try:
        change(*args, **kwargs)
    except ToolError as exc:
        raise RunbookStopped(f"{runbook}: stopped at step '{step}': {exc}; the cluster was not touched") from None


def secrets_bundle(session: Session, workspace: Workspace) -> str:
    """talos/secrets.sops.yaml exists and is encrypted: made now (generated, then encrypted) when missing."""
    target = workspace.secrets_sops
    if target.exists():
        return f"kept: {target.name} (the secrets every configuration is made from)"
    if session.apply:
        workspace.make_generated()
    plain = workspace.secrets_plain
    if not plain.exists():
        _step("gen secrets", talosctl.gen_secrets, session.gate, str(plain),
              why="the cluster's certificate authorities and tokens, made once")
    _step("encrypt secrets", workstation.sops_encrypt, session.gate, workspace.sops_config, plain, target,
          why="encrypted to the age key of cluster.yaml, to commit")
    if session.apply:
        problem = encryption_problem(target, str(session.cluster.secrets.age_public_key or ""))
        if problem:
            raise RunbookStopped(f"bootstrap: stopped at step 'encrypt secrets': {target}: {problem}; "
                                 "the cluster was not touched")
        return f"made: {target.name}: commit it (encrypted); the clear copy stays in the private talos/generated/"
    return f"planned: make {target.name}"


def needed(workspace: Workspace, states: list[NodeState]) -> bool:
    """Configurations are (re)made while a node still waits for its own, or the talosconfig is missing."""
    return any(s.state == MAINTENANCE for s in states) or not workspace.talosconfig.exists()


def generate(session: Session, workspace: Workspace, states: list[NodeState]) -> str:
    """Each node's machine configuration and the talosconfig, from the secrets bundle and the rendered patches."""
    cluster = session.cluster
    if not needed(workspace, states):
        return "kept: every node is configured and talos/generated/talosconfig exists"
    # In plan mode a bundle that secrets_bundle would make now stays in clear for this step, as in apply mode.
    with bundle_in_clear(session, workspace, session.apply or workspace.secrets_sops.exists()) as plain:
        common = common_args(cluster, plain)
        for node in cluster.nodes:
            node_config(session, workspace, node, plain)
        _step("gen talosconfig", talosctl.gen_config, session.gate,
              [*common, "--output-types", "talosconfig", "--output", str(workspace.talosconfig)],
              why="the client configuration of this cluster, for talosctl")
        _step("talosconfig endpoints", talosctl.config_endpoints, session.gate, str(workspace.talosconfig),
              [str(n.address) for n in cluster.control_planes], str(cluster.control_planes[0].address),
              why="talosctl reaches the cluster through the control planes' own addresses (the VIP needs etcd)")
    if not session.apply:
        return f"planned: {len(cluster.nodes)} machine configurations and the talosconfig in {workspace.generated}"
    return f"made: {len(cluster.nodes)} machine configurations and the talosconfig in {workspace.generated}"


@contextmanager
def bundle_in_clear(session: Session, workspace: Workspace, decrypt: bool, runbook: str = "bootstrap"):
    """The secrets bundle in clear inside the private talos/generated/ while configurations are made
    from it (decrypted there when `decrypt` and not already in clear), removed afterwards in apply mode."""
    if session.apply:
        workspace.make_generated()
    plain = workspace.secrets_plain
    if not plain.exists() and decrypt:
        _step("decrypt secrets", workstation.sops_decrypt, session.gate, workspace.sops_config,
              workspace.secrets_sops, plain, why="the bundle in clear, only inside the private talos/generated/",
              runbook=runbook)
    try:
        yield plain
    finally:
        if session.apply and plain.exists():
            plain.unlink(missing_ok=True)  # the configurations hold what they need; no clear bundle left behind


def kind_of(node: Node) -> str:
    return "controlplane" if node.role == "control-plane" else "worker"


def common_args(cluster: Cluster, secrets: Path) -> list[str]:
    """What every `talosctl gen config` of this cluster is given: name, endpoint, bundle, versions."""
    return [cluster.cluster.name, f"https://{cluster.network.control_plane_vip}:6443", "--with-secrets", str(secrets),
            "--kubernetes-version", cluster.versions.kubernetes.removeprefix("v"),
            "--install-image", cluster.installer_image(),
            "--with-docs=false", "--with-examples=false", "--force"]


def node_args(cluster: Cluster, workspace: Workspace, node: Node, secrets: Path, output: Path) -> list[str]:
    """`talosctl gen config` of one node: the rendered patches (all, controlplane for control planes, its own)."""
    patches = ["--config-patch", f"@{workspace.patch('all')}"]
    if node.role == "control-plane":
        patches += ["--config-patch-control-plane", f"@{workspace.patch('controlplane')}"]
    patches += ["--config-patch", f"@{workspace.node_patch(node)}"]
    return [*common_args(cluster, secrets), *patches, "--output-types", kind_of(node), "--output", str(output)]


def node_config(session: Session, workspace: Workspace, node: Node, plain: Path, runbook: str = "bootstrap") -> Path:
    """`talosctl gen config` of one node into the private talos/generated/."""
    target = workspace.machine_config(node)
    _step(f"gen config {node.name}", talosctl.gen_config, session.gate,
          node_args(session.cluster, workspace, node, plain, target),
          why=f"{node.name}'s own configuration ({kind_of(node)})", runbook=runbook)
    return target
