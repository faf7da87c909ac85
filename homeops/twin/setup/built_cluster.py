"""What the bootstrap would have left on the workstation of a twin made already built: the cluster's
Talos secrets bundle, SOPS-encrypted to `secrets.age_public_key`, in the twin's `bootstrap-files/`
(where a rehearsal's bootstrap writes it). node-add makes a new node's configuration from it, so a
rehearsal of node-add finds it there, made-up and never in the project."""

from __future__ import annotations

import json
from pathlib import Path

from homeops.twin.setup import sops
from homeops.twin.talos import machine_config

BUNDLE = Path("bootstrap-files") / "talos" / "secrets.sops.yaml"  # homeops.procedures.bootstrap_files' layout


def seed(directory: Path, nodes: list[dict], age_public_key: str | None, cluster_name: str) -> None:
    """Write the bundle when some control plane is already configured (the cluster was bootstrapped) and
    none is there yet; a twin whose every machine waits in maintenance mode gets none (the bootstrap makes it).
    It is the bundle the twin's running nodes were configured from (`machine_config.made_up_bundle`), so
    apply-config finds each node's own machine CA in it."""
    built = any(n["role"] == "control-plane" and not n.get("maintenance") for n in nodes)
    target = directory / BUNDLE
    if not built or not age_public_key or target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(sops.encrypted(machine_config.made_up_bundle(cluster_name), str(age_public_key)), indent=2) + "\n")
