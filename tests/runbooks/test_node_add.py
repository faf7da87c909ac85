"""Drills of runbooks/node-add.ipynb: a project whose cluster.yaml adds worker-4 or cp-3 (rendered), its
twin with that machine booted in maintenance mode beside the running cluster, and the cluster's Talos
secrets bundle where the bootstrap kept it. Each drill reads the twin's final state from its directory."""

from __future__ import annotations

import json
import shutil

import pytest

from homeops.runner.records import last_changes

from tests.runbooks.backup_files import AGE_HEADER, AgeIdentity, plaintext_leaks
from tests.runbooks.bootstrap_fake import age_key
from tests.runbooks.conftest import ROOT, RunResult
from tests.runbooks.new_nodes import CP_3, WORKER_4, with_node
from tests.runbooks.twin_state import read_bootstrap_state

pytestmark = pytest.mark.slow

OLD, NEW = "v1.11.0", "v1.11.1"  # the running nodes' Talos, and cluster.yaml's (what a new node installs)
EXISTING = ("cp-1", "cp-2", "worker-1", "worker-2", "worker-3")


@pytest.fixture
def make_node_add(make_drill, monkeypatch):
    def make(node: str, name: str, scenario: dict | None = None, age: AgeIdentity | None = None):
        """A rendered project adding `node` (its cluster.yaml text) and its twin with `name` in maintenance mode."""
        def edit(text: str) -> str:
            return with_node(age.edit(text) if age else text, node)

        drill = make_drill({"talos_version": OLD, "reboot_seconds": 0.3, "maintenance": [name], **(scenario or {})},
                           edit=edit)
        shutil.copytree(ROOT / "templates", drill.directory / "templates")
        rendered = drill.homeops("render")
        assert rendered.code == 0, rendered.stdout + rendered.stderr
        # The bundle the bootstrap made and kept SOPS-encrypted: a twin made built has one (against a twin, in
        # the twin's directory).
        assert (drill.twin / "bootstrap-files" / "talos" / "secrets.sops.yaml").is_file()
        public = age.public_key if age else _cluster_age_key()
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key(drill.directory, public)))
        return drill

    return make


def _cluster_age_key() -> str:
    from homeops import load_cluster

    return str(load_cluster(ROOT / "cluster.yaml").secrets.age_public_key)


def raw_state(drill) -> dict:
    drill.state()  # the controllers caught up and saved
    return json.loads((drill.twin / "state.json").read_text())


def record_of(result: RunResult) -> dict:
    return json.loads(open(result.stdout.rsplit("record: ", 1)[1].split()[0]).read())


def recorded_changes(result: RunResult) -> list[str]:
    return [line.split("RUN: ", 1)[1].split("  # ")[0] for line in last_changes(record_of(result), count=100)]


def generated(drill):
    return drill.twin / "bootstrap-files" / "talos" / "generated"


def test_a_new_worker_joins_ready_on_versions_talos_with_its_osd_up_and_ceph_clean(make_node_add):
    drill = make_node_add(WORKER_4, "worker-4")
    before = drill.snapshot()
    assert "worker-4" not in read_bootstrap_state(drill.twin).registered

    result = drill.run("node-add", "node=worker-4", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "maintenance lock taken" in result.stdout
    assert result.changes == [
        f"sops --config {drill.directory}/.sops.yaml --decrypt --output {generated(drill)}/secrets.yaml "
        f"{drill.twin}/bootstrap-files/talos/secrets.sops.yaml",
        next(c for c in result.changes if c.startswith("talosctl gen config home-ops https://10.0.50.50:6443 ")),
        f"talosctl apply-config --insecure --nodes 10.0.10.24 --file {generated(drill)}/worker-4.yaml",
    ]
    gen = result.changes[1]
    assert f"--config-patch @{drill.directory}/talos/nodes/worker-4.yaml --output-types worker" in gen
    assert "no backup needed" in result.stdout and not (drill.twin / "backups").exists()

    after = drill.state()
    worker = after.nodes["worker-4"]
    assert (worker.talos_version, worker.is_ready, worker.unschedulable) == (NEW, True, False)
    raw = next(n for n in raw_state(drill)["nodes"] if n["name"] == "worker-4")
    assert raw["osds"] == [3] and raw["registered"] and not raw["drained"]  # Rook's osd.3, on its disk
    assert after.ceph.down_hosts == () and after.ceph.pgs_clean and after.ceph.health == "HEALTH_OK"
    now = drill.snapshot()
    assert {name: now[name] for name in EXISTING} == {name: before[name] for name in EXISTING}  # none else touched
    assert after.leases == {}
    assert not (generated(drill) / "secrets.yaml").exists()  # the bundle in clear is gone
    status = record_of(result)["metadata"]["homeops"]
    assert (status["runbook"], status["mode"], status["outcome"]) == ("node-add", "apply", "completed")
    assert recorded_changes(result) == result.changes
    assert result.last_line.startswith("completed: node-add (apply)")

    again = drill.run("node-add", "node=worker-4", apply=True)
    assert again.code == 0, again.stdout + again.stderr
    assert again.changes == []
    assert "worker-4 had already joined (already in Kubernetes (Ready, Talos v1.11.1)): nothing changed" in again.stdout


def test_a_plan_changes_nothing_in_the_twin_or_the_project(make_node_add):
    drill = make_node_add(WORKER_4, "worker-4")
    state = (drill.twin / "state.json").read_text()
    result = drill.run("node-add", "node=worker-4")
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes[-1] == f"talosctl apply-config --insecure --nodes 10.0.10.24 --file {generated(drill)}/worker-4.yaml"
    assert "PLAN: would wait for every Ceph PG active+clean" in result.stdout
    assert (drill.twin / "state.json").read_text() == state
    assert not generated(drill).exists()
    assert result.last_line.startswith("completed: node-add (plan)")


def test_a_third_control_plane_joins_etcd_as_learner_then_member_after_a_backup(make_node_add):
    age = AgeIdentity()
    drill = make_node_add(CP_3, "cp-3", age=age)
    state = json.loads((drill.twin / "state.json").read_text())
    state["timing"]["promote_seconds"] = 1.0  # a learner long enough for a look to see it
    (drill.twin / "state.json").write_text(json.dumps(state))

    # cluster.yaml names 3 control planes, but etcd still has 2 voting members: the risk is still there.
    refused = drill.run("control-plane-upgrade")
    assert refused.code == 1 and refused.last_line.startswith("stopped: refused: etcd has exactly 2 members")

    result = drill.run("node-add", "node=cp-3", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    snapshot = next(c for c in result.changes if " etcd snapshot " in c)
    apply_config = f"talosctl apply-config --insecure --nodes 10.0.10.13 --file {generated(drill)}/cp-3.yaml"
    assert snapshot.startswith("talosctl -n 10.0.10.11 etcd snapshot ")
    assert result.changes.index(snapshot) < result.changes.index(apply_config) == len(result.changes) - 1
    assert "--config-patch-control-plane" in result.changes[-2] and "--output-types controlplane" in result.changes[-2]
    said = result.stdout
    assert said.index("cp-3: joined etcd as a learner") < said.index("cp-3 a voting etcd member: yes") \
        < said.index("etcd: every member healthy: yes")
    assert "etcd: 3 members, quorum 2: tolerates 1 member(s) down" in said

    etcd = read_bootstrap_state(drill.twin)
    assert etcd.etcd_voters == ("cp-1", "cp-2", "cp-3") and etcd.etcd_learners == ()
    after = drill.state()
    assert (after.nodes["cp-3"].talos_version, after.nodes["cp-3"].is_ready) == (NEW, True)
    # The backup of the cluster before cp-3 joined: every file age-encrypted to cluster.yaml's key.
    [backup] = (drill.twin / "backups").iterdir()
    files = sorted(p.name for p in backup.iterdir())
    assert files == ["etcd.snapshot.age", *(f"machineconfig-{n}.yaml.age" for n in EXISTING), "manifest.json"]
    for name in files[:-1]:
        assert (backup / name).read_bytes().startswith(AGE_HEADER)
    assert json.loads(age.decrypt(backup / "etcd.snapshot.age"))["snapshot"] == "homeops-twin"
    assert plaintext_leaks([drill.twin / "backups", drill.directory / "records"], []) == []
    assert record_of(result)["metadata"]["homeops"]["outcome"] == "completed"

    # With 3 voting members control-plane-upgrade goes without the 2-member acceptance (and without --force).
    upgraded = drill.run("control-plane-upgrade", apply=True)
    assert upgraded.code == 0, upgraded.stdout + upgraded.stderr
    upgrades = [c for c in upgraded.changes if " upgrade -i " in c]
    assert [u.split()[2] for u in upgrades] == ["10.0.10.11", "10.0.10.12"]  # cp-3 already runs v1.11.1
    assert not any(u.endswith("--force") for u in upgrades)
    assert {name: n.talos_version for name, n in drill.nodes().items() if name.startswith("cp-")} == {
        "cp-1": NEW, "cp-2": NEW, "cp-3": NEW}


@pytest.mark.parametrize("key, value, problem", [
    ("mac_address", "bc:24:11:00:99:99", "no NIC with MAC bc:24:11:00:10:24 (has enp1s0 bc:24:11:00:99:99)"),
    ("install_disk", "/dev/nvme0n1", "no disk /dev/sda (has /dev/nvme0n1,"),
])
def test_a_machine_that_is_not_what_cluster_yaml_says_stops_before_any_change(make_node_add, key, value, problem):
    drill = make_node_add(WORKER_4, "worker-4")
    state = json.loads((drill.twin / "state.json").read_text())
    next(n for n in state["nodes"] if n["name"] == "worker-4")[key] = value  # another machine at that address
    (drill.twin / "state.json").write_text(json.dumps(state))
    before = drill.snapshot()

    result = drill.run("node-add", "node=worker-4", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: 1 check(s) failed before configuring worker-4, nothing changed: "
                                       "node worker-4: ")
    assert problem in result.last_line
    assert result.changes == [] and recorded_changes(result) == []
    assert drill.snapshot() == before
    assert read_bootstrap_state(drill.twin).in_maintenance == ("worker-4",)
    assert not generated(drill).exists()
    assert record_of(result)["metadata"]["homeops"]["outcome"] == "stopped"


def test_a_node_not_in_cluster_yaml_is_refused_naming_the_nodes_there(make_node_add):
    drill = make_node_add(WORKER_4, "worker-4")
    result = drill.run("node-add", "node=worker-9", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith(
        "stopped: refused: no node named 'worker-9' in cluster.yaml (nodes: cp-1, cp-2, worker-1, worker-2, "
        "worker-3, worker-4): add it there first")
    assert result.changes == []
    assert read_bootstrap_state(drill.twin).in_maintenance == ("worker-4",)
