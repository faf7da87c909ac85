"""Drills of runbooks/bootstrap.ipynb on a twin whose machines all boot in maintenance mode."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import pytest

from homeops import load_cluster

from tests.runbooks.bootstrap_fake import AGE_SECRET, age_key
from tests.runbooks.conftest import BOOTSTRAP_TOKEN, COMMAND_TIMEOUT, ROOT, USER_SECRET_FILE, RunResult
from tests.runbooks.twin_state import read_bootstrap_state, read_twin_state

pytestmark = pytest.mark.slow

TOKEN = BOOTSTRAP_TOKEN
CLUSTER = load_cluster(ROOT / "cluster.yaml")
CONTROL_PLANES = tuple(n.name for n in CLUSTER.control_planes)


def record_of(drill, result: RunResult) -> dict:
    name = result.stdout.rsplit("record: ", 1)[1].split()[0]
    return json.loads(open(name).read())


def flux_objects(drill) -> dict[str, str]:
    """Every Kustomization and HelmRelease with its Ready status, as the twin's kubectl serves them."""
    found = {}
    for resource in ("kustomizations.kustomize.toolkit.fluxcd.io", "helmreleases.helm.toolkit.fluxcd.io"):
        for item in json.loads(drill.tool("kubectl", "get", resource, "-A", "-o", "json").stdout)["items"]:
            ready = next(c["status"] for c in item["status"]["conditions"] if c["type"] == "Ready")
            found[f"{item['kind']} {item['metadata']['namespace']}/{item['metadata']['name']}"] = ready
    return found


def assert_bootstrapped(drill) -> None:
    """Every node Ready on versions.talos, both control planes voting etcd members, every Flux object Ready."""
    nodes = read_twin_state(drill.twin).nodes
    assert {n.name: (n.talos_version, n.is_ready) for n in nodes.values()} == {
        n.name: (CLUSTER.versions.talos, True) for n in CLUSTER.nodes}
    setup = read_bootstrap_state(drill.twin)
    assert setup.in_maintenance == () and set(setup.registered) == {n.name for n in CLUSTER.nodes}
    assert setup.etcd_voters == CONTROL_PLANES and setup.etcd_learners == ()
    assert setup.cni and setup.helm == {"kube-system/cilium": "1.19.3"}
    assert setup.flux_bootstrapped and setup.secrets == {"flux-system/sops-age"}
    objects = flux_objects(drill)
    assert len(objects) == rendered_flux_objects() and set(objects.values()) == {"True"}, objects
    written = drill.twin / "bootstrap-files"  # against a twin, never into the project
    assert (written / "talos" / "secrets.sops.yaml").is_file()
    assert not (written / "talos" / "generated" / "secrets.yaml").exists()
    assert (written / "kubeconfig").is_file()
    assert not (drill.directory / "talos" / "generated").exists() and not (drill.directory / "kubeconfig").exists()
    assert not (drill.directory / "talos" / "secrets.sops.yaml").exists()


def test_apply_takes_machines_in_maintenance_mode_to_a_cluster_with_flux_ready(make_bootstrap):
    drill = make_bootstrap()
    before = read_bootstrap_state(drill.twin)
    assert before.in_maintenance == tuple(n.name for n in CLUSTER.nodes) and not before.cni
    result = drill.run("bootstrap", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert_bootstrapped(drill)
    changes = result.changes
    assert sum(c.startswith("talosctl apply-config --insecure") for c in changes) == len(CLUSTER.nodes)
    attempts = [c for c in changes if c.startswith("talosctl bootstrap")]
    assert set(attempts) == {"talosctl bootstrap --nodes 10.0.10.11"}
    # Talos refuses a bootstrap while the installed node still boots; every attempt but the one that took was refused.
    assert result.stdout.count("bootstrap is not available yet") >= len(attempts) - 1
    assert "etcd data directory is not empty" not in result.stdout, "a second bootstrap reached etcd"
    assert "all 3 checks passed" in result.stdout
    status = record_of(drill, result)["metadata"]["homeops"]
    assert (status["runbook"], status["mode"], status["outcome"]) == ("bootstrap", "apply", "completed")
    assert TOKEN not in result.stdout + result.stderr and AGE_SECRET not in result.stdout + result.stderr


def test_without_the_user_written_secret_the_wait_for_flux_stops_naming_its_file(make_bootstrap):
    drill = make_bootstrap(user_secret_written=False)
    assert read_bootstrap_state(drill.twin).in_maintenance == tuple(n.name for n in CLUSTER.nodes)
    result = drill.run("bootstrap", apply=True)
    assert result.code != 0, result.stdout
    assert ("not Ready, first the one the others wait for: Kustomization flux-system/cluster-secrets Ready=False "
            "BuildFailed: kustomize build failed: accumulating resources from "
            f"'{USER_SECRET_FILE}'") in result.stdout
    assert "dependency 'flux-system/cluster-secrets' is not ready" in result.stdout
    assert record_of(drill, result)["metadata"]["homeops"]["outcome"] == "stopped"
    objects = flux_objects(drill)  # the twin: Flux up, what needs the Secret held back, the rest Ready
    assert read_bootstrap_state(drill.twin).flux_bootstrapped
    assert objects["Kustomization flux-system/cluster-secrets"] == "False"
    assert objects["Kustomization flux-system/cert-manager-issuers"] == "False"
    assert "HelmRelease network/external-dns" not in objects  # its Kustomization waits for cluster-secrets
    assert objects["HelmRelease kube-system/cilium"] == objects["Kustomization flux-system/rook-ceph-cluster"] == "True"


def test_a_rerun_bootstraps_nothing_twice_and_changes_nothing(make_bootstrap):
    drill = make_bootstrap()
    first = drill.run("bootstrap", apply=True)
    assert first.code == 0, first.stdout + first.stderr
    state = (drill.twin / "state.json").read_text()
    bundle = (drill.twin / "bootstrap-files" / "talos" / "secrets.sops.yaml").read_text()

    again = drill.run("bootstrap", apply=True)
    assert again.code == 0, again.stdout + again.stderr
    assert again.changes == []
    assert "etcd already runs on cp-1 (cp-1, cp-2): not bootstrapped again" in again.stdout
    assert_bootstrapped(drill)
    assert (drill.twin / "bootstrap-files" / "talos" / "secrets.sops.yaml").read_text() == bundle
    assert json.loads((drill.twin / "state.json").read_text())["nodes"] == json.loads(state)["nodes"]


def test_a_plan_changes_nothing_in_the_twin_or_the_project(make_bootstrap):
    drill = make_bootstrap()
    state = (drill.twin / "state.json").read_text()
    result = drill.run("bootstrap")
    assert result.code == 0, result.stdout + result.stderr
    assert (drill.twin / "state.json").read_text() == state
    assert not (drill.twin / "bootstrap-files").exists() and not (drill.directory / "talos" / "generated").exists()
    plan = result.changes
    assert plan[0].startswith("talosctl gen secrets --output-file ")
    assert sum(c.startswith("talosctl apply-config --insecure") for c in plan) == len(CLUSTER.nodes)
    assert plan[-1].startswith("flux bootstrap github --owner=ana --repository=home-ops --branch=main")


def test_an_interrupted_bootstrap_resumes_where_it_stopped(make_bootstrap):
    drill = make_bootstrap()
    runner = drill.start("bootstrap", apply=True)
    seen = []
    deadline = time.monotonic() + COMMAND_TIMEOUT
    for line in runner.stdout:  # Ctrl-C once the first node has been given its configuration
        seen.append(line)
        if "RUN: talosctl apply-config --insecure" in line or time.monotonic() > deadline:
            runner.send_signal(signal.SIGINT)
            break
    out, err = runner.communicate(timeout=COMMAND_TIMEOUT)
    interrupted = RunResult(runner.returncode, "".join(seen) + out, err)
    assert interrupted.code == 130, interrupted.stdout + interrupted.stderr
    left = read_bootstrap_state(drill.twin)
    assert not left.flux_bootstrapped and left.in_maintenance  # stopped part way
    assert record_of(drill, interrupted)["metadata"]["homeops"]["outcome"] == "interrupted"

    resumed = drill.run("bootstrap", apply=True)
    assert resumed.code == 0, resumed.stdout + resumed.stderr
    assert_bootstrapped(drill)
    # The resumed run configures exactly the machines the interrupt left in maintenance mode (the one whose
    # apply-config was cut off may or may not have taken it): none twice, none forgotten.
    applied = [c.split("--nodes ")[1].split()[0] for c in resumed.changes if c.startswith("talosctl apply-config")]
    by_name = {n.name: str(n.address) for n in CLUSTER.nodes}
    assert sorted(applied) == sorted(by_name[name] for name in left.in_maintenance)
    bootstraps = [c for c in interrupted.changes + resumed.changes if c.startswith("talosctl bootstrap")]
    assert set(bootstraps) == {"talosctl bootstrap --nodes 10.0.10.11"}
    assert "etcd data directory is not empty" not in interrupted.stdout + resumed.stdout
    assert sum("talosctl gen secrets" in c for c in interrupted.changes + resumed.changes) == 1


def test_a_node_without_its_install_disk_stops_the_run_before_anything_changes(make_bootstrap):
    drill = make_bootstrap()
    state = json.loads((drill.twin / "state.json").read_text())
    state["nodes"][2]["install_disk"] = "/dev/nvme9n1"  # the machine has another disk than cluster.yaml says
    (drill.twin / "state.json").write_text(json.dumps(state))
    result = drill.run("bootstrap", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.changes == []
    assert "1 check(s) failed before bootstrapping, nothing changed: node worker-1: no disk /dev/sda" in result.last_line
    assert read_bootstrap_state(drill.twin).in_maintenance == tuple(n.name for n in CLUSTER.nodes)


def rendered_flux_objects() -> int:
    """Every Kustomization and HelmRelease the committed kubernetes/ tree holds, flux-system included."""
    from homeops.rendering.inventory import rendered_twin_view

    view = rendered_twin_view(load_cluster(ROOT / "cluster.yaml"))
    return len(view["kustomizations"]) + len(view["helmreleases"])
