"""Flux: reconcile, suspend and resume through the flux CLI, read Kustomizations and HelmReleases
through kubectl's JSON.

`flux get` has no JSON output; the Ready condition of the objects is the machine-readable truth.
"""

from __future__ import annotations

from homeops.gate import Gate
from homeops.tools import kubectl, process
from homeops.tools.shapes import FluxObject

READ_TIMEOUT = 30.0
RECONCILE_MARGIN = 30.0  # flux needs a moment beyond its own --timeout to report and exit

KUSTOMIZATIONS = "kustomizations.kustomize.toolkit.fluxcd.io"
HELMRELEASES = "helmreleases.helm.toolkit.fluxcd.io"


def parse_objects(document: dict, kind: str) -> list[FluxObject]:
    found = []
    for item in document.get("items") or []:
        metadata = item.get("metadata") or {}
        status = item.get("status") or {}
        conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
        ready = conditions.get("Ready", {})
        found.append(
            FluxObject(
                kind=item.get("kind") or kind,
                namespace=metadata.get("namespace", ""),
                name=metadata.get("name", ""),
                ready=ready.get("status", "Unknown"),
                reason=ready.get("reason", ""),
                message=ready.get("message", ""),
                suspended=bool((item.get("spec") or {}).get("suspend", False)),
                generation=_integer(metadata.get("generation")),
                observed_generation=_integer(status.get("observedGeneration")),
                reconciling=_true_message(conditions.get("Reconciling")),
                stalled=_true_message(conditions.get("Stalled")),
            )
        )
    return found


def _integer(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _true_message(condition: dict | None) -> str | None:
    if not condition or condition.get("status") != "True":
        return None
    return condition.get("message") or condition.get("reason") or ""


def kustomizations(*, timeout: float = READ_TIMEOUT) -> list[FluxObject]:
    return parse_objects({"items": kubectl.items(["get", KUSTOMIZATIONS, "-A"], timeout=timeout)}, "Kustomization")


def helmreleases(*, timeout: float = READ_TIMEOUT) -> list[FluxObject]:
    return parse_objects({"items": kubectl.items(["get", HELMRELEASES, "-A"], timeout=timeout)}, "HelmRelease")


def objects(*, timeout: float = READ_TIMEOUT) -> list[FluxObject]:
    return kustomizations(timeout=timeout) + helmreleases(timeout=timeout)


def check(*, timeout: float = READ_TIMEOUT) -> process.Completed:
    """`flux check`: raises ToolError (exit 1, `✗ check failed` on stderr) when a prerequisite fails."""
    return process.run(["flux", "check"], timeout=timeout)


def reconcile(gate: Gate, *, timeout: float, why: str = "") -> process.Completed | None:
    """Ask Flux to fetch its Git source and apply flux-system now, waiting up to `timeout` seconds."""
    return gate.change(
        ["flux", "reconcile", "kustomization", "flux-system", "--with-source", "--timeout", f"{timeout:g}s"],
        timeout=timeout + RECONCILE_MARGIN,
        why=why,
        about="a reconcile of Kustomization flux-system",
        unsure="may have been requested (Flux then applies its Git source by itself)",
    )


BOOTSTRAP_MARGIN = 60.0


def bootstrap_github(gate: Gate, *, owner: str, repository: str, branch: str, path: str, personal: bool,
                     timeout: float, why: str = "") -> process.Completed | None:
    """`flux bootstrap github` (flux2 cmd/flux/bootstrap_github.go): the token comes from GITHUB_TOKEN in
    the environment, never from the command line; `--personal` for a repository of a user account only,
    as Flux otherwise looks the repository up (and creates it) among an organization's."""
    return gate.change(["flux", "bootstrap", "github", f"--owner={owner}", f"--repository={repository}",
                        f"--branch={branch}", f"--path={path}", *(["--personal"] if personal else []),
                        f"--timeout={timeout:g}s"],
                       timeout=timeout + BOOTSTRAP_MARGIN, why=why)


def helmrelease(namespace: str, name: str, *, timeout: float = READ_TIMEOUT) -> dict:
    """One HelmRelease as the API returns it (status included), for the record before it is changed."""
    return kubectl.get_json(["-n", namespace, "get", HELMRELEASES, name], timeout=timeout)


def reconcile_release(gate: Gate, namespace: str, name: str, *, how: str, timeout: float,
                      why: str = "") -> process.Completed | None:
    """`flux reconcile hr NAME -n NS --reset` (or `--force`): helm-controller's failure counters are reset
    (the next attempt runs although retries were exhausted), or one install/upgrade is forced."""
    if how not in ("reset", "force"):
        raise ValueError(f"a release is reconciled with --reset or --force, not {how!r}")
    return gate.change(["flux", "reconcile", "helmrelease", name, "-n", namespace, f"--{how}",
                        "--timeout", f"{timeout:g}s"], timeout=timeout + RECONCILE_MARGIN, why=why)


def suspend_release(gate: Gate, namespace: str, name: str, *, why: str = "") -> process.Completed | None:
    return gate.change(["flux", "suspend", "helmrelease", name, "-n", namespace], timeout=READ_TIMEOUT, why=why)


def resume_release(gate: Gate, namespace: str, name: str, *, timeout: float,
                   why: str = "") -> process.Completed | None:
    """`flux resume`: spec.suspend false (a new generation, so helm-controller clears the failure counters),
    then flux waits up to `timeout` for the release to be Ready."""
    return gate.change(["flux", "resume", "helmrelease", name, "-n", namespace, "--timeout", f"{timeout:g}s"],
                       timeout=timeout + RECONCILE_MARGIN, why=why)


# The flux CLI's word for each kind (`flux suspend kustomization|helmrelease NAME -n NS`).
KIND_WORDS = {"Kustomization": "kustomization", "HelmRelease": "helmrelease"}


def suspend(gate: Gate, obj: FluxObject, *, why: str = "") -> process.Completed | None:
    """`flux suspend KIND NAME -n NS`: spec.suspend true; flux prints `► suspending ...` and `✔ ... suspended`."""
    return gate.change(["flux", "suspend", KIND_WORDS[obj.kind], obj.name, "-n", obj.namespace],
                       timeout=READ_TIMEOUT, why=why, about=str(obj), unsure="may be suspended")


def resume(gate: Gate, obj: FluxObject, *, timeout: float, why: str = "") -> process.Completed | None:
    """`flux resume KIND NAME -n NS`: spec.suspend false, then flux waits up to `timeout` for its reconcile."""
    return gate.change(["flux", "resume", KIND_WORDS[obj.kind], obj.name, "-n", obj.namespace,
                        "--timeout", f"{timeout:g}s"], timeout=timeout + RECONCILE_MARGIN, why=why,
                       about=str(obj), unsure="may be resumed")
