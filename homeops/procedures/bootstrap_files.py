"""Where the bootstrap keeps what it makes on the workstation, all of it beside cluster.yaml.

Committed: `talos/secrets.sops.yaml` (the Talos secrets bundle, SOPS-encrypted to
`secrets.age_public_key`). Never committed (.gitignore, `rendering.tree.NOT_RENDERED`):
`talos/generated/` (the machine configs and talosconfig: they hold the cluster's keys, so the
directory is private), `kubeconfig`. The age private key stays where sops looks for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from homeops.cluster.model import Node

# sops' own default on Linux ($XDG_CONFIG_HOME/sops/age/keys.txt), overridden by SOPS_AGE_KEY_FILE
# (getsops/sops v3.10.2 README, "Encrypting using age").
AGE_KEY_ENV = "SOPS_AGE_KEY_FILE"
CILIUM_VALUES = "kubernetes/apps/kube-system/cilium/app/values.yaml"


def age_key_file(environ: dict | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(AGE_KEY_ENV):
        return Path(env[AGE_KEY_ENV]).expanduser()
    config_home = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return config_home / "sops" / "age" / "keys.txt"


@dataclass(frozen=True)
class Workspace:
    project: Path  # the directory of cluster.yaml

    @property
    def generated(self) -> Path:
        return self.project / "talos" / "generated"

    @property
    def secrets_sops(self) -> Path:
        return self.project / "talos" / "secrets.sops.yaml"

    @property
    def secrets_plain(self) -> Path:
        """Where the bundle is in clear while configs are generated: inside the private talos/generated/."""
        return self.generated / "secrets.yaml"

    @property
    def sops_config(self) -> Path:
        return self.project / ".sops.yaml"

    @property
    def talosconfig(self) -> Path:
        return self.generated / "talosconfig"

    @property
    def kubeconfig(self) -> Path:
        return self.project / "kubeconfig"

    @property
    def cilium_values(self) -> Path:
        return self.project / CILIUM_VALUES

    def machine_config(self, node: Node) -> Path:
        return self.generated / f"{node.name}.yaml"

    def node_patch(self, node: Node) -> Path:
        return self.project / "talos" / "nodes" / f"{node.name}.yaml"

    def patch(self, name: str) -> Path:
        return self.project / "talos" / "patches" / f"{name}.yaml"

    def make_generated(self) -> None:
        self.generated.mkdir(parents=True, exist_ok=True)
        self.generated.chmod(0o700)

    def use_credentials(self) -> None:
        """This run's talosctl, kubectl, helm and flux talk to the cluster being bootstrapped, whatever
        TALOSCONFIG and KUBECONFIG the workstation had (only this kernel's environment changes)."""
        os.environ["TALOSCONFIG"] = str(self.talosconfig)
        os.environ["KUBECONFIG"] = str(self.kubeconfig)


def workspace_of(config: str | Path) -> Workspace:
    """The workspace of the cluster.yaml a session loaded (found as open_session finds it)."""
    from homeops.runner.project import find_config, project_of

    return Workspace(project_of(find_config(config)))
