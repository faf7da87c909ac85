"""apply-config's procedures in process: the dry run read and redacted (config_diff), and the steps of
config_apply against a twin whose fake tools are first on PATH (so mutation testing sees these calls)."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from homeops import load_cluster
from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import config_apply, config_diff
from homeops.procedures.session import Session
from homeops.rendering import render
from homeops.tools.process import ToolError
from homeops.twin import cluster as twin_cluster
from homeops.twin.directory import create
from homeops.twin.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "tools" / "fixtures" / "upstream"
ARGV = ["talosctl", "-n", "10.0.10.21", "apply-config", "--file", "f", "--dry-run"]


# --- config_diff ---------------------------------------------------------------------------

def test_the_upstream_dry_run_of_a_change_that_needs_a_reboot_is_read_with_its_diff():
    dry = config_diff.parse_dry_run((FIXTURES / "talosctl-apply-config-dry-run.txt").read_text(), ARGV)
    assert dry.reboot and dry.changes
    assert dry.diff.splitlines()[:3] == ["--- a", "+++ b", "@@ -1,6 +1,6 @@"]
    assert "-    type: controlplane" in dry.diff.splitlines() and "+    type: worker" in dry.diff.splitlines()
    assert "     token: [REDACTED machine-config secret]" in dry.diff.splitlines()  # foo, in the upstream test
    assert "foo" not in dry.diff


def test_the_upstream_dry_run_of_nothing_to_change_has_no_diff():
    dry = config_diff.parse_dry_run((FIXTURES / "talosctl-apply-config-dry-run-no-changes.txt").read_text(), ARGV)
    assert not dry.reboot and not dry.changes and dry.diff == ""


@pytest.mark.parametrize("text", ["", "Applied configuration without a reboot\n",
                                  "Dry run summary:\nSomething else (skipped in dry-run).\nConfig diff:\n\nNo changes.\n",
                                  "Dry run summary:\nApplied configuration with a reboot (skipped in dry-run).\n"
                                  "token: s3cr3t-token-value\n"])
def test_anything_else_is_refused_without_showing_it(text):
    with pytest.raises(ToolError) as raised:
        config_diff.parse_dry_run(text, ARGV)
    assert "Dry run summary:" in str(raised.value) and "not shown" in str(raised.value)
    assert raised.value.returncode == 0  # talosctl succeeded; what it printed is not what was asked
    assert "s3cr3t" not in str(raised.value)


def test_every_secret_holding_key_and_the_block_under_it_is_masked_and_nothing_else():
    diff = "\n".join([
        "--- a", "+++ b", "@@ -1,9 +1,9 @@",
        "     token: abcdef.0123456789abcdef",
        "-        crt: LS0tLS1CRUdJTi1vbGQ=",
        "+        crt: LS0tLS1CRUdJTi1uZXc=",
        "     key: |",
        "         -----BEGIN PRIVATE KEY-----",
        "         MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "     secretboxEncryptionSecret: 4a3f9c2d1e",
        "     aescbcEncryptionSecret: {}",
        "         - id: 7ab3c1",
        "     hostname: cp-1",
        "+            - 10.0.0.53",
    ])
    lines = config_diff.redacted_diff(diff).splitlines()
    mask = config_diff.MASK
    assert lines == [
        "--- a", "+++ b", "@@ -1,9 +1,9 @@",
        f"     token: {mask}",
        f"-        crt: {mask}",
        f"+        crt: {mask}",
        f"     key: {mask}",
        f"         {mask}",
        f"         {mask}",
        f"     secretboxEncryptionSecret: {mask}",
        "     aescbcEncryptionSecret: {}",
        f"         - id: {mask}",
        "     hostname: cp-1",
        "+            - 10.0.0.53",
    ]


@pytest.mark.parametrize("indicator", ["", "|", ">", "|-", ">-"])
def test_a_block_under_a_secret_key_is_masked_to_its_end_and_not_into_the_next_hunk(indicator):
    diff = "\n".join([
        "@@ -1,4 +1,4 @@", f"     key: {indicator}".rstrip(), "         c2VjcmV0LWxpbmUtb25l", "         c2VjcmV0LWxpbmUtdHdv",
        "     hostname: cp-1", "@@ -40,3 +40,3 @@", "-            - 10.0.0.1", "+            - 10.0.0.53",
    ])
    mask = config_diff.MASK
    assert config_diff.redacted_diff(diff).splitlines() == [
        "@@ -1,4 +1,4 @@", f"     key: {mask}" if indicator else "     key:", f"         {mask}", f"         {mask}", "     hostname: cp-1",
        "@@ -40,3 +40,3 @@", "-            - 10.0.0.1", "+            - 10.0.0.53"]
    last_in_hunk = "\n".join(["@@ -1,1 +1,1 @@", f"     crt: {indicator}".rstrip(), "@@ -9,2 +9,2 @@",
                               "             nameservers:", "-                - 10.0.0.1"])
    assert config_diff.redacted_diff(last_in_hunk).splitlines()[3:] == ["             nameservers:",
                                                                      "-                - 10.0.0.1"]


def test_a_secret_key_opening_a_list_item_masks_its_block_not_the_items_other_keys():
    diff = "\n".join(["+    - key: |", "+          c2VjcmV0LWxpbmU=", "+      name: registry", "+    - name: other"])
    assert config_diff.redacted_diff(diff).splitlines() == [
        f"+    - key: {config_diff.MASK}", f"+          {config_diff.MASK}", "+      name: registry", "+    - name: other"]


@pytest.mark.parametrize("empty", ["{}", "[]"])
def test_an_empty_secret_field_is_shown_as_it_is(empty):
    assert config_diff.redacted_diff(f"+    token: {empty}\n+    hostname: cp-1") == f"+    token: {empty}\n+    hostname: cp-1"


def test_machine_ca_and_network_are_compared_as_talos_holds_them():
    running = {"machine": {"ca": {"crt": "CA-1\n"}, "network": {"nameservers": ["10.0.0.1"]}}}
    same = {"machine": {"ca": {"crt": "CA-1"}, "network": {"nameservers": ["10.0.0.1"]}}}
    assert config_diff.same_ca(running, same) and not config_diff.network_changes(running, same)
    assert not config_diff.same_ca(running, {"machine": {"ca": {"crt": "CA-2"}}})
    assert not config_diff.same_ca({"machine": {}}, {"machine": {}})  # no CA at all is not "the same"
    assert config_diff.machine_ca({"machine": {"ca": {"crt": 7}}}) == ""
    assert config_diff.network_changes(running, {"machine": {"ca": {"crt": "CA-1"}, "network": {}}})


def test_a_configuration_that_is_not_a_mapping_is_refused_without_its_text():
    with pytest.raises(ValueError) as raised:
        config_diff.configuration("- token: s3cr3t\n", "cp-1's MachineConfig")
    assert "cp-1's MachineConfig is not a YAML mapping" in str(raised.value) and "s3cr3t" not in str(raised.value)
    with pytest.raises(ValueError, match="no configuration under spec"):
        config_diff.running_configuration("node: 10.0.10.11\nmetadata: {}\n", "cp-1's MachineConfig")
    assert config_diff.running_configuration("spec:\n    version: v1alpha1\n", "x") == {"version": "v1alpha1"}


# --- config_apply against a twin -----------------------------------------------------------

@pytest.fixture
def make_world(tmp_path, monkeypatch):
    def make(scenario: str | None = None) -> World:
        """A rendered project, its running twin (in `scenario`) first on PATH, and sessions of it."""
        return _world(tmp_path, monkeypatch, scenario)

    return make


@pytest.fixture
def world(make_world):
    return make_world()


def _world(tmp_path, monkeypatch, scenario_text):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "cluster.yaml", project / "cluster.yaml")
    shutil.copytree(ROOT / "templates", project / "templates")
    config = project / "cluster.yaml"
    cluster = load_cluster(config)
    render.write(project, render.render(project, config, cluster))
    scenario = None
    if scenario_text:
        (tmp_path / "scenario.yaml").write_text(scenario_text)
        scenario = load_scenario(tmp_path / "scenario.yaml", cluster)
    twin = create(tmp_path / "twin", cluster, scenario)
    state = json.loads((twin / "state.json").read_text())
    state["timing"].update(reboot_seconds=0.3, talos_drain_seconds=0.3, recovery_seconds=0.15, patience_seconds=1.2)
    (twin / "state.json").write_text(json.dumps(state))
    monkeypatch.setenv("PATH", f"{twin / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOMEOPS_TWIN", str(twin))
    return World(config, twin)


class World:
    def __init__(self, config: Path, twin: Path):
        self.config, self.twin, self.out = config, twin, io.StringIO()

    def session(self, apply: bool) -> Session:
        return Session(load_cluster(self.config), Gate(apply, out=self.out), wait_timeout=3, poll_interval=0.05,
                       project=self.config.parent)

    def edit(self, old: str, new: str) -> None:
        text = self.config.read_text()
        assert old in text
        self.config.write_text(text.replace(old, new))
        self.render()

    def render(self) -> None:
        cluster = load_cluster(self.config)
        render.write(self.config.parent, render.render(self.config.parent, self.config, cluster))

    def configs(self) -> dict[str, dict]:
        twin_cluster.advance(str(self.twin), 0)
        return {n["name"]: n["config"] for n in json.loads((self.twin / "state.json").read_text())["nodes"]}


NAMESERVER = ("  nameservers:\n    - 10.0.0.1\n", "  nameservers:\n    - 10.0.0.53\n")


def test_nodes_are_chosen_by_name_in_cluster_yaml_order(world):
    session = world.session(False)
    assert [n.name for n in config_apply.select_nodes(session, "")] == ["cp-1", "cp-2", "worker-1", "worker-2",
                                                                        "worker-3"]
    assert [n.name for n in config_apply.select_nodes(session, " worker-2, cp-1 ")] == ["cp-1", "worker-2"]
    with pytest.raises(RunbookStopped, match=r"no node named 'nobody', 'x' in cluster.yaml .*nothing changed"):
        config_apply.select_nodes(session, "nobody,worker-1,x")


def test_a_tree_that_is_not_what_cluster_yaml_renders_is_refused(world):
    assert "what cluster.yaml renders" in config_apply.require_rendered(world.session(True), world.config)
    world.config.write_text(world.config.read_text().replace(*NAMESERVER))
    with pytest.raises(RunbookStopped) as raised:
        config_apply.require_rendered(world.session(True), world.config)
    assert "refused: 1 rendered file(s) are not what cluster.yaml renders" in str(raised.value)
    assert "talos/patches/all.yaml" in str(raised.value) and "run `homeops render`" in str(raised.value)


def test_without_a_secrets_bundle_nothing_is_made(world):
    (world.twin / "bootstrap-files" / "talos" / "secrets.sops.yaml").unlink()
    with pytest.raises(RunbookStopped, match="refused: no secrets bundle at .*secrets.sops.yaml"):
        config_apply.generated_configs(world.session(False), world.config, world.session(False).cluster.nodes)


def test_configurations_live_in_a_private_directory_removed_at_the_first_failure(world):
    session = world.session(False)
    nodes = session.cluster.nodes
    configs = config_apply.generated_configs(session, world.config, nodes)
    directory = configs.directory
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{n.name}.yaml" for n in nodes)  # no clear bundle
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    running = config_apply.check_machine_ca(session, nodes, configs)
    assert set(running) == {n.name for n in nodes}
    configs.files["cp-1"].write_text(configs.files["cp-1"].read_text().replace('"crt": "', '"crt": "X'))
    with pytest.raises(RunbookStopped) as raised:
        config_apply.check_machine_ca(session, nodes, configs)
    assert str(raised.value).startswith("refused: the configuration made for cp-1 names another machine CA than it runs")
    assert not directory.exists()


def test_a_plan_shows_each_diff_and_applies_nothing(world, capsys):
    world.edit(*NAMESERVER)
    session = world.session(False)
    nodes = config_apply.select_nodes(session, "worker-1")
    configs = config_apply.generated_configs(session, world.config, nodes)
    plans = config_apply.plan_nodes(session, nodes, configs, config_apply.check_machine_ca(session, nodes, configs))
    assert [p.how for p in plans] == ["applies without a reboot; a network change: tried first (it reverts unless kept)"]
    shown = capsys.readouterr().out
    assert "+            - 10.0.0.53" in shown.splitlines()
    done = config_apply.apply_nodes(session, plans, configs, accept_two_member_etcd_risk=False, try_seconds=30)
    assert done == ["worker-1"]
    assert [line.split("  #")[0] for line in world.out.getvalue().splitlines() if line.startswith("PLAN:")] == [
        f"PLAN: talosctl -n 10.0.10.21 apply-config --file {configs.directory}/worker-1.yaml --mode try --timeout 30s",
        "PLAN: would wait for worker-1 answering with its tried configuration (up to 15s)",
        f"PLAN: talosctl -n 10.0.10.21 apply-config --file {configs.directory}/worker-1.yaml --mode no-reboot",
        "PLAN: would wait for worker-1's MachineConfig to equal its generated configuration (up to 10s)",
    ]
    assert not configs.directory.exists()
    assert world.configs()["worker-1"]["machine"]["network"]["nameservers"] == ["10.0.0.1"]
    assert config_apply.summary(done, plans, apply=False) == "would apply the configuration of worker-1"


def test_apply_tries_keeps_and_confirms_then_a_rerun_has_nothing_to_do(world):
    world.edit(*NAMESERVER)
    session = world.session(True)
    nodes = config_apply.select_nodes(session, "worker-1,worker-2")
    configs = config_apply.generated_configs(session, world.config, nodes)
    plans = config_apply.plan_nodes(session, nodes, configs, config_apply.check_machine_ca(session, nodes, configs))
    done = config_apply.apply_nodes(session, plans, configs, accept_two_member_etcd_risk=False, try_seconds=30)
    assert done == ["worker-1", "worker-2"]
    after = world.configs()
    assert after["worker-1"]["machine"]["network"]["nameservers"] == ["10.0.0.53"]
    assert after["worker-3"]["machine"]["network"]["nameservers"] == ["10.0.0.1"]
    assert "worker-2: runs its new configuration" in world.out.getvalue()

    configs = config_apply.generated_configs(session, world.config, nodes)
    plans = config_apply.plan_nodes(session, nodes, configs, config_apply.check_machine_ca(session, nodes, configs))
    assert config_apply.apply_nodes(session, plans, configs, accept_two_member_etcd_risk=False, try_seconds=30) == []
    assert "every node already runs its configuration: nothing to apply" in world.out.getvalue()
    assert config_apply.summary([], plans, apply=True) == "every node already runs its configuration: nothing applied"


def test_a_failed_apply_names_the_node_and_what_was_not_applied(world, monkeypatch):
    world.edit(*NAMESERVER)
    session = world.session(True)
    nodes = config_apply.select_nodes(session, "worker-1,worker-2,worker-3")
    configs = config_apply.generated_configs(session, world.config, nodes)
    plans = config_apply.plan_nodes(session, nodes, configs, config_apply.check_machine_ca(session, nodes, configs))
    plans[1].file.unlink()  # worker-2's apply fails: talosctl cannot read its file
    with pytest.raises(RunbookStopped) as raised:
        config_apply.apply_nodes(session, plans, configs, accept_two_member_etcd_risk=False, try_seconds=30)
    message = str(raised.value)
    assert message.startswith("worker-2: stopped at step 'apply-config': ")
    assert "left in place: nothing (worker-2 keeps the configuration it ran); not applied yet: worker-3" in message
    after = world.configs()
    assert [after[w]["machine"]["network"]["nameservers"] for w in ("worker-1", "worker-2", "worker-3")] == [
        ["10.0.0.53"], ["10.0.0.1"], ["10.0.0.1"]]


def prepared(world, apply: bool, names: str):
    session = world.session(apply)
    nodes = config_apply.select_nodes(session, names)
    configs = config_apply.generated_configs(session, world.config, nodes)
    plans = config_apply.plan_nodes(session, nodes, configs, config_apply.check_machine_ca(session, nodes, configs))
    return session, configs, plans


def test_a_tried_change_that_cuts_the_node_off_is_awaited_until_talos_reverts_it(make_world):
    world = make_world("reboot_seconds: 0.3\nfaults:\n  - {fault: config-cuts-off, node: worker-1}\n")
    world.edit(*NAMESERVER)
    session, configs, plans = prepared(world, True, "worker-1,worker-2")
    with pytest.raises(RunbookStopped) as raised:
        config_apply.apply_nodes(session, plans, configs, accept_two_member_etcd_risk=False, try_seconds=2)
    assert str(raised.value) == (
        "worker-1: stopped at step 'try the network change': the node stopped answering with it, and reverted by "
        "itself after 2s: it answers again on its previous configuration; left in place: nothing (fix the network "
        "change in cluster.yaml); not applied yet: worker-2")
    # Whether a look saw it cut off or only back on its old configuration depends on the machine's load.
    assert "RUN: talosctl -n 10.0.10.21 apply-config" in world.out.getvalue()
    assert "--mode no-reboot" not in world.out.getvalue()
    after = world.configs()
    assert after["worker-1"]["machine"]["network"]["nameservers"] == ["10.0.0.1"]
    assert after["worker-2"]["machine"]["network"]["nameservers"] == ["10.0.0.1"]


def test_a_node_that_does_not_report_its_new_configuration_stops_the_run(world, monkeypatch):
    template = world.config.parent / "templates" / "talos" / "patches" / "all.yaml.j2"
    template.write_text(template.read_text().replace("  kubelet:\n", "  kubelet:\n    extraArgs:\n      v: \"2\"\n", 1))
    world.render()
    session, configs, plans = prepared(world, True, "worker-1")
    assert plans[0].how == "applies without a reboot"
    real = config_apply._read_running
    monkeypatch.setattr(config_apply, "_read_running", lambda node: {**real(node), "debug": True})
    with pytest.raises(RunbookStopped) as raised:
        config_apply.apply_nodes(session, plans, configs, accept_two_member_etcd_risk=False, try_seconds=30)
    assert str(raised.value).startswith("worker-1: stopped at step 'confirm': apply-config answered, but the node "
                                        "does not report the generated configuration; left in place: the configuration")
    assert "no node left to apply" in str(raised.value)


def test_a_reboot_takes_the_worker_out_and_back(world):
    template = world.config.parent / "templates" / "talos" / "patches" / "all.yaml.j2"
    template.write_text(template.read_text().replace("machine:\n", "machine:\n  env:\n    TZ: UTC\n", 1))
    world.render()
    session, configs, plans = prepared(world, True, "worker-3")
    assert plans[0].dry.reboot and plans[0].how.startswith("applies with a reboot (drained first")
    state = json.loads((world.twin / "state.json").read_text())
    before = next(n for n in state["nodes"] if n["name"] == "worker-3")["boot_id"]
    assert config_apply.apply_nodes(session, plans, configs, accept_two_member_etcd_risk=False,
                                    try_seconds=30) == ["worker-3"]
    said = world.out.getvalue()
    for step in ("RUN: kubectl cordon worker-3", "RUN: kubectl drain worker-3", "--mode reboot",
                 "worker-3: runs its new configuration", "RUN: kubectl uncordon worker-3"):
        assert step in said
    state = json.loads((world.twin / "state.json").read_text())
    node = next(n for n in state["nodes"] if n["name"] == "worker-3")
    assert node["boot_id"] != before and not node["unschedulable"]
    assert not state["ceph"]["group_flags"].get("worker-3")
