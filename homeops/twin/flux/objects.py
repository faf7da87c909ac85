"""The Flux Kustomizations and HelmReleases of the twin, with their Ready conditions.

Exactly the objects kubernetes/ renders for the twin's cluster.yaml (state["rendered"], from
homeops.rendering.inventory), plus the bootstrap's flux-system. A HelmRelease runs its rendered
chart version unless state["flux"]["running"]["NAMESPACE/NAME"] says otherwise. `flux-not-ready`
fails the flux-system Kustomization's health check on the rook-ceph-cluster release; `leak-secret`
plants an age key in flux-system's message.

What a runbook did to a HelmRelease is kept in state["flux"]["releases"]["NAMESPACE/NAME"]
(`release_record`): spec.suspend, metadata.generation, the reconcile/reset/force request
annotations and the controller's lastHandled* answers, and whether a stuck release has had its
new attempt. `helmrelease-stuck` is a release out of install retries (Stalled RetriesExceeded, as
helm-controller marks it) whose cause is gone: a reset, a force or a new generation (suspend then
resume) clears its failure counters and the next install succeeds. `helmrelease-failing` is one
whose cause stays: every attempt fails again.
"""

from __future__ import annotations

from homeops.twin import clock, faults
from homeops.twin.flux import reconcile
from homeops.twin.kube import k8s
from homeops.twin.setup import progress

KUSTOMIZATION_GROUP = "kustomizations.kustomize.toolkit.fluxcd.io"
HELMRELEASE_GROUP = "helmreleases.helm.toolkit.fluxcd.io"

LEAK_KUSTOMIZATION = "flux-system"
NOT_READY_KUSTOMIZATION = "flux-system"
NOT_READY_RELEASE = ("rook-ceph", "rook-ceph-cluster")
RECONCILE_ANNOTATION = "reconcile.fluxcd.io/requestedAt"
RESET_ANNOTATION = "reconcile.fluxcd.io/resetAt"
FORCE_ANNOTATION = "reconcile.fluxcd.io/forceAt"
HANDLED = {  # annotation -> the status field helm-controller copies it to once handled
    RECONCILE_ANNOTATION: "lastHandledReconcileAt",
    RESET_ANNOTATION: "lastHandledResetAt",
    FORCE_ANNOTATION: "lastHandledForceAt",
}


def _ready(status: str, reason: str, message: str, since: float) -> dict:
    return {
        "lastTransitionTime": clock.rfc3339(since),
        "message": message,
        "observedGeneration": 1,
        "reason": reason,
        "status": status,
        "type": "Ready",
    }


# kustomize-controller's words when the decryption Secret is missing are not copied from upstream:
# the twin names the Secret, as the real message does.
NO_SOPS_SECRET = 'decryption failed: Secret "flux-system/sops-age" not found'


def kustomizations(state: dict) -> list[dict]:
    if not progress.flux_bootstrapped(state):
        return []  # no Flux yet: the bootstrap of a twin made in maintenance mode has not reached it
    revision = state["flux"]["revision"]
    since = state["created"]
    items = []
    flux = reconcile.Reconciler(state, clock.twin_now(state)) if reconcile.active(state) else None
    for entry in state["rendered"]["kustomizations"]:
        name, path = entry["name"], entry["path"]
        if flux is not None and not flux.kustomization_exists(name):
            continue  # flux-system has not applied it yet
        condition = _ready("True", "ReconciliationSucceeded", f"Applied revision: {revision}", since)
        if flux is not None:
            status, reason, message, at = flux.kustomization_condition(name)
            condition = _ready(status, reason, message or f"Applied revision: {revision}", at)
        elif not progress.has_sops_secret(state):
            condition = _ready("False", "DecryptionFailed", NO_SOPS_SECRET, since)
        if name == NOT_READY_KUSTOMIZATION and faults.active(state, "flux-not-ready"):
            namespace, release = NOT_READY_RELEASE
            condition = _ready(
                "False",
                "HealthCheckFailed",
                "health check failed after 4m30.012s: timeout waiting for: "
                f"[HelmRelease/{namespace}/{release} status: 'InProgress']",
                since,
            )
        if name == LEAK_KUSTOMIZATION and faults.active(state, "leak-secret"):
            # Planted on purpose: a secret where a runbook reads, to prove the redaction end to end.
            condition["message"] += f"; sops: decrypted with age identity {state['secrets']['age_key']}"
        record = kustomization_record(state, name)
        metadata: dict = {
            "creationTimestamp": clock.rfc3339(k8s.born(state)),
            "generation": record["generation"],
            "name": name,
            "namespace": "flux-system",
            "resourceVersion": str(state["resource_version"]),
        }
        status: dict = {
            "conditions": [condition],
            "inventory": {"entries": []},
            "lastAppliedRevision": revision,
            "lastAttemptedRevision": revision,
            "observedGeneration": record["observed"],
        }
        condition["observedGeneration"] = record["observed"]
        requested = state["flux"]["reconciled"].get(f"Kustomization/{name}")
        if requested:
            metadata["annotations"] = {"reconcile.fluxcd.io/requestedAt": requested}
            status["lastHandledReconcileAt"] = requested
        items.append(
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": metadata,
                "spec": {
                    "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
                    "interval": "1h",
                    "path": path,
                    "prune": True,
                    **({"suspend": True} if record["suspend"] else {}),
                    "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"},
                    "timeout": "5m",
                    "wait": True,
                },
                "status": status,
            }
        )
    return items


def kustomization_record(state: dict, name: str) -> dict:
    """What `flux suspend|resume kustomization` did to one Kustomization (state["flux"]["kustomizations"]):
    spec.suspend, and its generation (each patch of spec.suspend is one) against the one observed.
    A Kustomization named in `flux.lagging` has a generation its controller has not observed yet."""
    lagging = f"Kustomization/{name}" in state["flux"].get("lagging", [])
    default = {"suspend": False, "generation": 2 if lagging else 1, "observed": 1}
    return {**default, **state["flux"].get("kustomizations", {}).get(name, {})}


def release_record(state: dict, namespace: str, name: str) -> dict:
    """What has been done to one HelmRelease; a release nobody touched has the defaults."""
    default = {"suspend": False, "generation": 1, "observed": 1, "attempted": 1, "annotations": {}, "handled": {}, "attempts": 0,
               "recovered": False}
    return {**default, **state["flux"].get("releases", {}).get(f"{namespace}/{name}", {})}


def _failure(state: dict, namespace: str, name: str, record: dict) -> bool:
    key = f"{namespace}/{name}"
    if key in state["faults"].get("helmrelease-failing", []):
        return True
    return key in state["faults"].get("helmrelease-stuck", []) and not record["recovered"]


def helmreleases(state: dict) -> list[dict]:
    if not progress.flux_bootstrapped(state):
        return []
    since = state["created"]
    items = []
    flux = reconcile.Reconciler(state, clock.twin_now(state)) if reconcile.active(state) else None
    for entry in state["rendered"]["helmreleases"]:
        namespace, name, chart, desired = entry["namespace"], entry["name"], entry["chart"], entry["version"]
        chart_version = state["flux"].get("running", {}).get(f"{namespace}/{name}", desired)
        record = release_record(state, namespace, name)
        key = f"{namespace}/{name}"
        if flux is not None and key in flux.releases and not flux.release_exists(key):
            continue  # its Kustomization has not applied it yet
        condition = _ready(
            "True",
            "UpgradeSucceeded",
            f"Helm upgrade succeeded for release {namespace}/{name}.v4 with chart {chart}@{chart_version}",
            since,
        )
        if flux is not None and key in flux.releases:
            status, reason, message, at = flux.release_condition(key)
            condition = _ready(status, reason, message or f"Helm install succeeded for release {namespace}/{name}.v1 "
                                                          f"with chart {chart}@{chart_version}", at)
        elif not progress.has_sops_secret(state):
            condition = _ready("False", "DependencyNotReady", "dependency 'flux-system/flux-system' is not ready",
                               since)
        conditions = [condition]
        status: dict = {
            "history": [{"chartName": chart, "chartVersion": chart_version, "status": "deployed", "version": 4}],
            "lastAttemptedReleaseAction": "upgrade",
        }
        if (namespace, name) == NOT_READY_RELEASE and faults.active(state, "flux-not-ready"):
            condition = _ready("Unknown", "Progressing", "Running 'upgrade' action with timeout of 5m0s", since)
            conditions = [condition]
        if _failure(state, namespace, name, record):
            # helm-controller's fmtInstallFailure and its RetriesExceeded stall (reconcile/install.go, atomic_release.go)
            failed = (f"Helm install failed for release {namespace}/{name} with chart {chart}@{chart_version}: "
                      "context deadline exceeded")
            conditions = [
                {**_ready("True", "RetriesExceeded", "Failed to install after 1 attempt(s)", since), "type": "Stalled"},
                _ready("False", "InstallFailed", failed, since),
                {**_ready("False", "InstallFailed", failed, since), "type": "Released"},
            ]
            status = {"history": [{"chartName": chart, "chartVersion": chart_version, "status": "failed",
                                   "version": 1}],
                      "lastAttemptedReleaseAction": "install", "failures": 1 + record["attempts"],
                      "installFailures": 1}
        for c in conditions:
            c["observedGeneration"] = record["observed"]
        status.update({"conditions": conditions, "lastAttemptedRevision": chart_version,
                       "observedGeneration": record["observed"]})
        status.update(record["handled"])
        metadata: dict = {
            "creationTimestamp": clock.rfc3339(k8s.born(state)),
            "generation": record["generation"],
            "name": name,
            "namespace": namespace,
            "resourceVersion": str(state["resource_version"]),
        }
        if record["annotations"]:
            metadata["annotations"] = dict(record["annotations"])
        spec: dict = {
            "chart": {
                "spec": {
                    "chart": chart,
                    "sourceRef": {"kind": "HelmRepository", "name": chart, "namespace": "flux-system"},
                    "version": desired,
                }
            },
            "interval": "1h",
        }
        if record["suspend"]:
            spec["suspend"] = True
        items.append(
            {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": metadata, "spec": spec,
             "status": status}
        )
    return items


def ready_condition(item: dict) -> dict:
    return next(c for c in item["status"]["conditions"] if c["type"] == "Ready")


def row(item: dict, with_namespace: bool) -> list[str]:
    ready = ready_condition(item)
    cells = [item["metadata"]["name"], "30d", ready["status"], ready["message"]]
    return ([item["metadata"]["namespace"]] if with_namespace else []) + cells


HEADER = ["NAME", "AGE", "READY", "STATUS"]
