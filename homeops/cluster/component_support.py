"""Which Kubernetes minors each pinned component release supports: the one table the validator reads.

Each row: (versions key, component minor) -> (lowest, highest) Kubernetes 1.x minor, highest None
when upstream states only a minimum. Every row names its upstream source. Add a row when a
component minor ships; a minor with no row is not judged (a warning would be a guess).
Standard library only, like talos_support.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeops.cluster.talos_support import minor_of


@dataclass(frozen=True)
class Support:
    component: str  # how messages name it
    lowest: int
    highest: int | None
    source: str


_ROOK = "rook/rook Documentation/Getting-Started/Prerequisites/prerequisites.md at tag"
_CILIUM = "cilium/cilium Documentation/network/kubernetes/compatibility.rst at"
_CERT_MANAGER = "cert-manager/website content/docs/releases/README.md (supported releases table, PR #2007)"
_FLUX = "fluxcd/flux2 cmd/flux/check.go kubernetesConstraints at tag"
_FLUX_RELEASE = "fluxcd/website (6da0f383c334) Supported Versions in content/en/blog/"

SUPPORT: dict[tuple[str, tuple[int, int]], Support] = {
    ("rook_ceph", (1, 16)): Support("Rook", 27, 32, f"{_ROOK} v1.16.3"),
    ("rook_ceph", (1, 17)): Support("Rook", 28, 33, f"{_ROOK} v1.17.8"),
    # v1.18.0-v1.18.2 said 1.29-1.33; v1.18.3 added 1.34. The row is the minor's latest statement.
    ("rook_ceph", (1, 18)): Support("Rook", 29, 34, f"{_ROOK} v1.18.3"),
    ("rook_ceph", (1, 19)): Support("Rook", 30, 35, f"{_ROOK} v1.19.10"),
    ("rook_ceph", (1, 20)): Support("Rook", 31, 36, f"{_ROOK} v1.20.6"),
    ("cilium", (1, 18)): Support("Cilium", 30, 33, f"{_CILIUM} v1.18.14"),
    ("cilium", (1, 19)): Support("Cilium", 32, 35, f"{_CILIUM} v1.19.3"),
    ("cert_manager", (1, 18)): Support("cert-manager", 29, 33, _CERT_MANAGER),
    ("cert_manager", (1, 19)): Support("cert-manager", 31, 35, _CERT_MANAGER),
    ("cert_manager", (1, 20)): Support("cert-manager", 32, 35, _CERT_MANAGER),
    # check.go states only a minimum; each minor's release announcement states the window it supports
    ("flux", (2, 6)): Support("Flux", 31, 33, f"{_FLUX_RELEASE}2025-05-29-announcing-flux-v2.6.0/index.md "
                                              f"(1.31, 1.32, 1.33; {_FLUX} v2.6.4: >=1.31.0-0)"),
    ("flux", (2, 7)): Support("Flux", 32, 34, f"{_FLUX_RELEASE}2025-09-29-announcing-flux-v2.7.0/index.md "
                                              f"(1.32, 1.33, 1.34; {_FLUX} v2.7.0: >=1.32.0-0)"),
}

COMPONENTS = ("flux", "cilium", "rook_ceph", "cert_manager")


def supports(support: Support, kubernetes_minor: int) -> bool:
    return support.lowest <= kubernetes_minor and (support.highest is None or kubernetes_minor <= support.highest)


def support_of(key: str, version: str) -> Support | None:
    return SUPPORT.get((key, minor_of(version)))


def lowest_supporting(key: str, kubernetes_minor: int) -> tuple[int, int] | None:
    """The lowest known minor of the component that supports the Kubernetes minor."""
    fitting = sorted(minor for (k, minor), s in SUPPORT.items() if k == key and supports(s, kubernetes_minor))
    return fitting[0] if fitting else None
