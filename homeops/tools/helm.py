"""helm: the one release the bootstrap installs by hand before Flux (Cilium)."""

from __future__ import annotations

import json
from typing import Sequence

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.decode import ToolOutputInvalid

READ_TIMEOUT = 30.0
WAIT_MARGIN = 60.0  # helm needs a moment beyond its own --timeout to report and exit


def parse_list(text: str, argv: Sequence[str]) -> list[dict]:
    """`helm list --output json`: an array of releases (name, namespace, status, chart "NAME-VERSION")."""
    try:
        releases = json.loads(text or "[]")
    except ValueError as exc:
        raise ToolOutputInvalid(argv, text, f"JSON ({exc})") from None
    if not isinstance(releases, list) or not all(isinstance(r, dict) for r in releases):
        raise ToolOutputInvalid(argv, text, "a JSON array of releases")
    return releases


def deployed_chart(release: str, namespace: str, chart: str, *, timeout: float = READ_TIMEOUT) -> str | None:
    """The chart version of `release` when Helm lists it deployed; None when it is not."""
    argv = ["helm", "list", "--namespace", namespace, "--filter", f"^{release}$", "--output", "json"]
    for found in parse_list(process.run(argv, timeout=timeout).stdout, argv):
        if found.get("name") == release and found.get("status") == "deployed":
            return str(found.get("chart", "")).removeprefix(f"{chart}-")
    return None


def upgrade_install(gate: Gate, release: str, chart: str, *, repo: str, version: str, namespace: str,
                    values: str, timeout: float, why: str = "") -> None:
    """Install or upgrade `release` and wait until its resources are ready (`--wait`)."""
    gate.change(["helm", "upgrade", "--install", release, chart, "--repo", repo, "--version", version,
                 "--namespace", namespace, "--values", values, "--wait", "--timeout", f"{timeout:g}s"],
                timeout=timeout + WAIT_MARGIN, why=why)
