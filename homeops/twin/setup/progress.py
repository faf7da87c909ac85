"""Where the bootstrap stands in the twin's state (state["setup"]), and what it means for the rest."""

from __future__ import annotations

SOPS_SECRET = "flux-system/sops-age"
CILIUM = "kube-system/cilium"


def not_started() -> dict:
    """The state of a cluster that is yet to be bootstrapped (every node in maintenance mode)."""
    return {"namespaces": ["default", "kube-system"], "secrets": [], "helm": {}, "applied": [], "flux": False}


def of(state: dict) -> dict:
    """state["setup"]; else, for a twin made in maintenance mode (no CNI yet), nothing done, and for a
    twin made bootstrapped, all of it."""
    found = state.get("setup")
    if found is not None:
        return found
    if state.get("cni") is False:
        return not_started()
    return {"namespaces": ["default", "kube-system", "flux-system"], "secrets": [SOPS_SECRET],
            "helm": {CILIUM: _rendered_cilium(state)}, "applied": [], "flux": True}


def _rendered_cilium(state: dict) -> str:
    for release in state.get("rendered", {}).get("helmreleases", []):
        if (release["namespace"], release["name"]) == ("kube-system", "cilium"):
            return release["version"]
    return state.get("versions", {}).get("cilium", "").removeprefix("v")


def editable(state: dict) -> dict:
    """state["setup"] to change in place (made from the done state when the twin has none yet)."""
    if "setup" not in state:
        state["setup"] = of(state)
    return state["setup"]


def flux_bootstrapped(state: dict) -> bool:
    return bool(of(state)["flux"])


def has_sops_secret(state: dict) -> bool:
    return SOPS_SECRET in of(state)["secrets"]


def flux_ready(state: dict) -> bool:
    """Every Flux object can reconcile: Flux runs and decrypts with the age key."""
    return flux_bootstrapped(state) and has_sops_secret(state)
