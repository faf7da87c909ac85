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

from homeops.errors import RunbookStopped
from homeops.procedures.bootstrap_files import Workspace
from homeops.procedures.bootstrap_preflight import MAINTENANCE, NodeState, encryption_problem
from homeops.procedures.session import Session
from homeops.tools.process import ToolError

GEN_TIMEOUT = 120.0


def _change(session: Session, argv: list[str], step: str, why: str) -> None:
    try:
        session.gate.change(argv, timeout=GEN_TIMEOUT, why=why)
    except ToolError as exc:
        raise RunbookStopped(f"bootstrap: stopped at step '{step}': {exc}; the cluster was not touched") from None


def _sops(workspace: Workspace, *args: str) -> list[str]:
    # sops looks for .sops.yaml from its working directory up; the rendered one is named outright.
    return ["sops", "--config", str(workspace.project / ".sops.yaml"), *args]


def secrets_bundle(session: Session, workspace: Workspace) -> str:
    """talos/secrets.sops.yaml exists and is encrypted: made now (generated, then encrypted) when missing."""
    target = workspace.secrets_sops
    if target.exists():
        return f"kept: {target.name} (the secrets every configuration is made from)"
    if session.apply:
        workspace.make_generated()
    plain = workspace.secrets_plain
    if not plain.exists():
        _change(session, ["talosctl", "gen", "secrets", "--output-file", str(plain)], "gen secrets",
                "the cluster's certificate authorities and tokens, made once")
    # sops picks its creation rule by the file name; the input's name matches none (sops v3.10.2 README,
    # --filename-override), so the rule for talos/*.sops.yaml is asked for by name.
    _change(session, _sops(workspace, "--encrypt", "--filename-override", str(target), "--output", str(target),
                           str(plain)), "encrypt secrets", f"encrypted to the age key of cluster.yaml, to commit")
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
    if session.apply:
        workspace.make_generated()
    plain = workspace.secrets_plain
    # In plan mode a bundle that secrets_bundle would make now stays in clear for this step, as in apply mode.
    if not plain.exists() and (session.apply or workspace.secrets_sops.exists()):
        _change(session, _sops(workspace, "--decrypt", "--output", str(plain), str(workspace.secrets_sops)),
                "decrypt secrets", "the bundle in clear, only inside the private talos/generated/")
    endpoint = f"https://{cluster.network.control_plane_vip}:6443"
    common = ["talosctl", "gen", "config", cluster.cluster.name, endpoint, "--with-secrets", str(plain),
              "--kubernetes-version", cluster.versions.kubernetes.removeprefix("v"),
              "--install-image", cluster.installer_image(),
              "--with-docs=false", "--with-examples=false", "--force"]
    try:
        for node in cluster.nodes:
            patches = ["--config-patch", f"@{workspace.patch('all')}"]
            if node.role == "control-plane":
                patches += ["--config-patch-control-plane", f"@{workspace.patch('controlplane')}"]
            patches += ["--config-patch", f"@{workspace.node_patch(node)}"]
            kind = "controlplane" if node.role == "control-plane" else "worker"
            _change(session, [*common, *patches, "--output-types", kind, "--output", str(workspace.machine_config(node))],
                    f"gen config {node.name}", f"{node.name}'s own configuration ({kind})")
        _change(session, [*common, "--output-types", "talosconfig", "--output", str(workspace.talosconfig)],
                "gen talosconfig", "the client configuration of this cluster, for talosctl")
        talosconfig = ["talosctl", "--talosconfig", str(workspace.talosconfig), "config"]
        _change(session, [*talosconfig, "endpoint", *(str(n.address) for n in cluster.control_planes)],
                "talosconfig endpoints", "talosctl reaches the cluster through the control planes' own addresses")
        _change(session, [*talosconfig, "node", str(cluster.control_planes[0].address)],
                "talosconfig node", "the node talosctl asks when none is named")
    finally:
        if session.apply and plain.exists():
            plain.unlink(missing_ok=True)  # the configurations hold what they need; no clear bundle left behind
    if not session.apply:
        return f"planned: {len(cluster.nodes)} machine configurations and the talosconfig in {workspace.generated}"
    return f"made: {len(cluster.nodes)} machine configurations and the talosconfig in {workspace.generated}"
