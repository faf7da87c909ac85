"""Version arithmetic the fake tools need: parsing, and which Kubernetes a Talos release runs."""

from __future__ import annotations

import re

from homeops.cluster import talos_support

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


def parse(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(text)
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def kubernetes_range(talos_version: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Oldest and newest Kubernetes minor a Talos release supports, from the shared support table.

    A real Talos newer than the table still knows its own range, so the twin extrapolates from the
    newest row, one Kubernetes minor per Talos minor, as Talos releases have done so far.
    """
    try:
        oldest, newest = talos_support.supported_kubernetes(talos_version)
    except talos_support.UnknownTalosVersion:
        _, minor, _ = parse(talos_version) or (1, 0, 0)
        (_, known_minor), (oldest, newest) = max(talos_support.KUBERNETES_BY_TALOS.items())
        oldest, newest = oldest + minor - known_minor, newest + minor - known_minor
    return (1, oldest), (1, newest)


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
