"""Version numbers the runbooks compare: parsing, and which Kubernetes each Talos minor supports."""

from __future__ import annotations

import re

from homeops.errors import RunbookStopped

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")

# Talos support matrix (siderolabs docs, "Support Matrix"): Talos minor -> (oldest, newest) Kubernetes minor.
KUBERNETES_SUPPORTED_BY_TALOS: dict[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]] = {
    (1, 8): ((1, 26), (1, 31)),
    (1, 9): ((1, 27), (1, 32)),
    (1, 10): ((1, 28), (1, 33)),
    (1, 11): ((1, 29), (1, 34)),
}


def parse_version(text: str, *, what: str) -> tuple[int, int, int]:
    match = _VERSION.match(text.strip())
    if not match:
        raise RunbookStopped(f"{what} {text!r} is not a version of the form vMAJOR.MINOR.PATCH; nothing changed")
    return int(match[1]), int(match[2]), int(match[3])


def minor(version: tuple[int, int, int]) -> str:
    return f"{version[0]}.{version[1]}"
