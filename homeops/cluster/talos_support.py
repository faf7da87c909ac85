"""Which Kubernetes minors each Talos minor supports: the one table the validator, the runbooks and
the twin share.

Standard library only: the twin's fake tools import it on every call.
"""

from __future__ import annotations

# Talos "Support Matrix": Talos 1.11 runs Kubernetes 1.29 to 1.34. Add a row when a Talos minor ships.
KUBERNETES_BY_TALOS: dict[tuple[int, int], tuple[int, int]] = {
    (1, 8): (26, 31),
    (1, 9): (27, 32),
    (1, 10): (28, 33),
    (1, 11): (29, 34),
}


class UnknownTalosVersion(LookupError):
    """No Kubernetes support range is known for this Talos minor."""


def minor_of(version: str) -> tuple[int, int]:
    major, minor, *_ = version.lstrip("v").split(".")
    return int(major), int(minor)


def supported_kubernetes(talos_version: str) -> tuple[int, int]:
    """The (lowest, highest) Kubernetes 1.x minor the Talos release supports: "v1.11.1" -> (29, 34)."""
    try:
        talos_minor = minor_of(talos_version)
    except ValueError:
        raise UnknownTalosVersion(f"{talos_version!r} is not a Talos version such as v1.11.1") from None
    if talos_minor not in KUBERNETES_BY_TALOS:
        known = ", ".join(f"{major}.{minor}" for major, minor in KUBERNETES_BY_TALOS)
        raise UnknownTalosVersion(
            f"no Kubernetes support range is known for Talos {talos_minor[0]}.{talos_minor[1]} (known: {known})"
        )
    return KUBERNETES_BY_TALOS[talos_minor]
