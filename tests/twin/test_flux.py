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
