"""Flux bringing up the rendered tree after the twin's `flux bootstrap`, in dependency order, on the twin's clock.

The order and the Secrets each object waits for come from homeops.rendering.flux_order, stored in the state
at creation (state["rendered"]["flux_order"]; the fake tools cannot read YAML). From the bootstrap's moment
(state["setup"]["flux_since"]) each step takes state["timing"]["flux_seconds"]: flux-system applies
kubernetes/flux (the Kustomizations and chart sources then exist); a Kustomization applies its path once
every Kustomization it dependsOn is Ready, and (wait: true) is Ready once its HelmReleases are; a HelmRelease
installs once its Kustomization applied it and its dependsOn are Ready. A needed Secret that is not there
(the sops-age Secret, a user-written SOPS file absent from the repository, one no object makes) stops the
object with the controller's reason and a message naming it; what waits for that object says so in turn.

The repository is the project the twin was made from (state["repository"]); a twin made without one has
every user-written file.
"""

from __future__ import annotations

import os

from homeops.twin.setup import progress

BLOCKED = float("inf")
BOOTSTRAP = "flux-system"

# kustomize-controller and helm-controller (fluxcd/kustomize-controller internal/controller/
# kustomization_controller.go checkDependencies, fluxcd/helm-controller the same): the dependency as
# namespace/name. helm-controller's valuesFrom: "could not find %s '%s'" (kind, namespace/name).
DEPENDENCY_NOT_READY = "dependency '{}' is not ready"
VALUES_NOT_FOUND = "could not find Secret '{}'"
# Not copied from upstream: the twin's words (and ArtifactFailed for a missing source), naming what is missing
# as the real messages do.
NO_DECRYPTION_SECRET = 'decryption failed: Secret "{}" not found'
FILE_MISSING = "kustomize build failed: accumulating resources from '{}': no such file or directory"
NOTHING_MAKES = "Secret '{}' not found: nothing in the tree or the bootstrap makes it"
SOURCE_MISSING = "source '{}' not found"
IN_PROGRESS = "Reconciliation in progress"


def active(state: dict) -> bool:
    """The twin's own `flux bootstrap` ran on a twin that knows the rendered order (else every object is as
    the twin was made: Ready, or not bootstrapped at all)."""
    return "flux_since" in progress.of(state) and "flux_order" in state.get("rendered", {})


class Reconciler:
    def __init__(self, state: dict, now: float):
        self.state, self.now = state, now
        plan = state["rendered"]["flux_order"]
        self.kustomizations = {k["name"]: k for k in plan["kustomizations"]}
        self.releases = {f"{r['namespace']}/{r['name']}": r for r in plan["releases"]}
        self.since = float(progress.of(state)["flux_since"])
        self.step = float(state["timing"].get("flux_seconds", state["timing"]["reboot_seconds"] / 10))
        self.secrets = set(progress.of(state)["secrets"])
        self.repository = state.get("repository")
        self._ready: dict[str, float] = {}
        self._problem: dict[str, tuple[str, str]] = {}

    # --- when each object is applied and Ready (BLOCKED: never, with its problem) --------------------------

    def _has_file(self, path: str) -> bool:
        return self.repository is None or os.path.isfile(os.path.join(self.repository, path))

    def _secret_at(self, entry: dict, waiting_in: str) -> tuple[float, str]:
        """(when the Secret exists, what to say while it does not) for an object of Kustomization `waiting_in`."""
        name = entry["secret"]
        if "missing" in entry:
            return BLOCKED, NOTHING_MAKES.format(name)
        if "file" in entry and not self._has_file(entry["file"]):
            return BLOCKED, VALUES_NOT_FOUND.format(name)
        if "bootstrap" in entry and "file" not in entry:
            return (self.since, "") if name in self.secrets else (BLOCKED, VALUES_NOT_FOUND.format(name))
        maker = entry.get("applied_by", "")
        if not maker or maker == waiting_in:
            return self.since, ""  # applied together with what needs it
        return self.kustomization_ready(maker), VALUES_NOT_FOUND.format(name)

    def kustomization_applied(self, name: str) -> float:
        """When Flux has applied the Kustomization's path (BLOCKED if it never can)."""
        entry = self.kustomizations[name]
        if name == BOOTSTRAP:
            start = self.since
        else:
            start = max([self.kustomization_applied(BOOTSTRAP)]
                        + [self.kustomization_ready(d) for d in entry["depends_on"] if d in self.kustomizations])
        for secret in entry["secrets"]:
            if secret["why"] == "decryption key" and secret["secret"] not in self.secrets:
                return BLOCKED
        if entry.get("missing_source"):
            return BLOCKED
        if any(not self._has_file(path) for path in entry["files"]):
            return BLOCKED
        return start + self.step

    def kustomization_ready(self, name: str) -> float:
        if name not in self._ready:
            self._ready[name] = BLOCKED  # a dependsOn cycle never becomes Ready
            applied = self.kustomization_applied(name)
            waits = [self._secret_at(s, name)[0] for s in self.kustomizations[name]["secrets"]
                     if s["why"] != "decryption key"]
            releases = [self.release_ready(key) for key, r in self.releases.items() if r["kustomization"] == name]
            self._ready[name] = max([applied] + waits + releases)
        return self._ready[name]

    def release_ready(self, key: str) -> float:
        if key not in self._ready:
            self._ready[key] = BLOCKED
            release = self.releases[key]
            start = [self.kustomization_applied(release["kustomization"])]
            start += [self.release_ready(d) for d in release["depends_on"] if d in self.releases]
            start += [self._secret_at(s, release["kustomization"])[0] for s in release["secrets"]]
            start += [BLOCKED] if release.get("missing_source") else []
            self._ready[key] = max(start) + self.step
        return self._ready[key]

    # --- what each shows now -----------------------------------------------------------------------------

    def kustomization_exists(self, name: str) -> bool:
        return name == BOOTSTRAP or self.kustomization_applied(BOOTSTRAP) <= self.now

    def release_exists(self, key: str) -> bool:
        return self.kustomization_applied(self.releases[key]["kustomization"]) <= self.now

    def kustomization_condition(self, name: str) -> tuple[str, str, str, float]:
        """(status, reason, message, since) of its Ready condition now."""
        entry = self.kustomizations[name]
        ready = self.kustomization_ready(name)
        if ready <= self.now:
            return "True", "ReconciliationSucceeded", "", ready
        for secret in entry["secrets"]:
            if secret["why"] == "decryption key" and secret["secret"] not in self.secrets:
                return "False", "DecryptionFailed", NO_DECRYPTION_SECRET.format(secret["secret"]), self.since
        for path in entry["files"]:
            if not self._has_file(path):
                return "False", "BuildFailed", FILE_MISSING.format(path), self.since
        if entry.get("missing_source"):
            return "False", "ArtifactFailed", SOURCE_MISSING.format(entry["missing_source"]), self.since
        for dependency in entry["depends_on"]:
            if self.kustomization_ready(dependency) > self.now:
                return ("False", "DependencyNotReady", DEPENDENCY_NOT_READY.format(f"flux-system/{dependency}"),
                        self.since)
        if ready == BLOCKED:
            stuck = [f"HelmRelease/{key}" for key, r in self.releases.items()
                     if r["kustomization"] == name and self.release_ready(key) == BLOCKED]
            stuck += [f"Secret/{s['secret']}" for s in entry["secrets"]
                      if s["why"] != "decryption key" and self._secret_at(s, name)[0] == BLOCKED]
            return ("False", "HealthCheckFailed",
                    f"health check failed: timeout waiting for: [{', '.join(stuck)} status: 'Failed']", self.since)
        return "Unknown", "Progressing", IN_PROGRESS, self.since

    def release_condition(self, key: str) -> tuple[str, str, str, float]:
        release = self.releases[key]
        ready = self.release_ready(key)
        if ready <= self.now:
            return "True", "InstallSucceeded", "", ready
        for dependency in release["depends_on"]:
            if dependency in self.releases and self.release_ready(dependency) > self.now:
                return "False", "DependencyNotReady", DEPENDENCY_NOT_READY.format(dependency), self.since
        if release.get("missing_source"):
            return "False", "ArtifactFailed", SOURCE_MISSING.format(release["missing_source"]), self.since
        for secret in release["secrets"]:
            at, message = self._secret_at(secret, release["kustomization"])
            if at > self.now:
                # the message is helm-controller's valuesFrom text; the reason is the twin's (not checked upstream)
                return "False", "InitFailed", message, self.since
        return "Unknown", "Progressing", IN_PROGRESS, self.since
