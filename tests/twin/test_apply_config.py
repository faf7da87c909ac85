"""The twin's `talosctl apply-config` to running nodes: what each node runs, dry-run diffs in Talos's
shape, the reboot verdict of Talos's CanApplyImmediate, and the modes no-reboot, reboot, staged and try."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from homeops.twin import cluster as twin_cluster
from homeops.twin.talos import applied_config, config_doc, reboot_rules

ROOT = Path(__file__).resolve().parents[2]
WORKER = "10.0.10.21"


def bundle_of(twin, tmp_path: Path) -> Path:
    plain = tmp_path / "secrets.yaml"
    done = twin.run("sops", "--decrypt", "--output", str(plain),
                    str(twin.directory / "bootstrap-files" / "talos" / "secrets.sops.yaml"))
    assert done.returncode == 0, done.stderr
    return plain


def generated(twin, tmp_path: Path, node: str = "worker-1", *, patches: Path = ROOT / "talos") -> Path:
    """worker-1's configuration as the runbook makes it: gen config with the rendered patches."""
    out = tmp_path / f"{node}.yaml"
    done = twin.talosctl("gen", "config", "home-ops", "https://10.0.50.50:6443", "--with-secrets",
                         str(bundle_of(twin, tmp_path)), "--install-image", twin.image("v1.11.1"),
                         "--config-patch", f"@{patches / 'patches' / 'all.yaml'}",
                         "--config-patch", f"@{patches / 'nodes' / f'{node}.yaml'}",
                         "--output-types", "worker", "--output", str(out), "--force")
    assert done.returncode == 0, done.stderr
    return out


def edited_patches(tmp_path: Path, old: str, new: str) -> Path:
    copy = tmp_path / "talos"
    shutil.copytree(ROOT / "talos", copy, dirs_exist_ok=True)
    all_yaml = copy / "patches" / "all.yaml"
    text = all_yaml.read_text()
    assert old in text
    all_yaml.write_text(text.replace(old, new))
    return copy


NAMESERVER = ("    nameservers:\n      - 10.0.0.1\n", "    nameservers:\n      - 10.0.0.53\n")
ENV = ("machine:\n", "machine:\n  env:\n    HTTPS_PROXY: http://proxy.example.com:3128\n")


def node_state(twin, name: str = "worker-1") -> dict:
    """The node as the state holds it, with its configuration unsealed (the state keeps secrets in base64)."""
    node = next(n for n in twin.state()["nodes"] if n["name"] == name)
    return {**node, "config": applied_config.unseal(node["config"])}


def test_a_running_twin_runs_what_its_rendered_patches_make(twin, tmp_path):
    done = twin.talosctl("-n", WORKER, "apply-config", "--file", str(generated(twin, tmp_path)), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ("Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\n"
                           "Config diff:\n\nNo changes.\n")


def test_a_nameserver_change_applies_without_a_reboot_and_the_node_reports_it(twin, tmp_path):
    config = generated(twin, tmp_path, patches=edited_patches(tmp_path, *NAMESERVER))
    boot = node_state(twin)["boot_id"]
    dry = twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--dry-run")
    assert dry.stderr.startswith("Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\n"
                                 "Config diff:\n\n--- a\n+++ b\n@@ -")
    assert "-            - 10.0.0.1\n+            - 10.0.0.53\n" in dry.stderr
    assert node_state(twin)["config"]["machine"]["network"]["nameservers"] == ["10.0.0.1"]  # a dry run changes nothing

    done = twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--mode", "no-reboot")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "Applied configuration without a reboot\n"
    after = node_state(twin)
    assert after["boot_id"] == boot and after["reboot"] is None
    assert after["config"] == json.loads(config.read_text())
    shown = twin.talosctl("-n", WORKER, "get", "machineconfig", "-o", "yaml").stdout
    assert "- 10.0.0.53" in shown and "- 10.0.0.1\n" not in shown


def test_an_env_change_needs_a_reboot_which_does_not_drain(twin, tmp_path):
    config = generated(twin, tmp_path, patches=edited_patches(tmp_path, *ENV))
    dry = twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--dry-run")
    assert dry.stderr.startswith("Dry run summary:\nApplied configuration with a reboot (skipped in dry-run).\n")
    assert "+    env:\n+        HTTPS_PROXY: http://proxy.example.com:3128\n" in dry.stderr
    refused = twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--mode", "no-reboot")
    assert refused.returncode == 1
    assert ("error applying new configuration: rpc error: code = InvalidArgument desc = this config change can't be "
            "applied in immediate mode\ndiff:\n--- a") in refused.stderr
    assert "env" not in json.dumps(node_state(twin)["config"])

    boot = node_state(twin)["boot_id"]
    done = twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--mode", "reboot")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "Applied configuration with a reboot\n"
    rebooting = node_state(twin)
    assert rebooting["reboot"] and not rebooting["unschedulable"]  # talos#9603: no cordon, no drain
    twin_cluster.advance(str(twin.directory), 1.0)
    back = node_state(twin)
    assert back["reboot"] is None and back["boot_id"] != boot and back["talos_version"] == "v1.11.1"
    assert back["config"]["machine"]["env"] == {"HTTPS_PROXY": "http://proxy.example.com:3128"}


def test_try_reverts_after_its_timeout_unless_a_second_apply_keeps_it(twin, tmp_path):
    config = generated(twin, tmp_path, patches=edited_patches(tmp_path, *NAMESERVER))
    done = twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--mode", "try", "--timeout", "1m")
    assert done.stderr == ("Applied configuration without a reboot\nThe config is applied in 'try' mode and will be "
                           "automatically reverted back in 1m0s\n")
    assert node_state(twin)["config"]["machine"]["network"]["nameservers"] == ["10.0.0.53"]
    twin_cluster.advance(str(twin.directory), 61)
    assert node_state(twin)["config"]["machine"]["network"]["nameservers"] == ["10.0.0.1"]

    twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--mode", "try", "--timeout", "1m")
    kept = twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--mode", "no-reboot")
    assert kept.returncode == 0, kept.stderr
    twin_cluster.advance(str(twin.directory), 61)
    assert node_state(twin)["config"]["machine"]["network"]["nameservers"] == ["10.0.0.53"]


def test_a_tried_configuration_that_cuts_the_node_off_reverts_by_itself(make_twin, tmp_path):
    twin = make_twin("reboot_seconds: 0.3\nfaults:\n  - fault: config-cuts-off\n    node: worker-1\n")
    config = generated(twin, tmp_path, patches=edited_patches(tmp_path, *NAMESERVER))
    twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--mode", "try", "--timeout", "1m")
    cut = twin.talosctl("-n", WORKER, "version", "--json")
    assert cut.returncode == 1 and "i/o timeout" in cut.stderr
    twin_cluster.advance(str(twin.directory), 61)
    assert twin.talosctl("-n", WORKER, "version", "--json").returncode == 0
    assert node_state(twin)["config"]["machine"]["network"]["nameservers"] == ["10.0.0.1"]


def test_staged_waits_for_the_next_boot(twin, tmp_path):
    config = generated(twin, tmp_path, patches=edited_patches(tmp_path, *ENV))
    done = twin.talosctl("-n", WORKER, "apply-config", "--file", str(config), "--mode", "staged")
    assert done.stderr == "Staged configuration to be applied after the next reboot\n"
    assert "env" not in node_state(twin)["config"]["machine"]


@pytest.mark.parametrize(("path", "reboot"), [
    ("machine.network.nameservers", False), ("machine.install.disk", False), ("machine.install.extraKernelArgs", False),
    ("machine.install.extensions", False), ("machine.features.kubePrism.port", False), ("cluster.proxy.disabled", False),
    ("machine.env.HTTPS_PROXY", True), ("machine.files", True), ("machine.features.rbac", True),
    ("machine.type", True), ("machine.udev.rules", True), ("machine.networkx", True),
])
def test_reboot_rules_follow_can_apply_immediate(path, reboot):
    assert reboot_rules.immediate(path) is not reboot


def test_patches_read_as_yaml_reads_them(tmp_path):
    import yaml

    for path in sorted((ROOT / "talos").rglob("*.yaml")):
        if "generated" in path.parts:
            continue
        assert config_doc.read_patch(path.read_text(), str(path)) == (yaml.safe_load(path.read_text()) or {}), path


def test_the_dry_run_answers_in_the_shape_of_talos_own_texts(twin, tmp_path):
    """The twin's answers start as upstream's (tests/tools/fixtures/upstream/, from machined's Sprintf and configdiff)."""
    fixtures = ROOT / "tests" / "tools" / "fixtures" / "upstream"
    none = twin.talosctl("-n", WORKER, "apply-config", "--file", str(generated(twin, tmp_path)), "--dry-run")
    assert none.stderr == (fixtures / "talosctl-apply-config-dry-run-no-changes.txt").read_text()
    changed = generated(twin, tmp_path, patches=edited_patches(tmp_path, *ENV))
    reboot = twin.talosctl("-n", WORKER, "apply-config", "--file", str(changed), "--dry-run").stderr
    upstream = (fixtures / "talosctl-apply-config-dry-run.txt").read_text()
    head = "Dry run summary:\nApplied configuration with a reboot (skipped in dry-run).\nConfig diff:\n\n--- a\n+++ b\n@@ -"
    assert upstream.startswith(head) and reboot.startswith(head)
    assert upstream.endswith("\n\n") and reboot.endswith("\n\n")  # the diff's own newline, then Println's


def test_the_state_keeps_no_machine_secret_in_clear(twin):
    from homeops.twin.talos import machine_config

    state = twin.state()
    text = (twin.directory / "state.json").read_text()
    bundle = machine_config.made_up_bundle(state["cluster"]["name"])
    assert node_state(twin)["config"]["machine"]["token"] == bundle["secrets"]["bootstraptoken"]
    for secret in (bundle["secrets"]["bootstraptoken"], bundle["certs"]["os"]["key"], bundle["cluster"]["secret"]):
        assert secret not in text
