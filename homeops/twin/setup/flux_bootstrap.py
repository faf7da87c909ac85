"""The twin's `flux bootstrap github`: Flux's controllers in the cluster, flux-system reconciling the repository.

What it prints goes to stderr as flux's does (► ✔ ◎ lines); nothing reaches GitHub. The token must
be in GITHUB_TOKEN, as the real command reads it (the twin never prompts for it).
"""

from __future__ import annotations

import os
import sys

from homeops.twin import cluster
from homeops.twin.args import Flag
from homeops.twin.failure import ToolFailure
from homeops.twin.setup import progress

FLAGS = [Flag("owner"), Flag("repository"), Flag("branch"), Flag("path"), Flag("personal", None, False),
         Flag("token-auth", None, False), Flag("components-extra")]


def bootstrap(parsed, twin_dir: str, current: dict) -> int:
    words = parsed.positionals[1:]
    if words != ["github"]:
        raise ToolFailure(f"✗ the homeops twin's flux bootstraps from github only, not {words}")
    missing = [name for name in ("owner", "repository", "path") if not parsed.value(name)]
    if missing:
        raise ToolFailure(f'✗ required flag(s) "{missing[0]}" not set')
    if not os.environ.get("GITHUB_TOKEN"):
        raise ToolFailure("✗ GITHUB_TOKEN is not set (the homeops twin does not prompt for a token)")
    owner, repository = parsed.value("owner"), parsed.value("repository")
    branch, path = parsed.value("branch", "main"), parsed.value("path")
    for line in (f"► connecting to github.com", f"► cloning branch \"{branch}\" from Git repository "
                 f"\"https://github.com/{owner}/{repository}.git\"", "✔ cloned repository",
                 f"► generating component manifests", f"✔ generated component manifests",
                 f"✔ committed component manifests to \"{branch}\"", "► installing components in \"flux-system\" namespace",
                 "✔ installed components", f"✔ reconciled components", f"► configuring deploy key",
                 f"✔ configured deploy key \"flux-system-{branch}-flux-system-./{path}\"",
                 "► generating sync manifests", "✔ reconciled sync configuration",
                 "◎ waiting for GitRepository \"flux-system/flux-system\" to be reconciled",
                 "✔ GitRepository reconciled successfully",
                 "◎ waiting for Kustomization \"flux-system/flux-system\" to be reconciled",
                 "✔ Kustomization reconciled successfully", "✔ bootstrap finished"):
        sys.stderr.write(line + "\n")
    with cluster.changing(twin_dir) as (state, now):
        setup = progress.editable(state)
        if not setup["flux"]:
            setup["flux_since"] = now  # from here Flux brings the rendered tree up in order (flux/reconcile.py)
        setup["flux"] = True
        if "flux-system" not in setup["namespaces"]:
            setup["namespaces"].append("flux-system")
    return 0
