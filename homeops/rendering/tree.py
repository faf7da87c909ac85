"""Which files the render owns, and which files under its directories it leaves alone.

`homeops render` replaces every owned file and removes owned files it no longer renders;
`--check` lists them. Files other steps write (flux bootstrap's manifests, talosctl's secrets and
generated configs, files you encrypted with sops) live beside the rendered ones and are never
touched, reported or required.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

TEMPLATES = "templates"
# The one template rendered once per node, to talos/nodes/<node name>.yaml.
PER_NODE = "talos/nodes/_node.yaml.j2"
PER_NODE_NAME = "_node.yaml.j2"


def per_node_output(name: str) -> str:
    return f"talos/nodes/{name}.yaml"


# What the render writes: whole directories, and single files at the top of the project.
OWNED_DIRECTORIES = ("talos", "kubernetes")
OWNED_FILES = (".sops.yaml",)

# (pattern relative to the project, who writes it). Every secret here is also in .gitignore,
# except *.sops.yaml, which sops encrypted and which is meant to be committed.
NOT_RENDERED: tuple[tuple[str, str], ...] = (
    ("talos/generated/*", "talosctl gen config / machineconfig patch (secrets: never committed)"),
    ("talos/secrets.yaml", "talosctl gen secrets (the cluster's CAs and tokens: never committed)"),
    ("kubernetes/flux/flux-system/gotk-components.yaml", "flux bootstrap (the render seeds a placeholder)"),
    ("kubernetes/flux/flux-system/gotk-sync.yaml", "flux bootstrap (the render seeds a placeholder)"),
    ("*/*.sops.yaml", "sops --encrypt (an encrypted secret you committed, under talos/ or kubernetes/)"),
)

# Written by `flux bootstrap`; the rendered flux-system/kustomization.yaml lists them. bootstrap applies that
# kustomization after writing gotk-components.yaml and before writing gotk-sync.yaml (fluxcd/flux2 v2.6.4
# pkg/bootstrap/bootstrap_plain_git.go, ReconcileComponents then ReconcileSyncConfig; flux2#1741), so both
# must exist first: the render seeds them as the empty placeholders of Flux's "Flux bootstrap customization"
# (fluxcd/website content/en/flux/installation/configuration/bootstrap-customization.md) when they are
# absent, and never touches them once flux bootstrap has written them.
BOOTSTRAP_WRITES = (
    "kubernetes/flux/flux-system/gotk-components.yaml",
    "kubernetes/flux/flux-system/gotk-sync.yaml",
)
SEEDED = BOOTSTRAP_WRITES

# Secrets you write and encrypt with sops yourself (the render never holds a secret value), by path:
# (namespace, Secret name, what it holds). The rendered kustomization beside each lists it, so Flux reports
# the file missing by name until it is committed; the bootstrap runbook checks for it first.
USER_SECRETS: dict[str, tuple[str, str, str]] = {
    "kubernetes/apps/external-secrets/store/cloudflare.sops.yaml": (
        "external-secrets", "cloudflare",
        "keys api-token (Cloudflare API token: Zone:Zone:Read and Zone:DNS:Edit) and tunnel-token "
        "(`cloudflared tunnel token`), read through the ClusterSecretStore"),
    # rendered (and listed) only when cluster.yaml has backups.s3
    "kubernetes/apps/backup/talos-backup/s3-credentials.sops.yaml": (
        "backup", "talos-backup-s3",
        "keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (an S3 key that may put objects into backups.s3.bucket "
        "under its prefix), read by talos-backup's CronJob"),
}


def not_rendered(relative: str) -> bool:
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern, _ in NOT_RENDERED)


def owned(relative: str) -> bool:
    if not_rendered(relative):
        return False
    return relative in OWNED_FILES or relative.split("/", 1)[0] in OWNED_DIRECTORIES


def existing_files(project: Path) -> dict[str, Path]:
    """Every owned file now in the project, by its path relative to the project (POSIX form)."""
    found: dict[str, Path] = {}
    for name in OWNED_FILES:
        if (project / name).is_file():
            found[name] = project / name
    for directory in OWNED_DIRECTORIES:
        root = project / directory
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() or path.is_symlink():
                relative = path.relative_to(project).as_posix()
                if owned(relative):
                    found[relative] = path
    return found
