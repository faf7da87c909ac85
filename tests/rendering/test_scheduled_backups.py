"""backups.s3 in cluster.yaml renders siderolabs/talos-backup's CronJob, its Talos API access and the Secret you
write; without it nothing of it renders. The rendered objects validate, kustomize builds them, and Flux's order
on an empty cluster still resolves every need."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from homeops import load_cluster
from homeops.rendering import flux_order, inventory, tree
from homeops.rendering.flux_order import Ref
from tests.rendering import schemas
from tests.rendering.conftest import ROOT, render

KUBECTL = Path("/usr/bin/kubectl")
APP = "kubernetes/apps/backup/talos-backup"
USER_FILE = f"{APP}/s3-credentials.sops.yaml"
BACKUPS = """
backups:
  s3:
    endpoint: http://minio.example.com:9000
    bucket: home-ops-etcd
    prefix: etcd/home-ops
    path_style: true
    schedule: "30 2 * * *"
"""
# What talos-backup v0.1.0-beta.3 reads (siderolabs/talos-backup 11ca8c57ddbba453c0d3ea72cc2788fee82f8b8f,
# pkg/config/service.go), plus the AWS SDK's credential variables (its README: "S3 configurations may be
# supplied in whatever way the Go AWS SDK v2 expects them").
TALOS_BACKUP_ENV = {"CUSTOM_S3_ENDPOINT", "BUCKET", "AWS_REGION", "S3_PREFIX", "CLUSTER_NAME", "USE_PATH_STYLE",
                    "DISABLE_ENCRYPTION", "AGE_X25519_PUBLIC_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("backups") / "project"
    copy.mkdir()
    (copy / "cluster.yaml").write_text((ROOT / "cluster.yaml").read_text() + BACKUPS)
    shutil.copytree(ROOT / tree.TEMPLATES, copy / tree.TEMPLATES)
    assert render(copy) == 0
    return copy


def documents(project: Path, path: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((project / path).read_text()) if d]


def cronjob(project: Path) -> dict:
    [job] = documents(project, f"{APP}/cronjob.yaml")
    return job


def test_without_backups_nothing_of_it_is_rendered():
    assert not (ROOT / "kubernetes/apps/backup").exists()
    assert "kubernetesTalosAPIAccess" not in (ROOT / "talos/patches/controlplane.yaml").read_text()
    assert "talos-backup" not in {o.name for o in inventory.flux_kustomizations(ROOT)}
    assert "backup" not in {d["metadata"]["name"] for d in documents(ROOT, "kubernetes/apps/namespaces/namespaces.yaml")}


def test_the_cronjob_runs_talos_backup_pinned_with_the_values_of_cluster_yaml(project: Path):
    cluster = load_cluster(project / "cluster.yaml")
    job = cronjob(project)
    assert job["spec"]["schedule"] == "30 2 * * *" and job["spec"]["timeZone"] == "Etc/UTC"
    [container] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/siderolabs/talos-backup:v0.1.0-beta.3"
    text = (project / APP / "cronjob.yaml").read_text()
    assert "# renovate: datasource=docker depName=ghcr.io/siderolabs/talos-backup" in text
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert set(env) <= TALOS_BACKUP_ENV
    assert env["AGE_X25519_PUBLIC_KEY"] == cluster.secrets.age_public_key  # encrypted, never DISABLE_ENCRYPTION
    assert "DISABLE_ENCRYPTION" not in env
    assert (env["BUCKET"], env["S3_PREFIX"], env["CLUSTER_NAME"], env["CUSTOM_S3_ENDPOINT"], env["AWS_REGION"]) == (
        "home-ops-etcd", "etcd/home-ops", "home-ops", "http://minio.example.com:9000", "us-east-1")
    # v0.1.0-beta.3: UsePathStyle = os.Getenv("USE_PATH_STYLE") == "false"
    assert env["USE_PATH_STYLE"] == "false"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key] == {"secretKeyRef": {"name": "talos-backup-s3", "key": key}}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/var/run/secrets/talos.dev"] == "talos-secrets"
    volumes = {v["name"]: v for v in job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["talos-secrets"]["secret"]["secretName"] == "talos-backup-secrets"
    assert volumes["tmp"]["emptyDir"] == {"medium": "Memory"}  # the plain snapshot lives only in memory


def test_without_path_style_or_endpoint_no_endpoint_setting_is_rendered(tmp_path: Path):
    copy = tmp_path / "project"
    copy.mkdir()
    (copy / "cluster.yaml").write_text((ROOT / "cluster.yaml").read_text() + "backups:\n  s3:\n    bucket: etcd-aws\n")
    shutil.copytree(ROOT / tree.TEMPLATES, copy / tree.TEMPLATES)
    assert render(copy) == 0
    [container] = cronjob(copy)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    names = {e["name"] for e in container["env"]}
    assert "CUSTOM_S3_ENDPOINT" not in names and "USE_PATH_STYLE" not in names
    assert {e["name"]: e.get("value") for e in container["env"]}["S3_PREFIX"] == "home-ops"


def test_the_talos_service_account_and_the_control_planes_patch_grant_etcd_backup_only(project: Path):
    [account] = documents(project, f"{APP}/serviceaccount.yaml")
    assert (account["apiVersion"], account["kind"], account["metadata"]["name"]) == (
        "talos.dev/v1alpha1", "ServiceAccount", "talos-backup-secrets")
    assert account["spec"] == {"roles": ["os:etcd:backup"]}
    [patch] = documents(project, "talos/patches/controlplane.yaml")
    assert patch["machine"]["features"]["kubernetesTalosAPIAccess"] == {
        "enabled": True, "allowedRoles": ["os:etcd:backup"], "allowedKubernetesNamespaces": ["backup"]}
    assert "kubernetesTalosAPIAccess" not in (project / "talos/patches/all.yaml").read_text()
    assert patch["cluster"] == yaml.safe_load((ROOT / "talos/patches/controlplane.yaml").read_text())["cluster"]


def test_the_rendered_objects_validate_against_the_pinned_schemas(project: Path):
    kubernetes = load_cluster(project / "cluster.yaml").versions.kubernetes
    objects = [o for o in inventory.objects(project) if "backup" in o.path or o.name in ("talos-backup", "backup")]
    kinds = {o.kind for o in objects}
    assert {"CronJob", "Namespace", "Kustomization", "ServiceAccount"} <= kinds
    for o in objects:
        if o.document["apiVersion"].startswith("talos.dev/"):
            continue  # Talos makes this CRD itself; checked by shape above
        errors = (schemas.crd_errors(o.document) if schemas.is_crd_kind(o.document["apiVersion"], o.kind)
                  else schemas.core_errors(o.document, kubernetes))
        assert errors == [], f"{o.path}: {o.kind}/{o.name}: {errors}"


def test_the_validator_would_catch_a_broken_cronjob(project: Path):
    job = cronjob(project)
    job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["envv"] = []
    assert schemas.core_errors(job, load_cluster(project / "cluster.yaml").versions.kubernetes)


def test_flux_applies_it_after_the_namespaces_and_every_need_resolves(project: Path):
    order = flux_order.flux_order(project)
    assert order.problems == [] and order.cycles == [] and order.unapplied == []
    assert order.depends_on["talos-backup"] == ("namespaces",)
    needs = {(str(n.who), str(n.what)): n for n in order.needs}
    credentials = needs[("CronJob/backup/talos-backup", "Secret/backup/talos-backup-s3")]
    assert credentials.by == "bootstrap" and credentials.detail.startswith(f"you: {USER_FILE}")
    talosconfig = needs[("CronJob/backup/talos-backup", "Secret/backup/talos-backup-secrets")]
    assert (talosconfig.by, talosconfig.detail) == ("tree", "applied by talos-backup")
    crd = needs[("ServiceAccount/backup/talos-backup-secrets", "CustomResourceDefinition/talos.dev")]
    assert crd.by == "bootstrap" and "kubernetesTalosAPIAccess" in crd.detail
    assert needs[("CronJob/backup/talos-backup", "Namespace/backup")].detail == "applied by namespaces"
    plan = {k["name"]: k for k in flux_order.twin_plan(order)["kustomizations"]}
    assert plan["talos-backup"]["files"] == [USER_FILE]


def test_the_secret_you_write_is_listed_with_its_keys():
    namespace, name, what = tree.USER_SECRETS[USER_FILE]
    assert (namespace, name) == ("backup", "talos-backup-s3")
    assert "AWS_ACCESS_KEY_ID" in what and "AWS_SECRET_ACCESS_KEY" in what
    assert tree.not_rendered(USER_FILE)


@pytest.mark.skipif(not KUBECTL.is_file(), reason="needs the real kubectl at /usr/bin/kubectl (`kubectl kustomize`, offline)")
def test_kustomize_builds_it_in_its_namespace_once_your_secret_is_there(project: Path, tmp_path: Path):
    shutil.copytree(project / APP, tmp_path / "app")
    missing = subprocess.run([str(KUBECTL), "kustomize", str(tmp_path / "app")], capture_output=True, text=True,
                             timeout=120)
    assert missing.returncode != 0 and "s3-credentials.sops.yaml" in missing.stderr
    (tmp_path / "app" / "s3-credentials.sops.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "talos-backup-s3"},
        "stringData": {"AWS_ACCESS_KEY_ID": "placeholder", "AWS_SECRET_ACCESS_KEY": "placeholder"}}))
    built = subprocess.run([str(KUBECTL), "kustomize", str(tmp_path / "app")], capture_output=True, text=True,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    objects = {(d["kind"], d["metadata"]["namespace"], d["metadata"]["name"]) for d in yaml.safe_load_all(built.stdout)}
    assert objects == {("CronJob", "backup", "talos-backup"), ("ServiceAccount", "backup", "talos-backup-secrets"),
                       ("Secret", "backup", "talos-backup-s3")}
    order = flux_order.flux_order(project)
    assert {Ref(kind, namespace, name) for kind, namespace, name in objects} == set(order.applies["talos-backup"])
