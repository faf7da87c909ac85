"""Flux: the SOPS age Secret, `flux bootstrap github`, the wait for every object in dependency
order, and the end checks of docs/getting-started/initial-setup.md.

The `sops-age` Secret is made before Flux, in the namespace Flux will use, so the first
reconcile of flux-system already decrypts (cluster-template does the same). The Secret is made
from the key file by its path: the key is never on a command line, in a plan or in a record.
`flux bootstrap github` reads the token from GITHUB_TOKEN itself; it is never passed or shown.
"""

from __future__ import annotations

from homeops.errors import RunbookStopped
from homeops.procedures import preflight, waits
from homeops.procedures.bootstrap_files import Workspace, age_key_file
from homeops.procedures.checks import CheckResult, failed, verdict
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut
from homeops.rendering import inventory
from homeops.rendering.flux_order import flux_order
from homeops.tools import flux, kubectl, workstation
from homeops.tools.process import ToolError
from homeops.tools.shapes import FluxObject

FLUX_NAMESPACE = "flux-system"
SOPS_SECRET = "sops-age"  # the name the rendered Kustomizations' decryption.secretRef gives
SOPS_SECRET_KEY = "age.agekey"  # kustomize-controller reads keys ending in .agekey (Flux "Mozilla SOPS" guide)
FLUX_PATH = "kubernetes/flux"


def _exists(session: Session, args: list[str]) -> bool:
    """`kubectl get ... -o name --ignore-not-found`: a name printed, or nothing (never the object's data).

    A plan made before the cluster exists cannot ask it: there, what cannot be read is not there yet.
    """
    try:
        return kubectl.exists(args)
    except ToolError:
        if session.apply:
            raise
        return False


def _stop(step: str, exc: Exception, left: str) -> RunbookStopped:
    return RunbookStopped(f"bootstrap: stopped at step '{step}': {exc}; left in place: {left}; "
                          "run the bootstrap again to resume")


def sops_secret(session: Session) -> str:
    """flux-system/sops-age from the workstation's age key file, unless it is there already."""
    key = age_key_file()
    try:
        has_namespace = _exists(session, ["get", "namespace", FLUX_NAMESPACE])
        has_secret = has_namespace and _exists(session, ["-n", FLUX_NAMESPACE, "get", "secret", SOPS_SECRET])
        if has_secret:
            return f"kept: Secret {FLUX_NAMESPACE}/{SOPS_SECRET}"
        if not has_namespace:
            kubectl.create_namespace(session.gate, FLUX_NAMESPACE,
                                     why="Flux's namespace, made first so the age key is there before Flux")
        kubectl.create_secret_from_file(session.gate, FLUX_NAMESPACE, SOPS_SECRET, SOPS_SECRET_KEY, str(key),
                                        why="the age key Flux decrypts the *.sops.yaml files with (read from its file)")
    except ToolError as exc:
        raise _stop("SOPS age Secret", exc, "Cilium installed, Flux not bootstrapped") from None
    return f"planned: Secret {FLUX_NAMESPACE}/{SOPS_SECRET}" if not session.apply else \
        f"made: Secret {FLUX_NAMESPACE}/{SOPS_SECRET} from {key}"


def bootstrapped(session: Session) -> bool:
    """flux bootstrap ran: the flux-system Kustomization it makes (gotk-sync.yaml) exists."""
    return _exists(session, ["-n", FLUX_NAMESPACE, "get", "kustomizations.kustomize.toolkit.fluxcd.io", "flux-system"])


def bootstrap_flux(session: Session) -> str:
    repo = session.cluster.repository
    if repo is None:  # the preflight refused it already; here for a direct call
        raise RunbookStopped("bootstrap: cluster.yaml has no repository; Flux not bootstrapped")
    try:
        if bootstrapped(session):
            return "kept: Flux is bootstrapped (Kustomization flux-system/flux-system exists)"
        flux.bootstrap_github(session.gate, owner=repo.owner, repository=repo.name, branch=repo.branch,
                              path=FLUX_PATH, personal=repo.personal, timeout=session.wait_timeout,
                              why=f"Flux's controllers, its deploy key and gotk files in the repository, then "
                                  f"{FLUX_PATH} reconciled")
    except ToolError as exc:
        raise _stop("flux bootstrap", exc, "Cilium installed, the SOPS age Secret made") from None
    return "planned: flux bootstrap github" if not session.apply else "bootstrapped: Flux"


Key = tuple[str, str, str]  # (kind, namespace, name)


def apply_order(project) -> list[Key]:
    """Every Kustomization in the order Flux applies it (homeops.rendering.flux_order, the one rule of it), each
    followed by the HelmReleases it applies, in their own dependsOn order."""
    order = flux_order(project)
    keys: list[Key] = []
    for name in order.kustomizations:
        keys.append(("Kustomization", "flux-system", name))
        keys += [("HelmRelease", r.namespace or "default", r.name) for r in order.releases.get(name, [])]
    return keys


def _key(o: FluxObject) -> Key:
    return (o.kind, o.namespace, o.name)


def ordered_progress(order: list[Key], objects: list[FluxObject]) -> tuple[list[str], str]:
    """(what is not Ready, in dependency order; a progress line naming the first of them)."""
    found = {_key(o): o for o in objects}
    pending = []
    for key in order:
        seen = found.pop(key, None)
        if seen is None:
            pending.append(f"{key[0]} {key[1]}/{key[2]} not in the cluster yet")
        elif seen.problem:
            pending.append(seen.problem)
    pending += [o.problem for o in found.values() if o.problem]  # objects the rendered tree does not name
    total = len(order) + len(found)
    line = f"{total - len(pending)} of {total} Ready" + (f"; next: {pending[0]}" if pending else "")
    return pending, line


def wait_flux(session: Session, workspace: Workspace) -> str:
    order = apply_order(workspace.project)
    what = f"all {len(order)} Flux objects Ready, in dependency order"
    pending: list[str] = []

    def look() -> bool | str:
        nonlocal pending
        pending, line = ordered_progress(order, preflight.flux_objects())
        return not pending or line

    try:
        if not waits.wait_for(session, what, look):
            return f"planned: wait for {len(order)} Flux objects"
    except WaitTimedOut as exc:
        raise RunbookStopped(f"bootstrap: stopped at step 'wait for Flux': {exc}; not Ready, first the one the others "
                             f"wait for: {'; '.join(pending[:3]) or 'unknown'}; left in place: Flux bootstrapped; "
                             "run the bootstrap again to resume") from None
    return f"Ready: all {len(order)} Flux objects"


# --- the end checks --------------------------------------------------------------------------

def certificates(workspace: Workspace) -> CheckResult:
    """Every rendered cert-manager Certificate is Ready (issued)."""
    wanted = {(c.namespace or "default", c.name) for c in inventory.of_kind(workspace.project, "Certificate")}
    try:
        items = kubectl.items(["get", "certificates.cert-manager.io", "-A"])
    except ToolError as exc:
        return failed("certificates", str(exc))
    ready = {}
    for item in items:
        metadata = item.get("metadata") or {}
        condition = next((c for c in (item.get("status") or {}).get("conditions") or []
                          if c.get("type") == "Ready"), {})
        ready[(metadata.get("namespace", ""), metadata.get("name", ""))] = condition
    problems = []
    for namespace, name in sorted(wanted):
        condition = ready.get((namespace, name))
        if condition is None:
            problems.append(f"Certificate {namespace}/{name} is not in the cluster")
        elif condition.get("status") != "True":
            problems.append(f"Certificate {namespace}/{name} Ready={condition.get('status', 'Unknown')} "
                            f"{condition.get('reason', '')}: {condition.get('message', '')}".rstrip(": "))
    return verdict("certificates", problems, f"{len(wanted)} Certificate(s) Ready")


def dns_answers(session: Session) -> CheckResult:
    """k8s-gateway answers for the domain: its SOA, asked of its own address (`dig`)."""
    server = session.cluster.network.load_balancer("k8s-gateway")
    check, domain = "split DNS", session.cluster.cluster.domain
    if server is None:
        return CheckResult(check, "warn", "no k8s-gateway load balancer in cluster.yaml: not checked")
    try:
        answer = workstation.dns_soa(str(server.address), str(domain))
    except ToolError as exc:
        return failed(check, f"k8s-gateway at {server.address}: {exc}")
    if not answer:
        return failed(check, f"k8s-gateway at {server.address} gives no SOA for {domain}")
    return CheckResult(check, "ok", f"k8s-gateway at {server.address} answers for {domain} ({answer.splitlines()[0]})")


def end_checks(session: Session, workspace: Workspace) -> list[CheckResult]:
    """What initial-setup.md's last section proves by hand. Read-only; a plan of a cluster not yet
    bootstrapped shows what would be checked instead."""
    if not session.apply and not workspace.kubeconfig.exists():
        session.say("end checks: the cluster does not exist yet; after an apply run they check the Gateways' "
                    "addresses, k8s-gateway's answer for the domain and the certificates")
        return []
    return [*preflight.load_balancers(session.cluster), dns_answers(session), certificates(workspace)]

