"""What to run once a pull request that moves Talos or Kubernetes in cluster.yaml is merged.

Renovate bumps `versions.talos` and `versions.kubernetes` in cluster.yaml; merging the bump changes
what the site and the rendered configuration say, not the cluster. The render workflow
(.github/workflows/render.yaml) compares the pull request's cluster.yaml with its base's and
comments with the runbooks that bring the cluster there, plan first, each with the version it
installs: Talos on the control plane, then on the workers, then Kubernetes, whose runbook checks
that the running Talos supports the new version.

    python -m homeops.upgrade_notice BASE_CLUSTER_YAML HEAD_CLUSTER_YAML   # prints the comment, or nothing
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from homeops.safe_yaml import read_source

# A hidden line the workflow looks for, so that a pull request gets the comment once.
MARKER = "<!-- homeops:upgrade-notice -->"

# (key under `versions`, what it is, the runbooks that install it in order, each with the
# parameter that names the version)
_UPGRADES = (
    ("talos", "Talos Linux", (("control-plane-upgrade", "talos_version"), ("worker-upgrade", "talos_version"))),
    ("kubernetes", "Kubernetes", (("kubernetes-upgrade", "to"),)),
)
_VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Move:
    """A version in cluster.yaml that the pull request changes."""

    key: str  # under `versions`
    name: str
    before: str | None  # None: the base had no readable version
    after: str
    runbooks: tuple[tuple[str, str], ...]

    @property
    def upward(self) -> bool:
        """Whether it moves to a later release (or from none); a downgrade has no runbook."""
        before, after = _release(self.before), _release(self.after)
        return before is None or after is None or after > before


def moves(base: str, head: str) -> list[Move]:
    """The Talos and Kubernetes versions that differ from `base` (cluster.yaml's text) to `head`."""
    before, after = _versions(base), _versions(head)
    return [Move(key, name, before.get(key), after[key], runbooks)
            for key, name, runbooks in _UPGRADES
            if after.get(key) is not None and after[key] != before.get(key)]


def notice(found: list[Move]) -> str:
    """The pull request comment for `found` (Markdown), or "" when nothing moved."""
    if not found:
        return ""
    lines = [MARKER, "**After merging, upgrade the cluster:** this pull request moves "
             + " and ".join(f"{m.name} from `{m.before or 'nothing'}` to `{m.after}`" for m in found) + "."]
    steps = [(move, runbook, parameter) for move in found if move.upward for runbook, parameter in move.runbooks]
    if steps:
        lines += ["", "Run on main once it is merged, in this order, each in plan mode first "
                  "(it prints every change and makes none), then with `--apply`:", "", "```sh"]
        for move, runbook, parameter in steps:
            command = f".venv/bin/homeops run {runbook} -p {parameter}={move.after}"
            lines += [command, f"{command} --apply"]
        lines += ["```", "", "Every runbook and its parameters: `.venv/bin/homeops runbooks`."]
    for move in found:
        if not move.upward:
            lines += ["", f"{move.name} goes down ({move.before} to {move.after}): no runbook downgrades it."]
    return "\n".join(lines) + "\n"


def _versions(text: str) -> dict[str, str]:
    data = read_source(text).data
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, dict):
        return {}
    return {key: value for key, value in versions.items() if isinstance(value, str)}


def _release(version: str | None) -> tuple[int, int, int] | None:
    found = _VERSION.fullmatch(version or "")
    return tuple(int(part) for part in found.groups()) if found else None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m homeops.upgrade_notice BASE_CLUSTER_YAML HEAD_CLUSTER_YAML", file=sys.stderr)
        return 2
    base, head = (Path(path).read_text(encoding="utf-8") for path in argv)
    sys.stdout.write(notice(moves(base, head)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
