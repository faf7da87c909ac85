"""The bootstrap's procedures, step by step, against an in-memory lab (bootstrap_fake.py)."""

from __future__ import annotations

import pytest

from homeops import load_cluster
from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import (bootstrap_preflight, checks, cilium_install, etcd_bootstrap, flux_bootstrap,
                                machine_configs)
from homeops.procedures.bootstrap_files import Workspace
from homeops.procedures.session import Session
from homeops.tools import process
from homeops.tools.shapes import FluxObject

from tests.runbooks.bootstrap_fake import AGE_SECRET, FakeLab, age_key, make_project

RENDER_CLEAN = bootstrap_preflight.render_clean  # the real one, before the fixture replaces it
TOKEN = "ghp_BootstrapTokenNeverShown0123456789abcd"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One rendered project for the module (a render costs a second); each test copies it."""
    directory = tmp_path_factory.mktemp("rendered")
    make_project(directory)
    return directory


@pytest.fixture
def lab(tmp_path, rendered, monkeypatch):
    import shutil

    project = tmp_path / "project"
    shutil.copytree(rendered, project)
    cluster = load_cluster(project / "cluster.yaml")
    fake = FakeLab.of(cluster, project)
    monkeypatch.setattr(process, "run", fake.run)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key(tmp_path, str(cluster.secrets.age_public_key))))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setattr(bootstrap_preflight.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    # A render costs seconds; the render check has its own test below.
    monkeypatch.setattr(bootstrap_preflight, "render_clean", lambda cluster, config: checks.passed("render", "clean"))
    workspace = Workspace(project)
    monkeypatch.setenv("TALOSCONFIG", str(workspace.talosconfig))
    monkeypatch.setenv("KUBECONFIG", str(workspace.kubeconfig))
    return fake


def session_of(lab: FakeLab, apply: bool) -> Session:
    return Session(lab.cluster, Gate(apply), wait_timeout=2, poll_interval=0.01)


def bootstrap(lab: FakeLab, apply: bool = True) -> list[str]:
    """The runbook's steps in its order (runbooks/bootstrap.ipynb); what each printed."""
    session, workspace = session_of(lab, apply), Workspace(lab.project)
    results, states = bootstrap_preflight.preflight(lab.cluster, workspace, lab.project / "cluster.yaml")
    checks.require(results, before="bootstrapping")
    said = [machine_configs.secrets_bundle(session, workspace), machine_configs.generate(session, workspace, states)]
    etcd_bootstrap.apply_configs(session, workspace, states)
    etcd_bootstrap.wait_installed(session, states)
    said.append(etcd_bootstrap.bootstrap_etcd(session))
    etcd_bootstrap.wait_etcd(session)
    said.append(etcd_bootstrap.fetch_kubeconfig(session, workspace))
    etcd_bootstrap.wait_api(session)
    said.append(cilium_install.install(session, workspace))
    cilium_install.wait_nodes_ready(session)
    said += [flux_bootstrap.sops_secret(session), flux_bootstrap.bootstrap_flux(session),
             flux_bootstrap.wait_flux(session, workspace)]
    said.append(checks.conclude(flux_bootstrap.end_checks(session, workspace)))
    return said


def verbs(changes: list[list[str]]) -> list[str]:
    """Each change as `tool verb`, node-specific ones with their target."""
    shown = []
    for argv in changes:
        if argv[:2] == ["talosctl", "gen"]:
            shown.append(f"talosctl gen {argv[2]} {argv[argv.index('--output-types') + 1] if '--output-types' in argv else ''}".strip())
        elif argv[:2] == ["talosctl", "apply-config"]:
            shown.append(f"talosctl apply-config {argv[argv.index('--nodes') + 1]}")
        elif argv[0] == "sops":
            shown.append("sops encrypt" if "--encrypt" in argv else "sops decrypt")
        elif argv[0] == "kubectl":
            shown.append(" ".join(a for a in argv[:5] if not a.startswith("-") and "://" not in a))
        else:
            shown.append(" ".join(argv[:3]))
    return shown


def test_machines_in_maintenance_mode_become_a_cluster_with_etcd_bootstrapped_once(lab, capsys):
    said = bootstrap(lab)
    assert lab.configured() and lab.etcd_bootstrapped and lab.bootstraps == 1
    assert lab.cilium == "1.19.3" and lab.flux and lab.secrets == {"sops-age"}
    assert said[-1] == "all 3 checks passed"  # the load balancers, split DNS, the certificate
    addresses = [str(n.address) for n in lab.cluster.nodes]
    changes = verbs(lab.changes())
    assert changes[:2] == ["talosctl gen secrets", "sops encrypt"]
    assert changes.count("talosctl bootstrap --nodes") == 1
    assert [c for c in changes if c.startswith("talosctl apply-config")] == [f"talosctl apply-config {a}" for a in addresses]
    assert changes[-6:] == ["talosctl kubeconfig --nodes", "kubectl apply", "helm upgrade --install",
                            "kubectl create namespace flux-system", "kubectl flux-system create secret",
                            "flux bootstrap github"]
    assert changes.index("talosctl gen config talosconfig") < changes.index(f"talosctl apply-config {addresses[0]}")
    workspace = Workspace(lab.project)
    assert workspace.secrets_sops.is_file() and not workspace.secrets_plain.exists()  # no clear bundle left
    assert workspace.generated.stat().st_mode & 0o077 == 0
    assert all(workspace.machine_config(n).is_file() for n in lab.cluster.nodes)


@pytest.mark.parametrize("owner_kind, personal", [("user", ["--personal"]), ("organization", [])])
def test_flux_is_bootstrapped_with_personal_only_for_a_user_s_repository(lab, owner_kind, personal):
    lab.etcd_bootstrapped = True  # the cluster is up, Flux not yet bootstrapped
    for machine in lab.machines.values():
        machine.state = "configured"
    repository = lab.cluster.repository.model_copy(update={"owner_kind": owner_kind})
    session = Session(lab.cluster.model_copy(update={"repository": repository}), Gate(True), wait_timeout=2,
                      poll_interval=0.01)
    assert flux_bootstrap.bootstrap_flux(session) == "bootstrapped: Flux"
    assert [c for c in lab.calls if c[:3] == ["flux", "bootstrap", "github"]] == [
        ["flux", "bootstrap", "github", "--owner=ana", "--repository=home-ops", "--branch=main",
         "--path=kubernetes/flux", *personal, "--timeout=2s"]]


def test_the_machine_configs_carry_the_rendered_patches_in_order(lab):
    bootstrap(lab)
    cp1 = next(c for c in lab.calls if c[:3] == ["talosctl", "gen", "config"] and c[-1].endswith("cp-1.yaml"))
    patches = [(flag, cp1[i + 1]) for i, flag in enumerate(cp1) if flag.startswith("--config-patch")]
    project = lab.project
    assert patches == [("--config-patch", f"@{project}/talos/patches/all.yaml"),
                       ("--config-patch-control-plane", f"@{project}/talos/patches/controlplane.yaml"),
                       ("--config-patch", f"@{project}/talos/nodes/cp-1.yaml")]
    assert cp1[3:5] == ["home-ops", "https://10.0.50.50:6443"]
    assert cp1[cp1.index("--install-image") + 1] == lab.cluster.installer_image()
    assert cp1[cp1.index("--kubernetes-version") + 1] == "1.34.1"


def test_a_rerun_on_the_bootstrapped_cluster_changes_nothing(lab):
    bootstrap(lab)
    before = len(lab.changes())
    said = bootstrap(lab)
    assert lab.changes()[before:] == []
    assert lab.bootstraps == 1
    assert said[0].startswith("kept: secrets.sops.yaml") and said[1].startswith("kept: every node is configured")
    assert said[2].startswith("etcd already runs on cp-1 (cp-1, cp-2)")
    assert [s.split(":")[0] for s in said[3:7]] == ["kept", "kept", "kept", "kept"]


def test_a_run_stopped_after_some_nodes_resumes_with_the_others_and_the_same_secrets(lab):
    session, workspace = session_of(lab, True), Workspace(lab.project)
    _, states = bootstrap_preflight.preflight(lab.cluster, workspace, lab.project / "cluster.yaml")
    machine_configs.secrets_bundle(session, workspace)
    machine_configs.generate(session, workspace, states)
    first_two = [s for s in states if s.node.name in ("cp-1", "cp-2")]
    etcd_bootstrap.apply_configs(session, workspace, first_two)  # then the run was interrupted
    bundle = workspace.secrets_sops.read_text()
    gen_secrets = sum(c[:3] == ["talosctl", "gen", "secrets"] for c in lab.calls)

    bootstrap(lab)
    assert workspace.secrets_sops.read_text() == bundle
    assert sum(c[:3] == ["talosctl", "gen", "secrets"] for c in lab.calls) == gen_secrets == 1
    applied = [c[c.index("--nodes") + 1] for c in lab.calls if c[:2] == ["talosctl", "apply-config"]]
    assert applied == [str(n.address) for n in lab.cluster.nodes]  # each node exactly once
    assert lab.bootstraps == 1 and lab.flux


def test_bootstrap_is_not_run_where_etcd_already_runs(lab):
    bootstrap(lab)
    assert etcd_bootstrap.bootstrap_etcd(session_of(lab, True)).startswith("etcd already runs on ")
    assert lab.bootstraps == 1


def test_talos_refusing_a_second_bootstrap_is_taken_as_done_not_as_a_failure(lab, monkeypatch):
    bootstrap(lab)
    monkeypatch.setattr(etcd_bootstrap, "etcd_running", lambda cluster: [])  # etcd members unreadable for a moment
    said = etcd_bootstrap.bootstrap_etcd(session_of(lab, True))
    assert said == "etcd was already bootstrapped on cp-1 (Talos: etcd data directory is not empty)"
    assert lab.bootstraps == 2  # asked, and refused by Talos itself: still one etcd cluster


def test_a_plan_changes_nothing_and_writes_no_file(lab, capsys):
    said = bootstrap(lab, apply=False)
    out = capsys.readouterr().out
    assert lab.changes() == []
    workspace = Workspace(lab.project)
    assert not workspace.generated.exists() and not workspace.secrets_sops.exists() and not workspace.kubeconfig.exists()
    plan = [line.removeprefix("PLAN: ").split("  # ")[0] for line in out.splitlines() if line.startswith("PLAN: ")]
    assert plan[0].startswith(f"talosctl gen secrets --output-file {workspace.secrets_plain}")
    assert sum(p.startswith("talosctl apply-config --insecure") for p in plan) == len(lab.cluster.nodes)
    assert "talosctl bootstrap --nodes 10.0.10.11" in plan
    assert not any(p.startswith("sops --config") and "--decrypt" in p for p in plan)  # the bundle made now is used
    from tests.runbooks.test_bootstrap import rendered_flux_objects

    assert plan[-1] == f"would wait for all {rendered_flux_objects()} Flux objects Ready, in dependency order (up to 2s)"
    assert said[-1] == "all 0 checks passed"


def test_preflight_names_every_problem_at_once(lab, monkeypatch, tmp_path):
    lab.machines["10.0.10.21"].install_disk = "/dev/nvme0n1"
    lab.machines["10.0.10.22"].mac = "bc:24:11:99:99:99"
    lab.machines["10.0.10.23"].osd_devices = ()
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "missing.txt"))
    results, _ = bootstrap_preflight.preflight(lab.cluster, Workspace(lab.project), lab.project / "cluster.yaml")
    failed = {r.check: r.detail for r in results if r.failed}
    assert set(failed) == {"node worker-1", "node worker-2", "node worker-3", "age key", "GitHub access"}
    assert failed["node worker-1"].startswith("no disk /dev/sda (has /dev/nvme0n1")
    assert failed["node worker-2"].startswith("no NIC with MAC bc:24:11:00:10:22 (has enp1s0 bc:24:11:99:99:99")
    assert failed["node worker-3"] == "no OSD disk /dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100003"
    with pytest.raises(RunbookStopped, match="5 check\\(s\\) failed before bootstrapping, nothing changed"):
        checks.require(results, before="bootstrapping")
    assert lab.changes() == []


def test_a_node_that_answers_nothing_stops_the_preflight(lab):
    lab.machines["10.0.10.12"].state = "off"
    results, states = bootstrap_preflight.preflight(lab.cluster, Workspace(lab.project), lab.project / "cluster.yaml")
    (node,) = [r for r in results if r.failed]
    assert node.check == "node cp-2" and "not in maintenance mode" in node.detail
    assert [s.state for s in states if s.node.name == "cp-2"] == ["unreachable"]


def test_render_drift_stops_the_preflight(lab):
    config = lab.project / "cluster.yaml"
    assert RENDER_CLEAN(lab.cluster, config) == checks.passed(
        "render", "talos/, kubernetes/ and .sops.yaml are what cluster.yaml renders")
    (lab.project / "talos" / "nodes" / "cp-1.yaml").write_text("# edited by hand\n")
    result = RENDER_CLEAN(lab.cluster, config)
    assert result.failed and "talos/nodes/cp-1.yaml: differs from what cluster.yaml renders" in result.detail


def test_the_github_token_is_never_shown_nor_passed(lab, capsys):
    bootstrap(lab)
    assert "GITHUB_TOKEN is set (not shown)" == bootstrap_preflight.github_token().detail
    assert TOKEN not in capsys.readouterr().out
    assert not any(TOKEN in " ".join(c) for c in lab.calls)
    assert not any(AGE_SECRET in " ".join(c) for c in lab.calls)  # the age key goes by its file's path


def test_the_tools_talk_to_the_cluster_being_bootstrapped(lab):
    bootstrap(lab)
    workspace = Workspace(lab.project)
    assert {e["TALOSCONFIG"] for e in lab.environments} == {str(workspace.talosconfig)}
    assert {e["KUBECONFIG"] for e in lab.environments} == {str(workspace.kubeconfig)}


def test_flux_objects_that_stay_not_ready_stop_the_run_naming_the_first_in_dependency_order(lab):
    lab.flux_stuck = {"cilium-config", "gateways"}
    with pytest.raises(RunbookStopped) as stopped:
        bootstrap(lab)
    message = str(stopped.value)
    assert message.startswith("bootstrap: stopped at step 'wait for Flux': ")
    assert "first the one the others wait for: Kustomization flux-system/cilium-config Ready=False" in message
    assert message.index("cilium-config") < message.index("gateways")
    assert message.endswith("left in place: Flux bootstrapped; run the bootstrap again to resume")


def test_a_pending_certificate_fails_the_end_checks(lab):
    lab.certificate_ready = False
    with pytest.raises(RunbookStopped, match="certificates: Certificate network/example-com Ready=False Pending"):
        bootstrap(lab)


def test_progress_names_what_is_ready_and_what_comes_next():
    order = [("Kustomization", "flux-system", "flux-system"), ("Kustomization", "flux-system", "cilium"),
             ("HelmRelease", "kube-system", "cilium")]
    ready = FluxObject("Kustomization", "flux-system", "flux-system", "True", "Succeeded", "", False)
    pending, line = flux_bootstrap.ordered_progress(order, [ready])
    assert line == "1 of 3 Ready; next: Kustomization flux-system/cilium not in the cluster yet"
    assert pending[1] == "HelmRelease kube-system/cilium not in the cluster yet"


def test_a_node_given_its_configuration_and_not_back_yet_is_waited_for_not_configured_again(lab):
    session, workspace = session_of(lab, True), Workspace(lab.project)
    _, states = bootstrap_preflight.preflight(lab.cluster, workspace, lab.project / "cluster.yaml")
    machine_configs.secrets_bundle(session, workspace)
    machine_configs.generate(session, workspace, states)
    etcd_bootstrap.apply_configs(session, workspace, states[:1])  # cp-1 configured, then the run was interrupted
    lab.machines["10.0.10.11"].state = "installing"  # still rebooting into its installation: answers nothing

    results, states = bootstrap_preflight.preflight(lab.cluster, workspace, lab.project / "cluster.yaml")
    cp1 = next(r for r in results if r.check == "node cp-1")
    assert cp1.status == "warn" and "cp-1.yaml was made by an earlier run: it may be installing" in cp1.detail
    assert not any(r.failed for r in results)
    calls = len(lab.calls)
    etcd_bootstrap.apply_configs(session, workspace, states)
    applied = [c[c.index("--nodes") + 1] for c in lab.calls[calls:] if c[:2] == ["talosctl", "apply-config"]]
    assert applied == [str(n.address) for n in lab.cluster.nodes[1:]]
