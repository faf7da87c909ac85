"""The bootstrap's checks of the workstation's secrets: the age key, the encrypted Talos bundle."""

from __future__ import annotations

import yaml

from homeops import load_cluster
from homeops.procedures import bootstrap_preflight
from homeops.procedures.bootstrap_files import Workspace, age_key_file

from tests.runbooks.bootstrap_fake import AGE_SECRET, ROOT

CLUSTER = load_cluster(ROOT / "cluster.yaml")
PUBLIC = str(CLUSTER.secrets.age_public_key)
OTHER = "age1" + "q" * 58


def key_file(tmp_path, public: str | None = PUBLIC, mode: int = 0o600):
    path = tmp_path / "keys.txt"
    path.write_text((f"# public key: {public}\n" if public else "") + f"{AGE_SECRET}\n")
    path.chmod(mode)
    return {"SOPS_AGE_KEY_FILE": str(path)}


def test_the_key_file_is_found_where_sops_looks():
    assert age_key_file({"SOPS_AGE_KEY_FILE": "/k/keys.txt", "XDG_CONFIG_HOME": "/x"}).as_posix() == "/k/keys.txt"
    assert age_key_file({"XDG_CONFIG_HOME": "/x"}).as_posix() == "/x/sops/age/keys.txt"


def test_the_key_of_cluster_yaml_passes_and_is_never_shown(tmp_path):
    result = bootstrap_preflight.age_key(CLUSTER, key_file(tmp_path))
    assert result.status == "ok" and PUBLIC in result.detail and AGE_SECRET not in result.detail


def test_another_key_fails_naming_both_public_keys(tmp_path):
    result = bootstrap_preflight.age_key(CLUSTER, key_file(tmp_path, OTHER))
    assert result.failed and f"is not the key of secrets.age_public_key {PUBLIC} (it holds {OTHER})" in result.detail


def test_a_key_others_may_read_is_a_warning(tmp_path):
    result = bootstrap_preflight.age_key(CLUSTER, key_file(tmp_path, mode=0o644))
    assert result.status == "warn" and "chmod 600" in result.detail


def test_a_missing_key_file_or_one_without_a_secret_key_fails(tmp_path):
    missing = bootstrap_preflight.age_key(CLUSTER, {"SOPS_AGE_KEY_FILE": str(tmp_path / "none.txt")})
    assert missing.failed and "No such file" in missing.detail
    (tmp_path / "empty.txt").write_text(f"# public key: {PUBLIC}\n")
    empty = bootstrap_preflight.age_key(CLUSTER, {"SOPS_AGE_KEY_FILE": str(tmp_path / "empty.txt")})
    assert empty.failed and "holds no AGE-SECRET-KEY-1 line" in empty.detail


def write_bundle(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))


def test_a_bundle_in_clear_or_to_another_key_is_refused(tmp_path):
    workspace = Workspace(tmp_path)
    sops = {"age": [{"recipient": PUBLIC, "enc": "..."}], "version": "3.10.2"}
    write_bundle(workspace.secrets_sops, {"cluster": {"id": "ENC[AES256_GCM,data:x,type:str]"}, "sops": sops})
    assert bootstrap_preflight.talos_secrets(CLUSTER, workspace).status == "ok"

    write_bundle(workspace.secrets_sops, {"cluster": {"id": "ENC[AES256_GCM,data:x]", "secret": "clear"}, "sops": sops})
    clear = bootstrap_preflight.talos_secrets(CLUSTER, workspace)
    assert clear.failed and clear.detail.endswith("values in clear: cluster.secret")

    write_bundle(workspace.secrets_sops, {"cluster": {"id": "x"}})
    assert "not SOPS-encrypted" in bootstrap_preflight.talos_secrets(CLUSTER, workspace).detail

    write_bundle(workspace.secrets_sops, {"cluster": {"id": "ENC[x]"}, "sops": {"age": [{"recipient": OTHER}]}})
    assert f"encrypted to {OTHER}, not to {PUBLIC}" in bootstrap_preflight.talos_secrets(CLUSTER, workspace).detail


def test_a_missing_bundle_is_made_by_the_run(tmp_path):
    workspace = Workspace(tmp_path)
    assert bootstrap_preflight.talos_secrets(CLUSTER, workspace).status == "warn"
    write_bundle(workspace.secrets_plain, {"cluster": {"id": "x"}})
    made = bootstrap_preflight.talos_secrets(CLUSTER, workspace)
    assert made.status == "warn" and made.detail.endswith("will be encrypted to secrets.sops.yaml")


def test_without_a_repository_or_a_token_flux_cannot_be_bootstrapped():
    assert bootstrap_preflight.repository(CLUSTER).failed  # the committed cluster.yaml leaves it commented out
    assert bootstrap_preflight.github_token({"GITHUB_TOKEN": " "}).failed
    assert bootstrap_preflight.github_token({"GITHUB_TOKEN": "ghp_x"}).detail == "GITHUB_TOKEN is set (not shown)"


def test_against_a_twin_the_bootstrap_writes_into_the_twins_directory_and_reads_the_project(tmp_path):
    from homeops.procedures.bootstrap_files import workspace_of

    config = ROOT / "cluster.yaml"
    real = workspace_of(config, {})
    assert real.written == ROOT and real.kubeconfig == ROOT / "kubeconfig"
    rehearsal = workspace_of(config, {"HOMEOPS_TWIN": str(tmp_path)})
    assert rehearsal.kubeconfig == tmp_path / "bootstrap-files" / "kubeconfig"
    assert rehearsal.secrets_sops == tmp_path / "bootstrap-files" / "talos" / "secrets.sops.yaml"
    assert rehearsal.generated == tmp_path / "bootstrap-files" / "talos" / "generated"
    assert rehearsal.patch("all") == ROOT / "talos" / "patches" / "all.yaml"
    assert rehearsal.cilium_values == ROOT / "kubernetes" / "apps" / "kube-system" / "cilium" / "app" / "values.yaml"
    assert rehearsal.sops_config == ROOT / ".sops.yaml"
