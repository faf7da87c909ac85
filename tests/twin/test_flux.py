"""Flux: Kustomizations and HelmReleases through kubectl, and the flux CLI's reconcile, check, get."""

from __future__ import annotations

KUSTOMIZATIONS = "kustomizations.kustomize.toolkit.fluxcd.io"
HELMRELEASES = "helmreleases.helm.toolkit.fluxcd.io"


def _ready(item: dict) -> dict:
    return next(c for c in item["status"]["conditions"] if c["type"] == "Ready")


def test_flux_objects_have_ready_conditions_in_the_reference_shape(twin, cluster):
    kustomizations = twin.json("kubectl", "get", KUSTOMIZATIONS, "-A", "-o", "json")["items"]
    names = {k["metadata"]["name"] for k in kustomizations}
    assert {"flux-system", "rook-ceph", "rook-ceph-cluster", "cilium", "cert-manager"} <= names
    assert all(
        _ready(k)["status"] == "True" and _ready(k)["reason"] == "ReconciliationSucceeded" for k in kustomizations
    )
    assert all("suspend" not in k["spec"] for k in kustomizations)
    releases = twin.json("kubectl", "get", HELMRELEASES, "-A", "-o", "json")["items"]
    cilium = next(r for r in releases if r["metadata"]["name"] == "cilium")
    assert cilium["metadata"]["namespace"] == "kube-system"
    assert cilium["spec"]["chart"]["spec"]["version"] == cluster.versions.cilium.lstrip("v")
    assert _ready(cilium)["status"] == "True"


def test_flux_not_ready_fails_one_kustomization_health_check(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: flux-not-ready}]\n")
    kustomizations = twin.json("kubectl", "get", KUSTOMIZATIONS, "-A", "-o", "json")["items"]
    failing = [k for k in kustomizations if _ready(k)["status"] == "False"]
    assert [k["metadata"]["name"] for k in failing] == ["flux-system"]
    assert _ready(failing[0])["reason"] == "HealthCheckFailed"
    assert "health check failed" in _ready(failing[0])["message"]
    done = twin.flux("reconcile", "kustomization", "flux-system", "--with-source", "--timeout", "5m")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("✗ Kustomization reconciliation failed: health check failed")


def test_reconcile_prints_the_flux_progress_lines(twin):
    done = twin.flux("reconcile", "kustomization", "flux-system", "--with-source", "--timeout", "5m")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "► annotating GitRepository flux-system in flux-system namespace"
    assert "◎ waiting for Kustomization reconciliation" in lines
    assert lines[-1].startswith("✔ applied revision main@sha1:")
    item = twin.json("kubectl", "-n", "flux-system", "get", KUSTOMIZATIONS, "flux-system", "-o", "json")
    assert "reconcile.fluxcd.io/requestedAt" in item["metadata"]["annotations"]


def test_reconcile_of_an_unknown_kustomization_fails(twin):
    done = twin.flux("reconcile", "kustomization", "nope", "--with-source")
    assert done.returncode == 1
    assert done.stderr.strip() == f'✗ {KUSTOMIZATIONS} "nope" not found'


def test_flux_check_passes_with_check_marks_on_stderr(twin):
    done = twin.flux("check")
    assert done.returncode == 0
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == "✔ all checks passed"


def test_flux_get_prints_a_tab_ended_table(twin):
    done = twin.flux("get", "kustomizations", "-A")
    lines = done.stdout.splitlines()
    assert [cell.strip() for cell in lines[0].split("\t")] == [
        "NAMESPACE",
        "NAME",
        "REVISION",
        "SUSPENDED",
        "READY",
        "MESSAGE",
        "",
    ]
    assert all(line.endswith("\t") for line in lines)
    assert any(line.split("\t")[1].strip() == "flux-system" for line in lines[1:])


def test_flux_rejects_unknown_commands_and_flags(twin):
    command = twin.flux("frob")
    assert (command.returncode, command.stderr.strip()) == (1, '✗ unknown command "frob" for "flux"')
    flag = twin.flux("check", "--bogus")
    assert (flag.returncode, flag.stderr.strip()) == (1, "✗ unknown flag: --bogus")


def test_the_twin_serves_the_flux_objects_and_services_kubernetes_renders(twin, repo_root):
    from homeops.rendering import inventory

    rendered = inventory.twin_view(repo_root)
    kustomizations = twin.json("kubectl", "get", KUSTOMIZATIONS, "-A", "-o", "json")["items"]
    assert [(k["metadata"]["name"], k["spec"]["path"]) for k in kustomizations] == [
        (k["name"], k["path"]) for k in rendered["kustomizations"]]
    releases = twin.json("kubectl", "get", HELMRELEASES, "-A", "-o", "json")["items"]
    assert [(r["metadata"]["namespace"], r["metadata"]["name"], r["spec"]["chart"]["spec"]["version"],
             r["status"]["history"][0]["chartVersion"]) for r in releases] == [
        (h["namespace"], h["name"], h["version"], h["version"]) for h in rendered["helmreleases"]]
    services = twin.json("kubectl", "get", "services", "-A", "-o", "json")["items"]
    balancers = [(s["metadata"]["namespace"], s["metadata"]["name"], s["status"]["loadBalancer"]["ingress"][0]["ip"])
                 for s in services if s["spec"]["type"] == "LoadBalancer"]
    assert balancers == [(lb["namespace"], lb["name"], lb["address"]) for lb in rendered["load_balancers"]]
    assert ("network", "cilium-gateway-internal-gateway") in {(n, name) for n, name, _ in balancers}


STUCK = "faults: [{fault: helmrelease-stuck, name: cert-manager, namespace: cert-manager}]\n"


def _release(twin, namespace: str, name: str) -> dict:
    return twin.json("kubectl", "-n", namespace, "get", HELMRELEASES, name, "-o", "json")


def test_a_stuck_release_stays_stalled_through_a_plain_reconcile_and_a_reset_clears_it(make_twin):
    twin = make_twin(STUCK)
    plain = twin.flux("reconcile", "hr", "cert-manager", "-n", "cert-manager")
    assert plain.returncode == 1
    assert plain.stderr.splitlines()[-1].startswith(
        "✗ HelmRelease reconciliation failed: 'Helm install failed for release cert-manager/cert-manager ")
    assert _ready(_release(twin, "cert-manager", "cert-manager"))["status"] == "False"
    reset = twin.flux("reconcile", "hr", "cert-manager", "-n", "cert-manager", "--reset")
    assert reset.returncode == 0, reset.stderr
    item = _release(twin, "cert-manager", "cert-manager")
    assert _ready(item)["status"] == "True"
    assert [c["type"] for c in item["status"]["conditions"]] == ["Ready"]
    stamp = item["metadata"]["annotations"]["reconcile.fluxcd.io/resetAt"]
    assert item["status"]["lastHandledResetAt"] == stamp == item["status"]["lastHandledReconcileAt"]


def test_a_failing_release_fails_again_after_a_reset_and_counts_the_failure(make_twin):
    twin = make_twin("faults: [{fault: helmrelease-failing, name: cert-manager, namespace: cert-manager}]\n")
    assert _release(twin, "cert-manager", "cert-manager")["status"]["failures"] == 1
    assert twin.flux("reconcile", "hr", "cert-manager", "-n", "cert-manager", "--reset").returncode == 1
    item = _release(twin, "cert-manager", "cert-manager")
    assert item["status"]["failures"] == 2 and _ready(item)["status"] == "False"


def test_suspend_then_resume_moves_the_generation_twice_and_clears_a_stuck_release(make_twin):
    twin = make_twin(STUCK)
    assert twin.flux("suspend", "hr", "cert-manager", "-n", "cert-manager").returncode == 0
    item = _release(twin, "cert-manager", "cert-manager")
    assert item["spec"]["suspend"] is True and item["metadata"]["generation"] == 2
    assert item["status"]["observedGeneration"] == 1  # helm-controller skips a suspended release
    refused = twin.flux("reconcile", "hr", "cert-manager", "-n", "cert-manager", "--reset")
    assert (refused.returncode, refused.stderr.strip()) == (1, "✗ resource is suspended")
    resumed = twin.flux("resume", "hr", "cert-manager", "-n", "cert-manager")
    assert resumed.returncode == 0, resumed.stderr
    item = _release(twin, "cert-manager", "cert-manager")
    assert "suspend" not in item["spec"] and item["metadata"]["generation"] == 3
    assert item["status"]["observedGeneration"] == 3 and _ready(item)["status"] == "True"
    others = [r for r in twin.json("kubectl", "get", HELMRELEASES, "-A", "-o", "json")["items"]
              if r["metadata"]["name"] != "cert-manager"]
    assert all(r["metadata"]["generation"] == 1 and "annotations" not in r["metadata"] for r in others)


def test_resume_of_a_release_that_fails_again_prints_its_stall(make_twin):
    twin = make_twin("faults: [{fault: helmrelease-failing, name: cert-manager, namespace: cert-manager}]\n")
    twin.flux("suspend", "hr", "cert-manager", "-n", "cert-manager")
    resumed = twin.flux("resume", "hr", "cert-manager", "-n", "cert-manager")
    assert resumed.returncode == 1
    assert resumed.stderr.splitlines()[-1] == (
        "✗ HelmRelease cert-manager reconciliation failed: Failed to install after 1 attempt(s)")
    assert "suspend" not in _release(twin, "cert-manager", "cert-manager")["spec"]  # resumed all the same


def test_cilium_daemonset_is_ready_on_every_node_unless_an_agent_is_unhealthy(make_twin, cluster):
    healthy = make_twin().json("kubectl", "-n", "kube-system", "get", "daemonset", "cilium", "-o", "json")["status"]
    assert healthy["desiredNumberScheduled"] == healthy["numberReady"] == len(cluster.nodes)
    sick = make_twin("faults: [{fault: cilium-unhealthy}]\n").json(
        "kubectl", "-n", "kube-system", "get", "daemonsets.apps", "cilium", "-o", "json")["status"]
    assert sick["numberReady"] == len(cluster.nodes) - 1 and sick["numberUnavailable"] == 1
