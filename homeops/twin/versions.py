"""Version arithmetic the fake tools need: parsing, and which Kubernetes a Talos release runs."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


def parse(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(text)
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def kubernetes_range(talos_version: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Oldest and newest Kubernetes minor a Talos release supports.

    Talos 1.M supports the six Kubernetes minors 1.(M+18) to 1.(M+23): Talos 1.11 runs 1.29 to
    1.34, Talos 1.10 runs 1.28 to 1.33 (Talos support matrix).
    """
    _, minor, _ = parse(talos_version) or (1, 0, 0)
    return (1, minor + 18), (1, minor + 23)


def kubernetes_supported(talos_version: str, kubernetes_version: str) -> str | None:
    """None when Talos runs that Kubernetes, else why not (the words Talos uses)."""
    k8s = parse(kubernetes_version)
    oldest, newest = kubernetes_range(talos_version)
    if k8s is None:
        return f"invalid Kubernetes version {kubernetes_version!r}"
    if k8s[:2] > newest:
        return (
            f"version of Kubernetes {kubernetes_version.lstrip('v')} is too new to be used with Talos {talos_version}"
        )
    if k8s[:2] < oldest:
        return (
            f"version of Kubernetes {kubernetes_version.lstrip('v')} is too old to be used with Talos {talos_version}"
        )
    return None
