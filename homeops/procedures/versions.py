"""Version numbers the runbooks compare: parsing, the Talos upgrade path, and the Kubernetes a Talos release runs.

Which Kubernetes minors each Talos minor supports lives in one place, `homeops.cluster.talos_support.supported_kubernetes`
(cluster.yaml's own check uses it too); this module only turns its answers into runbook decisions.
"""

from __future__ import annotations

import re

from homeops.cluster import talos_support
from homeops.errors import RunbookStopped

Version = tuple[int, int, int]

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


def parse_version(text: str, *, what: str) -> Version:
    match = _VERSION.match(text.strip())
    if not match:
        raise RunbookStopped(f"{what} {text!r} is not a version of the form vMAJOR.MINOR.PATCH; nothing changed")
    return int(match[1]), int(match[2]), int(match[3])


def tag(version: Version) -> str:
    """The release tag as Talos and Kubernetes spell it: (1, 11, 1) -> "v1.11.1"."""
    return f"v{version[0]}.{version[1]}.{version[2]}"


def minor(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def kubernetes_minors(talos: Version, *, where: str = "") -> tuple[int, int]:
    """The (lowest, highest) Kubernetes 1.x minor Talos `talos` supports; stops when the table does not know it.

    `where` ("running on cp-1", "the target talos_version v1.12.0") says in the message whose Talos it is.
    """
    try:
        return talos_support.supported_kubernetes(tag(talos))
    except talos_support.UnknownTalosVersion:
        whose = f" ({where})" if where else ""
        raise RunbookStopped(
            f"cannot check: Talos v{minor(talos)} {_place_in_table(talos)}; update homeops/cluster/talos_support.py{whose}; "
            "nothing changed"
        ) from None


def _place_in_table(talos: Version) -> str:
    # talos_support exposes the lookup only, so whether the table stops below this minor is found by asking it.
    for older in range(talos[1] - 1, -1, -1):
        try:
            talos_support.supported_kubernetes(tag((talos[0], older, 0)))
        except talos_support.UnknownTalosVersion:
            continue
        return "is newer than the support table"
    return "is not in the support table"


def in_range(kubernetes: Version, minors: tuple[int, int]) -> bool:
    lowest, highest = minors
    return kubernetes[0] == 1 and lowest <= kubernetes[1] <= highest


def talos_step_refusal(running: Version, target: Version, kubelet: Version) -> str | None:
    """Why a node running Talos `running` with `kubelet` must not go to Talos `target`; None when it may.

    Talos is upgraded one minor at a time ("step through the latest patch of each minor"), never
    backwards, and only to a release whose Kubernetes range includes the kubelet the node runs.
    """
    if target < running:
        return f"Talos {tag(running)} -> {tag(target)} is a downgrade, which this runbook does not do"
    if target[0] != running[0] or target[1] - running[1] > 1:
        next_minor = f"v{running[0]}.{running[1] + 1}.x"
        return (f"Talos {tag(running)} -> {tag(target)} jumps more than one minor version: step through the latest "
                f"patch of each minor, upgrade to the latest {next_minor} first")
    lowest, highest = kubernetes_minors(target, where=f"the target talos_version {tag(target)}")
    if not in_range(kubelet, (lowest, highest)):
        advice = "upgrade Kubernetes first" if kubelet[:2] < (1, lowest) else "choose a newer Talos"
        return (f"Talos {tag(target)} supports Kubernetes 1.{lowest} to 1.{highest}, not the kubelet {tag(kubelet)} "
                f"(now on Talos {tag(running)}): {advice}")
    return None
