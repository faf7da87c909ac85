"""Where the bootstrap keeps what it makes on the workstation, all of it beside cluster.yaml.

Committed: `talos/secrets.sops.yaml` (the Talos secrets bundle, SOPS-encrypted to
`secrets.age_public_key`). Never committed (.gitignore, `rendering.tree.NOT_RENDERED`):
`talos/generated/` (the machine configs and talosconfig: they hold the cluster's keys, so the
directory is private), `kubeconfig`. The age private key stays where sops looks for it.

Against a twin (a rehearsal, a drill, `homeops lab --twin`), what the bootstrap writes goes into
the twin's directory instead (`TWIN/bootstrap-files/`, laid out the same): a rehearsal must never
leave a made-up secrets bundle or kubeconfig in the project, where it could be committed. What it
reads (the rendered patches and values, .sops.yaml) is always the project's.
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


TWIN_FILES = "bootstrap-files"


@dataclass(frozen=True)
class Workspace:
    project: Path  # the directory of cluster.yaml: what the bootstrap reads
    output: Path | None = None  # where it writes; None: the project itself

    @property
    def written(self) -> Path:
        return self.project if self.output is None else self.output

    @property
    def generated(self) -> Path:
        return self.written / "talos" / "generated"

    @property
    def secrets_sops(self) -> Path:
        return self.written / "talos" / "secrets.sops.yaml"

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
        return self.written / "kubeconfig"

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


def workspace_of(config: str | Path, environ: dict | None = None) -> Workspace:
    """The workspace of the cluster.yaml a session loaded (found as open_session finds it); against
    a twin, writing into the twin's directory."""
    from homeops.runner.guard import TWIN_ENV
    from homeops.runner.project import find_config, project_of

    env = os.environ if environ is None else environ
    twin = env.get(TWIN_ENV)
    return Workspace(project_of(find_config(config)), Path(twin) / TWIN_FILES if twin else None)
