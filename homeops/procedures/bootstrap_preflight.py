"""What must hold before the bootstrap changes anything, and where each node stands.

A node is in one of three states: in maintenance mode (booted from the install image, answering
only `--insecure` calls: it still needs its configuration), configured (it answers with this
project's talosconfig: an earlier run of the bootstrap applied its configuration, so this run
resumes after it), or unreachable. Nodes in maintenance mode are checked against cluster.yaml
before any is configured: the install disk and the OSD disks exist (by any of their names), the
NIC with the node's MAC is there. Nothing here changes anything, in plan mode or in apply mode.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from homeops.cluster.model import Cluster, Node
from homeops.procedures.bootstrap_files import Workspace, age_key_file
from homeops.procedures.checks import CheckResult, at_once, failed, passed, verdict
from homeops.tools import talosctl, workstation
from homeops.tools.process import ToolError
from homeops.tools.shapes import Disk, Link

MAINTENANCE, CONFIGURED, INSTALLING, UNREACHABLE = "maintenance", "configured", "installing", "unreachable"
GITHUB_TOKEN_ENV = "GITHUB_TOKEN"  # what `flux bootstrap github` reads (flux2 cmd/flux/bootstrap_github.go)
TOOLS = ("talosctl", "kubectl", "helm", "flux", "sops")
_AGE_SECRET = re.compile(r"^AGE-SECRET-KEY-1[0-9A-Z]+$", re.MULTILINE)
# age-keygen writes the public key as a comment above the secret one ("# public key: age1...").
_AGE_PUBLIC_COMMENT = re.compile(r"^# public key: (age1[0-9a-z]+)$", re.MULTILINE)


@dataclass(frozen=True)
class NodeState:
    node: Node
    state: str  # MAINTENANCE, CONFIGURED, INSTALLING (given its configuration, not back yet) or UNREACHABLE
    detail: str  # what the node answered, or why it did not
    disks: tuple[Disk, ...] = field(default=())
    links: tuple[Link, ...] = field(default=())


def node_state(node: Node, workspace: Workspace) -> NodeState:
    address = str(node.address)
    try:
        disks, links = at_once(partial(talosctl.disks_insecure, address), partial(talosctl.links_insecure, address))
        return NodeState(node, MAINTENANCE, f"maintenance mode at {address}", tuple(disks), tuple(links))
    except ToolError as insecure:
        not_insecure = str(insecure)
    if workspace.talosconfig.is_file():
        try:
            running = talosctl.version(address)
            return NodeState(node, CONFIGURED, f"configured, Talos {running.tag} (this project's talosconfig answers)")
        except ToolError as exc:
            if workspace.machine_config(node).is_file():
                # An interrupted run gave it its configuration: it installs and reboots, answering nothing meanwhile.
                return NodeState(node, INSTALLING, f"answers neither in maintenance mode nor with the talosconfig "
                                                   f"yet; {workspace.machine_config(node).name} was made by an "
                                                   f"earlier run: it may be installing ({exc})")
            return NodeState(node, UNREACHABLE, f"answers neither in maintenance mode ({not_insecure}) "
                                                f"nor with talos/generated/talosconfig ({exc})")
    return NodeState(node, UNREACHABLE, f"not in maintenance mode: {not_insecure}")


def node_states(cluster: Cluster, workspace: Workspace) -> list[NodeState]:
    return at_once(*(partial(node_state, node, workspace) for node in cluster.nodes))


def hardware(state: NodeState) -> CheckResult:
    """A node in maintenance mode has the install disk, the OSD disks and the NIC cluster.yaml gives."""
    node, check = state.node, f"node {state.node.name}"
    if state.state == CONFIGURED:
        return passed(check, f"{state.detail}: its configuration was applied by an earlier run, kept as it is")
    if state.state == INSTALLING:
        return CheckResult(check, "warn", f"{state.detail}; waited for below, not configured again")
    if state.state == UNREACHABLE:
        return failed(check, f"{state.detail}; boot it from the install image of the schematic, at its "
                             "cluster.yaml address (its DHCP reservation)")
    usable = [d for d in state.disks if not d.readonly and not d.cdrom]
    names = {name: disk for disk in usable for name in disk.names}
    problems = []
    install = names.get(str(node.install_disk))
    if install is None:
        problems.append(f"no disk {node.install_disk} (has {', '.join(d.dev_path for d in usable) or 'none'})")
    problems += [f"no OSD disk {osd}" for osd in node.osd_devices if str(osd) not in names]
    if install is not None and any(names.get(str(osd)) is install for osd in node.osd_devices):
        problems.append(f"the install disk {node.install_disk} is also an OSD disk")
    nic = None
    if node.mac_address is not None:
        mac = str(node.mac_address).lower()
        nic = next((link for link in state.links if mac in (link.hardware_addr, link.permanent_addr)), None)
        if nic is None:
            macs = ", ".join(f"{link.id} {link.hardware_addr}" for link in state.links if link.type == "ether")
            problems.append(f"no NIC with MAC {mac} (has {macs or 'none'})")
    found = f"install disk {node.install_disk}"
    if install is not None:
        found += f" ({install.model or install.id}, {install.size / 1e9:.0f} GB)"
    if nic is not None:
        found += f", NIC {nic.id} {nic.hardware_addr}"
    return verdict(check, problems, f"{state.detail}: {found}")


def age_key(cluster: Cluster, environ: dict | None = None) -> CheckResult:
    """The age private key is on this workstation, private, and the one `secrets.age_public_key` names."""
    path, check = age_key_file(environ), "age key"
    wanted = cluster.secrets.age_public_key
    if wanted is None:
        return failed(check, "cluster.yaml has no secrets.age_public_key: make the key (age-keygen), put its public "
                             "key there, run homeops render and commit")
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode & 0o077
    except OSError as exc:
        return failed(check, f"{path}: {exc.strerror or exc} (sops and the flux-system/sops-age Secret need it)")
    if not _AGE_SECRET.search(text):
        return failed(check, f"{path} holds no AGE-SECRET-KEY-1 line")
    publics = set(_AGE_PUBLIC_COMMENT.findall(text)) or _public_keys_of(path)
    if str(wanted) not in publics:
        return failed(check, f"{path} is not the key of secrets.age_public_key {wanted} "
                             f"(it holds {', '.join(sorted(publics)) or 'no readable public key'})")
    if mode:
        return CheckResult(check, "warn", f"{path} holds the key of {wanted}, but others may read it: chmod 600 it")
    return passed(check, f"{path} holds the key of {wanted}")


def _public_keys_of(path: Path) -> set[str]:
    try:
        return workstation.age_public_keys(path)
    except ToolError:
        return set()


def talos_secrets(cluster: Cluster, workspace: Workspace) -> CheckResult:
    """talos/secrets.sops.yaml is encrypted to the cluster's age key; or it will be made now."""
    check, path = "Talos secrets", workspace.secrets_sops
    if not path.exists():
        if workspace.secrets_plain.exists():
            return CheckResult(check, "warn", f"{workspace.secrets_plain} will be encrypted to {path.name}")
        return CheckResult(check, "warn", f"none yet: talosctl gen secrets, then sops --encrypt to {path.name}")
    problem = encryption_problem(path, str(cluster.secrets.age_public_key or ""))
    if problem:
        return failed(check, f"{path}: {problem}")
    return passed(check, f"{path.name} is SOPS-encrypted to {cluster.secrets.age_public_key}")


def encryption_problem(path: Path, recipient: str) -> str | None:
    """Why `path` is not a SOPS file encrypted to `recipient` (every value ENC[...]); None when it is."""
    from homeops.safe_yaml import read_file

    source = read_file(path)
    if source.data is None or source.problems:
        return f"not readable YAML ({source.problems[0].message if source.problems else 'empty'})"
    data = source.data
    if not isinstance(data, dict) or not isinstance(data.get("sops"), dict):
        return "not SOPS-encrypted (no sops: metadata): encrypt it, never commit it in clear"
    recipients = {str(entry.get("recipient")) for entry in data["sops"].get("age") or [] if isinstance(entry, dict)}
    if recipient not in recipients:
        return f"encrypted to {', '.join(sorted(recipients)) or 'no age key'}, not to {recipient}"
    clear = [key for key, value in _leaves({k: v for k, v in data.items() if k != "sops"})
             if not (isinstance(value, str) and value.startswith("ENC["))]
    if clear:
        return f"values in clear: {', '.join(clear[:5])}"
    return None


def _leaves(value, path: str = ""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def repository(cluster: Cluster) -> CheckResult:
    repo = cluster.repository
    if repo is None:
        return failed("repository", "cluster.yaml has no repository: flux bootstrap needs owner, name and branch")
    return passed("repository", f"{repo.owner}/{repo.name}, branch {repo.branch}")


def github_token(environ: dict | None = None) -> CheckResult:
    """GITHUB_TOKEN is set; never shown, not even in part (flux reads it from the environment)."""
    env = os.environ if environ is None else environ
    if not env.get(GITHUB_TOKEN_ENV, "").strip():
        return failed("GitHub access", f"{GITHUB_TOKEN_ENV} is not set: flux bootstrap github needs a token that may "
                                      "add a deploy key (repository administration and contents, read and write)")
    return passed("GitHub access", f"{GITHUB_TOKEN_ENV} is set (not shown)")


def tools() -> CheckResult:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    return verdict("tools", [f"not on PATH: {', '.join(missing)}"] if missing else [], f"{', '.join(TOOLS)} on PATH")


def render_clean(cluster: Cluster, config: Path) -> CheckResult:
    """The committed talos/ and kubernetes/ are what cluster.yaml renders (`homeops render --check`)."""
    from homeops.rendering.render import RenderFailed, differences, render

    project = config.parent
    try:
        stale = differences(project, render(project, config, cluster))
    except RenderFailed as exc:
        return failed("render", f"templates do not render: {str(exc).splitlines()[0]}")
    if stale:
        shown = "; ".join(str(d) for d in stale[:5]) + (f"; and {len(stale) - 5} more" if len(stale) > 5 else "")
        return failed("render", f"{len(stale)} file(s) are not what cluster.yaml renders (run homeops render, "
                                f"commit): {shown}")
    return passed("render", "talos/, kubernetes/ and .sops.yaml are what cluster.yaml renders")


def preflight(cluster: Cluster, workspace: Workspace, config: Path) -> tuple[list[CheckResult], list[NodeState]]:
    """Every check, and the state of each node (which the later steps follow)."""
    states = node_states(cluster, workspace)
    checks = [render_clean(cluster, config), tools()]
    checks += [hardware(state) for state in states]
    checks += [age_key(cluster), talos_secrets(cluster, workspace), repository(cluster), github_token()]
    configured = [s.node.name for s in states if s.state == CONFIGURED]
    if configured and not workspace.secrets_sops.exists():
        checks.append(failed("resume", f"{', '.join(configured)} already configured, but {workspace.secrets_sops} "
                                       "is missing: the configs of the other nodes must come from the same secrets"))
    return checks, states
