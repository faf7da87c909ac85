"""Remediating HelmReleases that are not Ready: reset them, force one, or suspend and resume them.

Which releases: those `FluxObject.problem` calls not current (the one Flux readiness rule) and that
have failed (`FluxObject.failed`: Stalled, or Ready=False with nothing in progress), or the one
release named whenever it is not Ready; a release someone suspended is left alone and named. Each release's status is
printed into the record before its change, so the record shows what helm-controller said
(conditions, failure counters, last attempted action) even after the change erased it.

How (helm-controller v1.4, api/v2 and reconcile/atomic_release.go):
- `reset`: `flux reconcile hr NAME --reset` sets `reconcile.fluxcd.io/resetAt`; the controller clears
  the failure counters, so a release out of install or upgrade retries (Stalled, RetriesExceeded)
  gets a new attempt.
- `force`: `--force` sets `reconcile.fluxcd.io/forceAt`: one install or upgrade runs even while out
  of retries or in sync. Only for one named release: forcing in bulk re-runs every chart's hooks.
- `suspend-resume`: `flux suspend` then `flux resume`; each patch of spec.suspend is a new
  generation, and a generation not yet attempted clears the failure counters too.

rook-ceph's and Cilium's releases are touched only while Ceph (HEALTH_OK, clean PGs, no flags) and
Cilium (its agent DaemonSet ready on every node) are healthy: a new attempt of those charts while
storage or the network is degraded can take the cluster down with it. Every release's gate is
checked before the first change, so a refusal changes nothing.
"""

from __future__ import annotations

import json

from homeops.errors import RunbookStopped
from homeops.procedures.checks import CheckResult, guarded, verdict
from homeops.procedures.preflight import ceph_health
from homeops.procedures.session import Session
from homeops.tools import flux, kubectl
from homeops.tools.process import ToolError
from homeops.tools.shapes import FluxObject

METHODS = ("reset", "force", "suspend-resume")
CILIUM_DAEMONSET = ("kube-system", "cilium")
INTERRUPTED = "interrupted (Ctrl-C, Kernel > Interrupt or a signal)"


def needs(release: FluxObject) -> list[str]:
    """What must be healthy before `release` is touched: its chart runs Ceph or Cilium."""
    if release.namespace == "rook-ceph" or release.name.startswith("rook-ceph"):
        return ["Ceph"]
    if release.name == "cilium":
        return ["Cilium"]
    return []


def cilium_health() -> list[CheckResult]:
    """Cilium without the cilium CLI: its agent DaemonSet's rollout, as `kubectl rollout status` judges it.

    `cilium status` needs the cilium CLI and exec into the agents; the DaemonSet's numbers are what it
    sums up as "Cilium: OK" (desired = ready = available), readable through kubectl like everything else.
    """
    def read() -> list[CheckResult]:
        status = kubectl.daemonset(*CILIUM_DAEMONSET)
        problem = status.problem
        return [verdict("Cilium agents", [problem] if problem else [],
                        f"DaemonSet {status.namespace}/{status.name}: {status.ready}/{status.desired} ready")]

    return guarded("Cilium agents", read)


HEALTH = {"Ceph": ceph_health, "Cilium": cilium_health}


def choose(releases: list[FluxObject], release: str, method: str) -> tuple[list[FluxObject], list[FluxObject]]:
    """(the releases to remediate, the not-Ready ones left alone because they are suspended)."""
    if method not in METHODS:
        raise RunbookStopped(f"Flux: method {method!r} is not one of {', '.join(METHODS)}; nothing changed")
    if method == "force" and not release:
        raise RunbookStopped("Flux: --force is only for one named release (-p release=NAMESPACE/NAME), "
                             "never in bulk; nothing changed")
    if release:
        namespace, _, name = release.partition("/")
        if not namespace or not name or "/" in name:
            raise RunbookStopped(f"Flux: release {release!r} is not NAMESPACE/NAME; nothing changed")
        found = [r for r in releases if (r.namespace, r.name) == (namespace, name)]
        if not found:
            known = ", ".join(f"{r.namespace}/{r.name}" for r in releases)
            raise RunbookStopped(f"Flux: no HelmRelease {release} (HelmReleases: {known}); nothing changed")
        releases = found
    # A named release is remediated whenever it is not Ready; in bulk, only those that failed (one in
    # progress is left to finish) and are not suspended.
    if release:
        return [r for r in releases if r.problem], []
    suspended = [r for r in releases if r.suspended]
    return [r for r in releases if r.problem and r.failed and not r.suspended], suspended


def refusals(targets: list[FluxObject]) -> list[str]:
    """Every release whose Ceph or Cilium is not healthy, with why; each health read once."""
    verdicts: dict[str, list[CheckResult]] = {}
    refused = []
    for target in targets:
        for what in needs(target):
            if what not in verdicts:
                verdicts[what] = HEALTH[what]()
            failing = [f"{c.check}: {c.detail}" for c in verdicts[what] if c.failed]
            if failing:
                refused.append(f"{target} needs {what} healthy ({'; '.join(failing)})")
    return refused


def remediate(session: Session, *, release: str = "", method: str = "reset") -> str:
    """Remediate the releases that are not Ready (or `release`), one at a time; RunbookStopped naming
    what was done and left in place when one fails, is refused or is interrupted."""
    try:
        releases = flux.helmreleases()
    except ToolError as exc:
        raise RunbookStopped(f"Flux: cannot read the HelmReleases: {exc}; nothing changed") from None
    targets, suspended = choose(releases, release, method)
    left_alone = "; left alone (suspended by someone): " + ", ".join(map(str, suspended)) if suspended else ""
    if not targets:
        named = f"{release} is Ready" if release else "every HelmRelease not suspended is Ready"
        return f"nothing to remediate: {named}" + left_alone
    refused = refusals(targets)
    if refused:
        raise RunbookStopped("Flux: refused before any change: " + "; ".join(refused) + "; nothing changed")
    done: list[str] = []
    for index, target in enumerate(targets):
        untouched = [str(t) for t in targets[index + 1:]]
        _save_status(session, target, method)
        try:
            _remediate_one(session, target, method)
        except KeyboardInterrupt:
            raise RunbookStopped(_stopped(target, INTERRUPTED, done, untouched, _state_after(target, method))) \
                from None
        except RunbookStopped as exc:
            # An interrupt while a flux command ran comes from the gate as a stop in doubt: what the
            # release is now is read back, as for any other interrupt.
            if not getattr(exc, "in_doubt", None):
                raise
            raise RunbookStopped(_stopped(target, f"{INTERRUPTED} before `{exc.command}` answered", done, untouched,
                                          _state_after(target, method))) from None
        except ToolError as exc:
            raise RunbookStopped(_stopped(target, str(exc), done, untouched, _state_after(target, method))) \
                from None
        if session.apply:
            problem = _problem_now(target)
            if problem:
                raise RunbookStopped(_stopped(target, f"still not Ready: {problem}", done, untouched,
                                              _state_after(target, method)))
        done.append(f"{target} ({_verb(method)})")
    if not session.apply:
        return f"planned: {_verb(method)} " + ", ".join(map(str, targets)) + left_alone
    return f"remediated: {', '.join(done)}; now Ready" + left_alone


def _verb(method: str) -> str:
    return {"reset": "reset", "force": "forced", "suspend-resume": "suspended and resumed"}[method]


def _save_status(session: Session, target: FluxObject, method: str) -> None:
    """The release's status as the API returns it, printed (and so recorded) before its change."""
    try:
        status = flux.helmrelease(target.namespace, target.name).get("status") or {}
    except ToolError as exc:
        raise RunbookStopped(f"Flux: cannot read {target} before its change: {exc}; "
                             "not changed, nor the releases after it") from None
    session.say(f"status of {target} before it is {_verb(method)}:")
    print(json.dumps(status, indent=2, sort_keys=True))


def _remediate_one(session: Session, target: FluxObject, method: str) -> None:
    why = {
        "reset": "clear the failure counters so helm-controller makes a new attempt",
        "force": "force one install or upgrade of this release, even out of retries",
    }
    if method in why:
        flux.reconcile_release(session.gate, target.namespace, target.name, how=method,
                               timeout=session.wait_timeout, why=why[method])
        return
    flux.suspend_release(session.gate, target.namespace, target.name,
                         why="a new generation: helm-controller clears the failure counters on resume")
    flux.resume_release(session.gate, target.namespace, target.name, timeout=session.wait_timeout,
                        why="resume it and wait until it is Ready")


def _problem_now(target: FluxObject) -> str | None:
    try:
        now = [r for r in flux.helmreleases() if (r.namespace, r.name) == (target.namespace, target.name)]
    except ToolError as exc:
        return f"cannot read it: {exc}"
    return now[0].problem if now else "it is gone"


def _state_after(target: FluxObject, method: str) -> str:
    """What the failed step left, read back: a release may be left suspended."""
    try:
        item = flux.helmrelease(target.namespace, target.name)
    except ToolError as exc:
        if method == "suspend-resume":
            return f"{target} perhaps left suspended (cannot read it: {exc}); resume it with " + _resume_hint(target)
        return f"{target} as the failed step left it (cannot read it: {exc})"
    if (item.get("spec") or {}).get("suspend"):
        return f"{target} left suspended; resume it with " + _resume_hint(target)
    return f"{target} {_verb(method)}, not Ready"


def _resume_hint(target: FluxObject) -> str:
    return f"`flux resume helmrelease {target.name} -n {target.namespace}`"


def _stopped(target: FluxObject, what: str, done: list[str], untouched: list[str], state: str) -> str:
    left = [state] + done + ([f"not touched: {', '.join(untouched)}"] if untouched else [])
    return f"Flux: stopped at {target}: {what}; left in place: " + "; ".join(left)
