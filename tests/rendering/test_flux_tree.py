"""The Flux tree as the real tools see it: kustomize builds what every Flux Kustomization points at, and a
reconcile on an empty cluster (homeops.rendering.flux_order) finds everything each object needs, in order."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from homeops.rendering import flux_order, inventory, tree
from homeops.rendering.flux_order import Ref
from tests.rendering.conftest import ROOT

KUBECTL = Path("/usr/bin/kubectl")
needs_kubectl = pytest.mark.skipif(not KUBECTL.is_file(), reason="needs the real kubectl at /usr/bin/kubectl "
                                                                  "(`kubectl kustomize`, offline)")
FLUX_KUSTOMIZATIONS = {o.name: o.document["spec"] for o in inventory.flux_kustomizations(ROOT)}
IN_THIS_REPOSITORY = {name: spec["path"] for name, spec in FLUX_KUSTOMIZATIONS.items()
                      if spec["sourceRef"]["name"] == flux_order.BOOTSTRAP}

# What flux bootstrap v2.6.4 writes in gotk-sync.yaml (pkg/manifestgen/sync/sync.go: a GitRepository and a
# Kustomization, both flux-system, the Kustomization at --path); enough for the committed patch to act on.
GOTK_SYNC = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  secretRef:
    name: flux-system
  url: ssh://git@github.com/owner/home-ops
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./kubernetes/flux
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
"""


def kustomize(directory: Path) -> list[dict]:
    done = subprocess.run([str(KUBECTL), "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kubectl kustomize {directory}: {done.stderr.strip()}"
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """The committed kubernetes/ with the secret files you write yourself present, as in a real checkout."""
    copy = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT / "kubernetes", copy / "kubernetes")
    for path, (namespace, name, _) in tree.USER_SECRETS.items():
        if not (copy / path).parent.is_dir():
            continue  # a component cluster.yaml does not render (talos-backup without backups.s3)
        (copy / path).write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": name, "namespace": namespace}, "stringData": {"placeholder": "not a secret"}}))
    return copy


@needs_kubectl
def test_kustomize_builds_flux_system_on_the_committed_placeholders_and_after_bootstrap_writes_its_files(tmp_path):
    assert kustomize(ROOT / "kubernetes/flux/flux-system") == []
    shutil.copytree(ROOT / "kubernetes/flux/flux-system", tmp_path / "flux-system")
    (tmp_path / "flux-system/gotk-sync.yaml").write_text(GOTK_SYNC)
    built = {d["kind"]: d for d in kustomize(tmp_path / "flux-system")}
    assert sorted(built) == ["GitRepository", "Kustomization"]
    assert "decryption" not in built["GitRepository"]["spec"]
    assert built["Kustomization"]["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}


@needs_kubectl
def test_kustomize_builds_what_flux_bootstrap_points_at():
    built = {(d["kind"], d["metadata"]["name"]) for d in kustomize(ROOT / "kubernetes/flux")}
    assert {("Kustomization", name) for name in FLUX_KUSTOMIZATIONS} <= built
    assert ("OCIRepository", "k8s-gateway") in built and ("GitRepository", "gateway-api") in built


@needs_kubectl
@pytest.mark.parametrize("name", sorted(IN_THIS_REPOSITORY))
def test_kustomize_builds_each_flux_kustomization_path_into_what_the_order_report_says_it_applies(name, checkout):
    built = kustomize(checkout / IN_THIS_REPOSITORY[name])
    assert built, f"{name}: {IN_THIS_REPOSITORY[name]} builds nothing"
    refs = {Ref(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in built}
    assert refs == set(flux_order.flux_order(checkout).applies[name])


def test_without_your_secret_file_the_store_kustomization_is_the_one_that_fails_naming_it():
    if not KUBECTL.is_file():
        pytest.skip("needs the real kubectl at /usr/bin/kubectl (`kubectl kustomize`, offline)")
    [path] = [p for p in tree.USER_SECRETS if (ROOT / p).parent.is_dir()]  # the ones the committed tree lists
    done = subprocess.run([str(KUBECTL), "kustomize", str(ROOT / Path(path).parent)], capture_output=True, text=True)
    assert done.returncode != 0 and Path(path).name in done.stderr


# --- the reconcile simulation ----------------------------------------------------------------------------

ORDER = flux_order.flux_order(ROOT)


def test_on_an_empty_cluster_every_need_resolves_and_nothing_waits_on_a_cycle():
    assert ORDER.cycles == []
    assert ORDER.problems == [], "\n".join(map(str, ORDER.problems))
    assert ORDER.unapplied == []
    assert ORDER.kustomizations[0] == "flux-system" and set(ORDER.kustomizations) == {"flux-system", *FLUX_KUSTOMIZATIONS}


def test_the_needs_are_the_ones_a_bootstrap_trips_over():
    resolved = {(str(n.who), str(n.what), n.why): n for n in ORDER.needs}
    store = resolved[("ExternalSecret/network/external-dns-cloudflare", "ClusterSecretStore/cluster-secrets",
                      "secret store")]
    assert (store.by, store.detail) == ("tree", "applied by cluster-secrets")
    data = resolved[("ExternalSecret/network/external-dns-cloudflare", "Secret/external-secrets/cloudflare",
                     "store data")]
    assert data.by == "bootstrap" and "kubernetes/apps/external-secrets/store/cloudflare.sops.yaml" in data.detail
    assert resolved[("HelmRelease/network/k8s-gateway", "OCIRepository/flux-system/k8s-gateway", "chart source")].by == "tree"
    assert resolved[("HelmRelease/network/external-dns", "Secret/network/external-dns-cloudflare", "Secret")].by == "tree"
    assert resolved[("HelmRelease/kube-system/cilium", "ConfigMap/kube-system/cilium-values", "valuesFrom")].by == "tree"
    assert resolved[("Gateway/network/external-gateway", "CustomResourceDefinition/gateway.networking.k8s.io",
                     "CRD")].detail == "applied by gateway-api-crds"


def test_the_bootstrap_steps_it_relies_on_are_named():
    steps = ORDER.bootstrap_steps
    assert "flux bootstrap (gotk-sync.yaml)" in steps and "flux bootstrap (gotk-components.yaml)" in steps
    assert any(step.startswith("the SOPS age Secret") for step in steps)
    assert any(step.startswith("you: kubernetes/apps/external-secrets/store/cloudflare.sops.yaml") for step in steps)
    assert len(steps) == 4


def test_the_order_applies_each_kustomization_after_everything_it_depends_on():
    position = {name: index for index, name in enumerate(ORDER.kustomizations)}
    for name, dependencies in ORDER.depends_on.items():
        assert all(position[d] < position[name] for d in dependencies), name
    assert position["cluster-secrets"] < position["cert-manager-issuers"] < position["gateways"] < position["cloudflared"]
    assert [r.name for r in ORDER.releases["cilium"]] == ["cilium"]
    waves = ORDER.waves()
    assert sorted(sum(waves, [])) == sorted(ORDER.kustomizations)
    wave_of = {name: index for index, wave in enumerate(waves) for name in wave}
    assert all(wave_of[d] < wave_of[name] for name, deps in ORDER.depends_on.items() for d in deps)


def test_the_report_names_the_order_and_the_bootstrap_steps():
    report = ORDER.report()
    assert report.splitlines()[1] == " 1. Kustomization flux-system (after flux bootstrap)"
    assert " 7. Kustomization cluster-secrets (after external-secrets)" in report
    assert report.endswith("every need resolves; no cycle")


# --- what it catches -------------------------------------------------------------------------------------


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "kubernetes", tmp_path / "kubernetes")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_missing_store_chart_source_and_dependency_are_named(tree_copy: Path):
    shutil.rmtree(tree_copy / "kubernetes/apps/external-secrets/store")
    edit(tree_copy / "kubernetes/flux/apps.yaml", "    - name: rook-ceph\n", "    - name: rook-operator\n")
    edit(tree_copy / "kubernetes/flux/repositories/k8s-gateway.yaml", "  name: k8s-gateway\n", "  name: k8s-gw\n")
    problems = {str(n) for n in flux_order.flux_order(tree_copy).problems}
    assert ("HelmRelease/network/k8s-gateway needs OCIRepository/flux-system/k8s-gateway (chart source): "
            "missing: nothing in the tree or the bootstrap makes it") in problems
    assert ("ExternalSecret/network/cloudflared-tunnel needs ClusterSecretStore/cluster-secrets (secret store): "
            "missing: nothing in the tree or the bootstrap makes it") in problems
    assert any(p.startswith("Kustomization/flux-system/rook-ceph-cluster needs Kustomization/flux-system/rook-operator "
                            "(dependsOn): missing") for p in problems)


def test_a_dependency_cycle_is_named_and_what_waits_on_it_is_not_ordered(tree_copy: Path):
    edit(tree_copy / "kubernetes/flux/apps.yaml", "  path: ./kubernetes/apps/namespaces\n",
         "  path: ./kubernetes/apps/namespaces\n  dependsOn:\n    - name: zfs-localpv\n")
    order = flux_order.flux_order(tree_copy)
    assert sorted(sorted(cycle) for cycle in order.cycles) == [["namespaces", "zfs-localpv"]]
    assert "namespaces" not in order.kustomizations
    assert "cycle: namespaces -> zfs-localpv -> namespaces" in order.report()


def test_an_object_applied_before_what_it_needs_is_reported_unordered(tree_copy: Path):
    # external-dns no longer waits for the store: its ExternalSecret would race it
    edit(tree_copy / "kubernetes/flux/apps.yaml", "    - name: cluster-secrets\n    - name: namespaces\n",
         "    - name: external-secrets\n    - name: namespaces\n")
    [problem] = {n for n in flux_order.flux_order(tree_copy).problems if n.who.name == "external-dns-cloudflare"
                 and n.why == "secret store"}
    assert problem.by == "unordered"
    assert problem.detail == ("cluster-secrets applies it, and external-dns (which applies "
                              "ExternalSecret/network/external-dns-cloudflare) does not depend on it")


def test_a_rendered_file_no_flux_kustomization_points_at_is_named_as_never_applied(tree_copy: Path):
    edit(tree_copy / "kubernetes/flux/apps.yaml", "  path: ./kubernetes/apps/openebs-system/zfs-localpv\n",
         "  path: ./kubernetes/apps/openebs-system/zfs\n")
    order = flux_order.flux_order(tree_copy)
    assert order.unapplied == ["kubernetes/apps/openebs-system/zfs-localpv/helmrelease.yaml",
                               "kubernetes/apps/openebs-system/zfs-localpv/storageclass.yaml"]
    assert ("not applied (no Flux Kustomization points at it): "
            "kubernetes/apps/openebs-system/zfs-localpv/storageclass.yaml") in order.report()
