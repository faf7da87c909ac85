"""The twin's Flux after its own `flux bootstrap`: the rendered tree comes up in homeops.rendering.flux_order's
order on the twin's clock, and a missing Secret keeps what needs it not Ready, naming it."""

from __future__ import annotations

import json

import pytest

from homeops.rendering.flux_order import FluxOrder, Need, Ref, flux_order, twin_plan
from homeops.twin import cluster as twin_cluster
from homeops.twin import create, load_scenario
from homeops.twin.setup import progress
from tests.twin.conftest import ROOT, Twin

KUSTOMIZATIONS = "kustomizations.kustomize.toolkit.fluxcd.io"
HELMRELEASES = "helmreleases.helm.toolkit.fluxcd.io"
USER_SECRET_FILE = "kubernetes/apps/external-secrets/store/cloudflare.sops.yaml"


@pytest.fixture(scope="module")
def order():
    return flux_order(ROOT)


@pytest.fixture
def before_flux(tmp_path, cluster, monkeypatch):
    """before_flux(sops_secret=True, user_file=True) -> a twin whose cluster runs with Cilium but no Flux yet,
    its repository a project holding the user-written SOPS file or not."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_TwinTestTokenNeverShown0123456789abcd")

    def make(sops_secret: bool = True, user_file: bool = True) -> Twin:
        repository = tmp_path / "project"
        if user_file:
            (repository / USER_SECRET_FILE).parent.mkdir(parents=True)
            (repository / USER_SECRET_FILE).write_text("apiVersion: v1\nkind: Secret\nsops: {}\n")
        scenario = tmp_path / "scenario.yaml"
        scenario.write_text("reboot_seconds: 0.3\n")
        twin = Twin(create(tmp_path / "twin", cluster, load_scenario(scenario), repository=repository))
        with twin_cluster.state.change(str(twin.directory)) as state:
            setup = progress.editable(state)
            setup["flux"] = False
            setup["secrets"] = [progress.SOPS_SECRET] if sops_secret else []
            state["timing"]["flux_seconds"] = 60.0  # a minute a step: only the clock moves it on
        return twin

    return make


def bootstrap(twin: Twin) -> None:
    done = twin.flux("bootstrap", "github", "--owner=ana", "--repository=home-ops", "--path=kubernetes/flux")
    assert done.returncode == 0, done.stderr


def conditions(twin: Twin) -> dict[str, tuple[str, str, str]]:
    """Every Flux object the twin's kubectl lists: (Ready status, reason, message)."""
    found = {}
    for resource, kind in ((KUSTOMIZATIONS, "Kustomization"), (HELMRELEASES, "HelmRelease")):
        for item in json.loads(twin.kubectl("get", resource, "-A", "-o", "json").stdout)["items"]:
            ready = next(c for c in item["status"]["conditions"] if c["type"] == "Ready")
            name = item["metadata"]["name"] if kind == "Kustomization" else \
                f"{item['metadata']['namespace']}/{item['metadata']['name']}"
            found[f"{kind}/{name}"] = (ready["status"], ready["reason"], ready["message"])
    return found


def ready_steps(twin: Twin, steps: int) -> dict[str, int]:
    """For each object, the step of the twin's clock (a minute each) at which it was first seen Ready."""
    first: dict[str, int] = {}
    for step in range(steps):
        for name, (status, _, _) in conditions(twin).items():
            if status == "True":
                first.setdefault(name, step)
        twin_cluster.advance(str(twin.directory), 60.0)
    return first


def test_objects_become_ready_one_level_at_a_time_in_flux_order(before_flux, order):
    twin = before_flux()
    bootstrap(twin)
    first = conditions(twin)
    assert list(first) == ["Kustomization/flux-system"]  # nothing else applied yet
    assert first["Kustomization/flux-system"][:2] == ("Unknown", "Progressing")

    seen = ready_steps(twin, 30)
    kustomizations = {n: seen[f"Kustomization/{n}"] for n in order.kustomizations}
    releases = {f"{r.namespace}/{r.name}": (owner, seen[f"HelmRelease/{r.namespace}/{r.name}"])
                for owner, refs in order.releases.items() for r in refs}
    assert len(seen) == len(kustomizations) + len(releases)  # every one of them, in the end
    for name, step in kustomizations.items():
        assert all(kustomizations[d] < step for d in order.depends_on[name]), name
        if name != "flux-system":
            assert kustomizations["flux-system"] < step
    for owner, step in releases.values():
        assert step <= kustomizations[owner]  # wait: true, its Kustomization waits for its releases
        assert all(kustomizations[d] < step for d in order.depends_on[owner])
    # the tree's deepest chain takes as many steps: readiness follows the levels, not all at once
    assert kustomizations["cloudflared"] > kustomizations["cert-manager-issuers"] > kustomizations["cluster-secrets"]
    assert len(set(kustomizations.values())) >= len(order.waves())


def test_a_missing_user_secret_keeps_its_kustomization_and_dependents_not_ready_naming_it(before_flux, order):
    twin = before_flux(user_file=False)
    bootstrap(twin)
    twin_cluster.advance(str(twin.directory), 60.0 * 40)
    now = conditions(twin)
    assert now["Kustomization/cluster-secrets"][:2] == ("False", "BuildFailed")
    assert USER_SECRET_FILE.rsplit("/", 1)[1] in now["Kustomization/cluster-secrets"][2]
    for dependent in ("cert-manager-issuers", "external-dns"):
        assert now[f"Kustomization/{dependent}"] == (
            "False", "DependencyNotReady", "dependency 'flux-system/cluster-secrets' is not ready")
    assert now["Kustomization/cloudflared"][:2] == ("False", "DependencyNotReady")
    assert "HelmRelease/network/external-dns" not in now  # its Kustomization never applied it
    # what does not need the Secret comes up all the same
    assert now["Kustomization/rook-ceph-cluster"][0] == "True" and now["HelmRelease/kube-system/cilium"][0] == "True"


def test_without_the_sops_age_secret_nothing_that_decrypts_becomes_ready(before_flux):
    twin = before_flux(sops_secret=False)
    bootstrap(twin)
    twin_cluster.advance(str(twin.directory), 60.0 * 40)
    now = conditions(twin)
    assert now["Kustomization/flux-system"][0] == "True"  # flux bootstrap's own needs no key
    assert now["Kustomization/namespaces"] == ("False", "DecryptionFailed",
                                               'decryption failed: Secret "flux-system/sops-age" not found')
    assert not any(name.startswith("HelmRelease/") for name in now)
    done = twin.flux("reconcile", "kustomization", "cilium")
    assert done.returncode == 1 and "flux-system/sops-age" in done.stderr.splitlines()[-1]


def test_a_release_whose_chart_source_is_missing_stays_not_ready_naming_it(before_flux):
    twin = before_flux()
    with twin_cluster.state.change(str(twin.directory)) as state:  # as flux_order marks a source nothing makes
        release = next(r for r in state["rendered"]["flux_order"]["releases"] if r["name"] == "cert-manager")
        release["missing_source"] = "HelmRepository/flux-system/jetstack"
    bootstrap(twin)
    twin_cluster.advance(str(twin.directory), 60.0 * 40)
    now = conditions(twin)
    assert now["HelmRelease/cert-manager/cert-manager"] == (
        "False", "ArtifactFailed", "source 'HelmRepository/flux-system/jetstack' not found")
    assert now["Kustomization/cert-manager"][:2] == ("False", "HealthCheckFailed")
    assert "HelmRelease/cert-manager/cert-manager" in now["Kustomization/cert-manager"][2]
    assert now["Kustomization/cert-manager-issuers"][1:] == (
        "DependencyNotReady", "dependency 'flux-system/cert-manager' is not ready")


def test_the_twins_copy_of_the_order_names_a_source_nothing_makes():
    release = Ref("HelmRelease", "apps", "web")
    order = FluxOrder(["flux-system", "apps"], {"flux-system": (), "apps": ()}, {"apps": [release]},
                      {"apps": [release]},
                      [Need(release, Ref("HelmRepository", "flux-system", "charts"), "chart source", "missing")])
    plan = twin_plan(order)
    assert plan["releases"] == [{"namespace": "apps", "name": "web", "kustomization": "apps", "depends_on": [],
                                 "secrets": [], "missing_source": "HelmRepository/flux-system/charts"}]


def test_the_twins_copy_of_the_rendered_order_keeps_flux_orders_order_and_user_file(order):
    plan = twin_plan(order)
    assert [k["name"] for k in plan["kustomizations"]] == order.kustomizations
    holder = next(k for k in plan["kustomizations"] if k["files"])
    assert (holder["name"], holder["files"]) == ("cluster-secrets", [USER_SECRET_FILE])
