"""node-add's procedures in process (homeops.procedures.node_join), the tools replaced by what the cluster
would answer: which node, where it stands, what is checked, what is changed, when it has joined."""

from __future__ import annotations

import io

import pytest

from homeops import load_cluster
from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import bootstrap_preflight, checks, etcd_backup, node_join, osd_placement
from homeops.procedures.bootstrap_files import Workspace
from homeops.procedures.bootstrap_preflight import MAINTENANCE, UNREACHABLE, NodeState
from homeops.procedures.session import Session
from homeops.tools import ceph, kubectl, talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import CephStatus, EtcdMember, EtcdStatus, NodeStatus, OsdTree

from tests.runbooks.conftest import ROOT
from tests.runbooks.new_nodes import CP_3, WORKER_4, with_node

RUNNING = ("cp-1", "cp-2", "worker-1", "worker-2", "worker-3")


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """cluster.yaml with worker-4 and cp-3 added."""
    path = tmp_path_factory.mktemp("grown") / "cluster.yaml"
    path.write_text(with_node(with_node((ROOT / "cluster.yaml").read_text(), CP_3), WORKER_4))
    return load_cluster(path)


def session_of(cluster, apply: bool = True) -> tuple[Session, io.StringIO]:
    out = io.StringIO()
    return Session(cluster, Gate(apply, out=out), wait_timeout=0.3, poll_interval=0.01), out


def status(name: str, ready: str = "True", talos: str = "v1.11.1") -> NodeStatus:
    return NodeStatus(name, "worker", ready, False, None, "v1.34.1", f"Talos ({talos})", talos, "boot")


def standing_of(cluster, name: str, state: str = MAINTENANCE, registered=RUNNING) -> node_join.Standing:
    node = cluster.node(name)
    machine = NodeState(node, state, f"{state} at {node.address}")
    return node_join.Standing(node, state, machine.detail, machine, frozenset(registered))


# --- which node ------------------------------------------------------------------------------------

def test_no_node_given_is_refused_naming_the_nodes_of_cluster_yaml(grown):
    with pytest.raises(RunbookStopped, match=r"^no node given: pass -p node=NAME, a node of cluster.yaml \(cp-1, "):
        node_join.chosen_node(session_of(grown)[0], "  ")


def test_a_node_not_in_cluster_yaml_is_refused_with_what_to_do_first(grown):
    with pytest.raises(RunbookStopped) as stopped:
        node_join.chosen_node(session_of(grown)[0], "worker-9")
    message = str(stopped.value)
    assert message.startswith("refused: no node named 'worker-9' in cluster.yaml (nodes: cp-1, cp-2, cp-3, worker-1,")
    assert "run homeops render, commit and push, then boot it in maintenance mode" in message
    assert message.endswith("nothing changed")


def test_the_named_node_is_cluster_yamls(grown):
    assert node_join.chosen_node(session_of(grown)[0], " worker-4 ") == grown.node("worker-4")


# --- where it stands ---------------------------------------------------------------------------------

def test_a_node_kubernetes_lists_is_not_configured_again(grown, monkeypatch, tmp_path):
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status(n) for n in (*RUNNING, "worker-4")])
    monkeypatch.setattr(bootstrap_preflight, "node_state", lambda *a: pytest.fail("the machine was asked"))
    found = node_join.standing(grown.node("worker-4"), Workspace(tmp_path))
    assert (found.state, found.needs_config) == (node_join.IN_KUBERNETES, False)
    assert found.detail == "already in Kubernetes (Ready, Talos v1.11.1)"
    assert found.registered == frozenset((*RUNNING, "worker-4"))


def test_a_node_kubernetes_does_not_list_is_read_as_the_bootstrap_reads_a_machine(grown, monkeypatch, tmp_path):
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status(n) for n in RUNNING])
    node = grown.node("worker-4")
    monkeypatch.setattr(bootstrap_preflight, "node_state", lambda n, w: NodeState(n, MAINTENANCE, "maintenance mode"))
    found = node_join.standing(node, Workspace(tmp_path))
    assert (found.state, found.needs_config, found.registered) == (MAINTENANCE, True, frozenset(RUNNING))


def test_an_unreadable_node_list_stops_before_anything(grown, monkeypatch, tmp_path):
    def refused(**_):
        raise ToolError(["kubectl"], 1, "The connection to the server 10.0.50.50:6443 was refused", "")

    monkeypatch.setattr(kubectl, "nodes", refused)
    with pytest.raises(RunbookStopped, match=r"^worker-4: cannot read the cluster's nodes: .*; nothing changed$"):
        node_join.standing(grown.node("worker-4"), Workspace(tmp_path))


def test_the_running_cluster_is_cluster_yaml_without_the_nodes_it_does_not_have(grown):
    standing = standing_of(grown, "cp-3")
    assert [n.name for n in node_join.running(grown, standing).nodes] == list(RUNNING)
    assert [n.name for n in node_join.running(grown, standing, joined=True).control_planes] == ["cp-1", "cp-2", "cp-3"]
    assert "worker-4" not in [n.name for n in node_join.running(grown, standing, joined=True).nodes]


# --- what is checked ------------------------------------------------------------------------------------

@pytest.fixture
def quiet_checks(monkeypatch):
    """The checks node_join borrows, each passing, and the cluster each was asked about."""
    asked = {}
    monkeypatch.setattr(bootstrap_preflight, "render_clean", lambda cluster, config: checks.passed("render", "clean"))
    monkeypatch.setattr(bootstrap_preflight, "age_key", lambda cluster: checks.passed("age key", "here"))

    def health(cluster):
        asked["health"] = [n.name for n in cluster.nodes]
        return [checks.passed("etcd members", "fine")]

    monkeypatch.setattr(node_join, "_cluster_health", health)
    return asked


def test_a_machine_with_another_mac_fails_the_check_that_stops_the_run(grown, quiet_checks, tmp_path):
    from homeops.tools.shapes import Disk, Link

    node = grown.node("worker-4")
    disks = (Disk("", "sda", "/dev/sda", 256_000_000_000, False, False, "SSD", "", ()),
             Disk("", "nvme0n1", "/dev/nvme0n1", 10**12, False, False, "", "", tuple(str(d) for d in node.osd_devices)))
    links = (Link("", "enp1s0", "ether", "", "bc:24:11:00:99:99", ""),)
    machine = NodeState(node, MAINTENANCE, "maintenance mode at 10.0.10.24", disks, links)
    standing = node_join.Standing(node, MAINTENANCE, machine.detail, machine, frozenset(RUNNING))
    results = node_join.checks(session_of(grown)[0], Workspace(tmp_path), tmp_path / "cluster.yaml", standing)
    by_check = {r.check: r for r in results}
    assert by_check["node worker-4"].failed
    assert "no NIC with MAC bc:24:11:00:10:24 (has enp1s0 bc:24:11:00:99:99)" in by_check["node worker-4"].detail
    assert by_check["Talos secrets"].failed and "is missing" in by_check["Talos secrets"].detail
    assert by_check["other new nodes"] == checks.CheckResult(
        "other new nodes", "warn", "also in cluster.yaml, not in the cluster yet: cp-3 (each joins by a run of its own)")
    assert quiet_checks["health"] == list(RUNNING)  # the running cluster's health, not cluster.yaml's


def test_every_other_node_not_in_the_cluster_yet_is_named(grown, quiet_checks, tmp_path):
    standing = standing_of(grown, "worker-4", registered=("cp-1", "cp-2", "worker-1", "worker-2"))
    results = node_join.checks(session_of(grown)[0], Workspace(tmp_path), tmp_path / "cluster.yaml", standing)
    assert {r.check: r.detail for r in results}["other new nodes"] == (
        "also in cluster.yaml, not in the cluster yet: cp-3, worker-3 (each joins by a run of its own)")


def test_a_node_already_in_kubernetes_has_nothing_to_hold(grown, quiet_checks, tmp_path):
    standing = node_join.Standing(grown.node("worker-4"), node_join.IN_KUBERNETES, "already in Kubernetes",
                                  registered=frozenset((*RUNNING, "worker-4")))
    results = node_join.checks(session_of(grown)[0], Workspace(tmp_path), tmp_path / "cluster.yaml", standing)
    assert [(r.check, r.status) for r in results] == [("node worker-4", "ok")]
    assert "health" not in quiet_checks


def test_an_unbooted_machine_fails_saying_how_to_boot_it(grown, quiet_checks, tmp_path):
    standing = standing_of(grown, "worker-4", UNREACHABLE)
    # Not in maintenance mode: it is not configured, so nothing is checked but the machine.
    [result] = node_join.checks(session_of(grown)[0], Workspace(tmp_path), tmp_path / "cluster.yaml", standing)
    assert result.failed and "boot it from the install image of the schematic" in result.detail


# --- what is changed --------------------------------------------------------------------------------------

def test_a_control_plane_gets_a_backup_of_the_running_cluster_first(grown, monkeypatch):
    taken = {}

    def take_backup(session, destination, keep, why):
        taken.update(nodes=[n.name for n in session.cluster.nodes], destination=destination, keep=keep, why=why)
        return "the backup"

    monkeypatch.setattr(etcd_backup, "take_backup", take_backup)
    session, _ = session_of(grown)
    assert node_join.backup_first(session, standing_of(grown, "cp-3")) == "the backup"
    assert taken == {"nodes": list(RUNNING), "destination": "backups", "keep": None,
                     "why": "the cluster's state before cp-3 joins etcd, to restore from"}


@pytest.mark.parametrize("name, state, said", [
    ("worker-4", MAINTENANCE, "worker-4 is a worker: etcd does not change, no backup needed"),
    ("cp-3", node_join.IN_KUBERNETES, "cp-3 is not configured again: no backup needed"),
])
def test_no_backup_for_a_worker_or_a_node_not_configured_again(grown, monkeypatch, name, state, said):
    monkeypatch.setattr(etcd_backup, "take_backup", lambda *a, **k: pytest.fail("a backup was taken"))
    session, out = session_of(grown)
    assert node_join.backup_first(session, standing_of(grown, name, state)) is None
    assert said in out.getvalue()


def test_the_plan_shows_the_configuration_made_from_the_bundle_and_the_apply_config(grown, tmp_path):
    session, out = session_of(grown, apply=False)
    joined = node_join.Joined(grown.node("worker-4"))
    node_join.configure(session, Workspace(tmp_path), standing_of(grown, "worker-4"), joined)
    plan = [line.split("PLAN: ", 1)[1].split("  # ")[0] for line in out.getvalue().splitlines() if "PLAN: " in line]
    assert plan[0].startswith(f"sops --config {tmp_path}/.sops.yaml --decrypt ")
    assert plan[1].startswith("talosctl gen config home-ops https://10.0.50.50:6443 --with-secrets ")
    assert plan[1].endswith(f"--output-types worker --output {tmp_path}/talos/generated/worker-4.yaml")
    assert plan[2] == f"talosctl apply-config --insecure --nodes 10.0.10.24 --file {tmp_path}/talos/generated/worker-4.yaml"
    assert joined.changed == [] and not (tmp_path / "talos").exists()


def test_a_refused_apply_config_stops_with_the_node_still_in_maintenance_mode(grown, monkeypatch, tmp_path):
    from homeops.procedures import machine_configs

    monkeypatch.setattr(machine_configs, "node_config", lambda *a, **k: tmp_path / "worker-4.yaml")
    monkeypatch.setattr(machine_configs.workstation, "sops_decrypt", lambda *a, **k: None)

    def refused(gate, address, file, why=""):
        raise ToolError(["talosctl", "apply-config"], 1, "error applying new configuration: boom", "")

    monkeypatch.setattr(talosctl, "apply_config_insecure", refused)
    session, _ = session_of(grown)
    joined = node_join.Joined(grown.node("worker-4"))
    with pytest.raises(RunbookStopped) as stopped:
        node_join.configure(session, Workspace(tmp_path), standing_of(grown, "worker-4"), joined)
    assert str(stopped.value).startswith("worker-4: stopped at step 'apply-config': ")
    assert str(stopped.value).endswith("left in place: nothing: the node is still in maintenance mode")
    assert joined.changed == []


def test_a_node_not_configured_again_is_not_touched(grown, monkeypatch, tmp_path):
    monkeypatch.setattr(talosctl, "apply_config_insecure", lambda *a, **k: pytest.fail("configured again"))
    session, out = session_of(grown)
    joined = node_join.Joined(grown.node("worker-4"))
    node_join.configure(session, Workspace(tmp_path), standing_of(grown, "worker-4", node_join.IN_KUBERNETES), joined)
    assert "worker-4: in Kubernetes at 10.0.10.24: not configured again" in out.getvalue() and joined.changed == []


# --- when it has joined -------------------------------------------------------------------------------------

def members(*rows: tuple[str, bool]) -> list[EtcdMember]:
    return [EtcdMember("10.0.10.11", f"{i:016x}", name, learner) for i, (name, learner) in enumerate(rows)]


def test_etcd_membership_is_absent_then_learner_said_once_then_voting(grown, monkeypatch):
    answers = iter([members(("cp-1", False), ("cp-2", False)),
                    members(("cp-1", False), ("cp-2", False), ("cp-3", True)),
                    members(("cp-1", False), ("cp-2", False), ("cp-3", True)),
                    members(("cp-1", False), ("cp-2", False), ("cp-3", False))])
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: next(answers))
    session, out = session_of(grown)
    look = node_join._EtcdJoin(session, grown.node("cp-3"))
    assert look() == "not an etcd member yet (members: cp-1, cp-2)"
    assert look() == look() == "an etcd learner, not promoted yet"
    assert look() is True
    assert out.getvalue().count("cp-3: joined etcd as a learner (member 0000000000000002)") == 1


def test_osds_are_up_only_when_rook_prepared_them_all_and_none_is_down(grown, monkeypatch):
    node = grown.node("worker-4")
    placed = osd_placement.Placement((), (), "rook-ceph-osd pods")
    monkeypatch.setattr(osd_placement, "placement", lambda name: placed)
    monkeypatch.setattr(ceph, "osd_tree", lambda **_: OsdTree({"worker-4": (3,)}, (3,)))
    assert node_join._osds_up(node) == "0 of 1 OSDs prepared by Rook"
    placed = osd_placement.Placement((3,), ("worker-4",), "rook-ceph-osd pods")
    assert node_join._osds_up(node) == "OSDs 3 down"
    monkeypatch.setattr(ceph, "osd_tree", lambda **_: OsdTree({"worker-4": (3,)}, ()))
    assert node_join._osds_up(node) is True


def test_pgs_are_clean_by_the_one_pg_rule(monkeypatch):
    def with_states(*states):
        return CephStatus("HEALTH_OK", (), 4, 4, 4, tuple(states), sum(c for _, c in states))

    monkeypatch.setattr(ceph, "status", lambda **_: with_states(("active+clean", 100), ("active+remapped+backfilling", 37)))
    assert node_join._pgs_clean() == "HEALTH_OK, PGs not clean: 37 active+remapped+backfilling"
    monkeypatch.setattr(ceph, "status", lambda **_: with_states(("active+clean", 130), ("active+clean+scrubbing", 7)))
    assert node_join._pgs_clean() is True


@pytest.mark.parametrize("listed, seen", [
    ([], "not registered with Kubernetes yet"),
    ([status("worker-4", ready="False")], "registered, Ready=False"),
    ([status("worker-4", talos="v1.11.0")], "Ready on Talos v1.11.0, not v1.11.1"),
    ([status("worker-4")], True),
])
def test_ready_means_registered_ready_and_on_versions_talos(grown, monkeypatch, listed, seen):
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status("worker-1"), *listed])
    assert node_join.ready_on_talos(session_of(grown)[0], grown.node("worker-4")) == seen


@pytest.mark.parametrize("name, waits", [
    ("worker-4", ["worker-4 Ready on Talos v1.11.1", "1 OSD(s) of worker-4 up", "every Ceph PG active+clean"]),
    ("cp-3", ["cp-3 a voting etcd member", "etcd: every member healthy", "cp-3 Ready on Talos v1.11.1"]),
])
def test_a_plan_describes_the_waits_of_each_role(grown, name, waits):
    session, out = session_of(grown, apply=False)
    node_join.wait_joined(session, standing_of(grown, name))
    assert [line.split("would wait for ", 1)[1].split(" (up to")[0]
            for line in out.getvalue().splitlines() if "would wait for" in line] == waits


def test_a_wait_that_runs_out_names_what_it_last_saw_and_why_osds_may_never_come(grown, monkeypatch):
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status("worker-4")])
    monkeypatch.setattr(osd_placement, "placement", lambda name: osd_placement.Placement((), (), "pods"))
    session, _ = session_of(grown)
    with pytest.raises(RunbookStopped) as stopped:
        node_join.wait_joined(session, standing_of(grown, "worker-4"))
    message = str(stopped.value)
    assert message.startswith("worker-4: stopped at step 'wait for its OSDs': 1 OSD(s) of worker-4 up did not happen")
    assert "last seen: 0 of 1 OSDs prepared by Rook" in message
    assert "Rook prepares OSDs only on the nodes the rook-ceph-cluster HelmRelease lists" in message
    assert message.endswith("left in place: worker-4 configured, joining; run node-add again to go on waiting")


# --- the summary -----------------------------------------------------------------------------------------------

def test_the_summary_says_what_changed_or_that_nothing_did(grown, monkeypatch):
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: members(("cp-1", False), ("cp-2", False),
                                                                                ("cp-3", False)))
    session, _ = session_of(grown)
    joined = node_join.Joined(grown.node("cp-3"), ["configured cp-3 (apply-config --insecure)"])
    said = node_join.summary(session, joined, standing_of(grown, "cp-3"))
    assert said.splitlines() == ["cp-3 joined the cluster: configured cp-3 (apply-config --insecure)",
                                 "  etcd: 3 members, quorum 2: tolerates 1 member(s) down"]
    rerun = node_join.Standing(grown.node("worker-4"), node_join.IN_KUBERNETES, "already in Kubernetes (Ready)")
    assert node_join.summary(session, node_join.Joined(grown.node("worker-4")), rerun) == (
        "worker-4 had already joined (already in Kubernetes (Ready)): nothing changed")
    plan, _ = session_of(grown, apply=False)
    assert node_join.summary(plan, node_join.Joined(grown.node("worker-4")), standing_of(grown, "worker-4")) == (
        "plan: worker-4 would be configured and join the cluster; nothing changed")
    assert node_join.summary(plan, node_join.Joined(grown.node("worker-4")), rerun) == (
        "plan: worker-4 is already in Kubernetes (Ready): nothing to change")



# --- the same, step by step in apply mode: what each says, and where each stops ------------------------------


class Joining:
    """A cluster joined by one node, look by look: etcd's member lists in turn, each member's status, the nodes."""

    def __init__(self, monkeypatch, lists, errors=None, nodes=()):
        self.lists, self.errors, self.nodes = list(lists), dict(errors or {}), list(nodes)
        monkeypatch.setattr(talosctl, "etcd_members", self.members)
        monkeypatch.setattr(talosctl, "etcd_status", self.status)
        monkeypatch.setattr(kubectl, "nodes", lambda **_: self.nodes)

    def members(self, address, **_):
        return self.lists.pop(0) if len(self.lists) > 1 else self.lists[0]

    def status(self, address, **_):
        return [EtcdStatus(address, "m", "m", False, self.errors.get(address, ""))]


VOTING = members(("cp-1", False), ("cp-2", False), ("cp-3", False))


def test_a_control_plane_is_followed_from_learner_to_voting_to_healthy_to_ready(grown, monkeypatch):
    Joining(monkeypatch, [members(("cp-1", False), ("cp-2", False)),
                          members(("cp-1", False), ("cp-2", False), ("cp-3", True)), VOTING],
            nodes=[status("cp-3")])
    session, out = session_of(grown)
    node_join.wait_joined(session, standing_of(grown, "cp-3"))
    said = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert said[0] == "waiting for cp-3 a voting etcd member: not an etcd member yet (members: cp-1, cp-2) (0s of 0.3s)"
    assert [s for s in said if not s.startswith("waiting for ")] == [
        "cp-3: joined etcd as a learner (member 0000000000000002); Talos promotes it once it has caught up",
        "cp-3 a voting etcd member: yes", "etcd: every member healthy: yes", "cp-3 Ready on Talos v1.11.1: yes"]


def test_a_member_in_error_stops_the_wait_for_etcd_health_naming_it(grown, monkeypatch):
    Joining(monkeypatch, [VOTING], errors={"10.0.10.13": "etcdserver: no leader"}, nodes=[status("cp-3")])
    with pytest.raises(RunbookStopped) as stopped:
        node_join.wait_joined(session_of(grown)[0], standing_of(grown, "cp-3"))
    assert str(stopped.value) == (
        "cp-3: stopped at step 'wait for etcd health': etcd: every member healthy did not happen within 0.3s; "
        "last seen: etcd health: cp-3: etcdserver: no leader; left in place: cp-3 configured, joining; "
        "run node-add again to go on waiting")


def test_etcd_membership_that_nobody_can_list_is_said(grown, monkeypatch):
    def unreachable(address, **_):
        raise ToolError(["talosctl"], 1, f"{address}: connection refused", "")

    monkeypatch.setattr(talosctl, "etcd_members", unreachable)
    look = node_join._EtcdJoin(session_of(grown)[0], grown.node("cp-3"))
    assert look() == ("no member answers: `talosctl` exited 1: 10.0.10.11: connection refused; `talosctl` exited 1: "
                      "10.0.10.12: connection refused; `talosctl` exited 1: 10.0.10.13: connection refused")


@pytest.mark.parametrize("state, left", [(MAINTENANCE, "worker-4 configured, joining"),
                                         (node_join.IN_KUBERNETES, "worker-4 as it was")])
def test_a_node_that_never_registers_stops_the_wait_for_the_node(grown, monkeypatch, state, left):
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status("worker-1")])
    session, out = session_of(grown)
    with pytest.raises(RunbookStopped) as stopped:
        node_join.wait_joined(session, standing_of(grown, "worker-4", state))
    assert str(stopped.value) == (
        "worker-4: stopped at step 'wait for the node': worker-4 Ready on Talos v1.11.1 did not happen within 0.3s; "
        f"last seen: not registered with Kubernetes yet; left in place: {left}; run node-add again to go on waiting")
    assert " waiting for worker-4 Ready on Talos v1.11.1: not registered with Kubernetes yet (0s of 0.3s)" in \
        out.getvalue()


def test_a_worker_with_its_osds_up_waits_for_clean_pgs_and_stops_naming_them(grown, monkeypatch):
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status("worker-4")])
    asked = []
    monkeypatch.setattr(osd_placement, "placement",
                        lambda name: asked.append(name) or osd_placement.Placement((3,), ("worker-4",), "pods"))
    monkeypatch.setattr(ceph, "osd_tree", lambda **_: OsdTree({"worker-4": (3,)}, ()))
    monkeypatch.setattr(ceph, "status", lambda **_: CephStatus("HEALTH_OK", (), 4, 4, 4,
                                                               (("active+remapped+backfilling", 137),), 137))
    session, out = session_of(grown)
    with pytest.raises(RunbookStopped) as stopped:
        node_join.wait_joined(session, standing_of(grown, "worker-4"))
    assert asked and set(asked) == {"worker-4"}
    assert str(stopped.value) == (
        "worker-4: stopped at step 'wait for Ceph': every Ceph PG active+clean did not happen within 0.3s; last seen: "
        "HEALTH_OK, PGs not clean: 137 active+remapped+backfilling; left in place: worker-4 configured, joining; "
        "run node-add again to go on waiting")
    assert "worker-4 Ready on Talos v1.11.1: yes" in out.getvalue() and "1 OSD(s) of worker-4 up: yes" in out.getvalue()


def test_an_osd_rook_never_prepares_stops_with_the_hint_in_full(grown, monkeypatch):
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status("worker-4")])
    monkeypatch.setattr(osd_placement, "placement", lambda name: osd_placement.Placement((), (), "pods"))
    with pytest.raises(RunbookStopped) as stopped:
        node_join.wait_joined(session_of(grown)[0], standing_of(grown, "worker-4"))
    assert str(stopped.value) == (
        "worker-4: stopped at step 'wait for its OSDs': 1 OSD(s) of worker-4 up did not happen within 0.3s; last seen: "
        "0 of 1 OSDs prepared by Rook (Rook prepares OSDs only on the nodes the rook-ceph-cluster HelmRelease lists, "
        "rendered from cluster.yaml: is the render committed and pushed, and has Flux reconciled it?); left in place: "
        "worker-4 configured, joining; run node-add again to go on waiting")


def test_a_control_plane_that_never_joins_etcd_stops_the_wait_for_etcd(grown, monkeypatch):
    Joining(monkeypatch, [members(("cp-1", False), ("cp-2", False))])
    with pytest.raises(RunbookStopped) as stopped:
        node_join.wait_joined(session_of(grown)[0], standing_of(grown, "cp-3"))
    assert str(stopped.value) == (
        "cp-3: stopped at step 'wait for etcd': cp-3 a voting etcd member did not happen within 0.3s; last seen: not "
        "an etcd member yet (members: cp-1, cp-2); left in place: cp-3 configured, joining; run node-add again to go "
        "on waiting")


def test_a_control_plane_that_never_becomes_ready_stops_the_wait_for_the_node(grown, monkeypatch):
    Joining(monkeypatch, [VOTING], nodes=[status("cp-3", ready="False")])
    with pytest.raises(RunbookStopped, match=r"^cp-3: stopped at step 'wait for the node': cp-3 Ready on Talos v1\.11\.1 "
                                             r"did not happen within 0\.3s; last seen: registered, Ready=False; left "):
        node_join.wait_joined(session_of(grown)[0], standing_of(grown, "cp-3"))


def test_the_running_clusters_health_is_its_nodes_etcd_ceph_and_flux_without_the_tolerance(grown, monkeypatch):
    from homeops.procedures import preflight

    asked = {}
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status("worker-1", ready="False")])

    def etcd(cluster):
        asked["etcd"] = [n.name for n in cluster.control_planes]
        return [checks.passed("etcd members", "2"), checks.CheckResult("etcd fault tolerance", "warn", "none")]

    monkeypatch.setattr(preflight, "etcd", etcd)
    monkeypatch.setattr(preflight, "ceph_health", lambda: [checks.passed("Ceph health", "HEALTH_OK")])
    monkeypatch.setattr(preflight, "flux_ready", lambda: [checks.passed("Flux Ready", "24")])
    before = node_join.running(grown, standing_of(grown, "cp-3"))
    results = node_join._cluster_health(before)
    assert [(r.check, r.status) for r in results] == [("nodes Ready", "FAIL"), ("etcd members", "ok"),
                                                      ("Ceph health", "ok"), ("Flux Ready", "ok")]
    assert results[0].detail == "worker-1 not Ready (Ready=False)" and asked["etcd"] == ["cp-1", "cp-2"]

    def refused(**_):
        raise ToolError(["kubectl"], 1, "connection refused", "")

    monkeypatch.setattr(kubectl, "nodes", refused)
    assert node_join._cluster_health(before)[0] == checks.failed("nodes Ready", "`kubectl` exited 1: connection refused")


def test_etcd_health_says_every_failure(grown, monkeypatch):
    from homeops.procedures import preflight

    monkeypatch.setattr(preflight, "etcd", lambda cluster: [checks.failed("etcd members", "cp-3 is still a learner"),
                                                            checks.failed("etcd health", "cp-3: no leader"),
                                                            checks.passed("etcd fault tolerance", "1")])
    assert node_join._etcd_healthy(grown) == "etcd members: cp-3 is still a learner; etcd health: cp-3: no leader"
    monkeypatch.setattr(preflight, "etcd", lambda cluster: [checks.passed("etcd members", "3")])
    assert node_join._etcd_healthy(grown) is True


def test_every_osd_down_is_named(grown, monkeypatch):
    node = grown.node("worker-4")
    monkeypatch.setattr(osd_placement, "placement", lambda name: osd_placement.Placement((3, 4), ("worker-4",), "pods"))
    monkeypatch.setattr(ceph, "osd_tree", lambda **_: OsdTree({"worker-4": (3, 4)}, (4, 3)))
    assert node_join._osds_up(node) == "OSDs 3, 4 down"


def test_a_cluster_yaml_without_an_age_key_accepts_no_bundle(grown, tmp_path):
    data = grown.model_dump(mode="json")
    data["secrets"]["age_public_key"] = None
    keyless = type(grown).model_validate(data)
    bundle = tmp_path / "talos" / "secrets.sops.yaml"
    bundle.parent.mkdir()
    bundle.write_text("cluster:\n  id: ENC[AES256_GCM,data:YQ==,type:str]\nsops:\n  age:\n    - recipient: age1x\n")
    assert node_join._secrets_bundle(keyless, Workspace(tmp_path)) == checks.failed(
        "Talos secrets", f"{bundle}: encrypted to age1x, not to ")


def test_the_checks_read_render_and_age_key_of_this_cluster_yaml(grown, monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(bootstrap_preflight, "render_clean",
                        lambda cluster, config: seen.append(("render", cluster, config)) or checks.passed("render", "ok"))
    monkeypatch.setattr(bootstrap_preflight, "age_key",
                        lambda cluster: seen.append(("age key", cluster)) or checks.passed("age key", "ok"))
    monkeypatch.setattr(node_join, "_cluster_health", lambda cluster: [])
    config = tmp_path / "cluster.yaml"
    bundle = tmp_path / "talos" / "secrets.sops.yaml"
    bundle.parent.mkdir()
    bundle.write_text("cluster:\n  id: ENC[AES256_GCM,data:YQ==,type:str]\nsops:\n  age:\n"
                      f"    - recipient: {grown.secrets.age_public_key}\n")
    results = node_join.checks(session_of(grown)[0], Workspace(tmp_path), config,
                               standing_of(grown, "worker-4", registered=(*RUNNING, "cp-3")))
    assert seen == [("render", grown, config), ("age key", grown)]
    assert {r.check: r.status for r in results}["Talos secrets"] == "ok"


def test_the_bundle_must_be_encrypted_to_cluster_yamls_key(grown, tmp_path):
    bundle = tmp_path / "talos" / "secrets.sops.yaml"
    bundle.parent.mkdir()
    key = str(grown.secrets.age_public_key)
    bundle.write_text(f"cluster:\n  id: ENC[AES256_GCM,data:YQ==,type:str]\nsops:\n  age:\n    - recipient: {key}\n")
    assert node_join._secrets_bundle(grown, Workspace(tmp_path)) == checks.passed(
        "Talos secrets", f"secrets.sops.yaml is SOPS-encrypted to {key}")
    bundle.write_text("cluster:\n  id: ENC[AES256_GCM,data:YQ==,type:str]\nsops:\n  age:\n    - recipient: age1other\n")
    assert node_join._secrets_bundle(grown, Workspace(tmp_path)) == checks.failed(
        "Talos secrets", f"{bundle}: encrypted to age1other, not to {key}")
    bundle.unlink()
    assert node_join._secrets_bundle(grown, Workspace(tmp_path)) == checks.failed(
        "Talos secrets", f"{bundle} is missing: a new node's configuration is made from the secrets bundle the "
                         "bootstrap kept there (restore it from Git); a new bundle would make another cluster")


def test_a_node_in_kubernetes_but_not_ready_is_said_so_and_a_machine_is_read_with_this_workspace(
        grown, monkeypatch, tmp_path):
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [status("worker-4", ready="False")])
    found = node_join.standing(grown.node("worker-4"), Workspace(tmp_path))
    assert found.detail == "already in Kubernetes (not Ready, Talos v1.11.1)"
    assert node_join._machine(found) == checks.passed("node worker-4", f"{found.detail}: not configured again")
    monkeypatch.setattr(kubectl, "nodes", lambda **_: [])
    machine = NodeState(grown.node("worker-4"), MAINTENANCE, "maintenance mode at 10.0.10.24")
    asked = []
    monkeypatch.setattr(bootstrap_preflight, "node_state", lambda n, w: asked.append((n, w)) or machine)
    found = node_join.standing(grown.node("worker-4"), Workspace(tmp_path))
    assert asked == [(grown.node("worker-4"), Workspace(tmp_path))]
    assert (found.node, found.detail, found.machine) == (grown.node("worker-4"), machine.detail, machine)


def test_the_backup_runs_in_this_sessions_gate_guard_and_project(grown, monkeypatch, tmp_path):
    taken = []
    monkeypatch.setattr(etcd_backup, "take_backup", lambda session, *a, **k: taken.append(session))
    gate = Gate(True, out=io.StringIO())
    session = Session(grown, gate, wait_timeout=12.0, poll_interval=3.0, guard="the guard", project=tmp_path)
    node_join.backup_first(session, standing_of(grown, "cp-3"))
    [used] = taken
    assert (used.gate, used.wait_timeout, used.poll_interval, used.guard, used.project) == (
        gate, 12.0, 3.0, "the guard", tmp_path)


@pytest.fixture
def tools_of_configure(monkeypatch):
    """The commands configure gives, in order; a failure is set per step name."""
    from homeops.tools import workstation

    done, failing = [], {}

    def step(name):
        def run(gate, *args, why=""):
            if name in failing:
                raise failing[name]
            done.append((name, args, why))
        return run

    monkeypatch.setattr(workstation, "sops_decrypt", step("decrypt"))
    monkeypatch.setattr(talosctl, "gen_config", step("gen config"))
    monkeypatch.setattr(talosctl, "apply_config_insecure", step("apply-config"))
    return done, failing


def test_configure_decrypts_makes_the_config_from_the_clear_bundle_and_applies_it(grown, tools_of_configure, tmp_path):
    done, _ = tools_of_configure
    session, _ = session_of(grown)
    joined = node_join.Joined(grown.node("worker-4"))
    node_join.configure(session, Workspace(tmp_path), standing_of(grown, "worker-4"), joined)
    generated = tmp_path / "talos" / "generated"
    assert [name for name, _, _ in done] == ["decrypt", "gen config", "apply-config"]
    assert f"--with-secrets {generated}/secrets.yaml" in " ".join(done[1][1][0])
    assert done[2] == ("apply-config", ("10.0.10.24", str(generated / "worker-4.yaml")),
                       "worker-4 installs Talos v1.11.1 to /dev/sda and reboots into its configuration")
    assert joined.changed == ["configured worker-4 (apply-config --insecure)"]


@pytest.mark.parametrize("step, said", [("decrypt", "decrypt secrets"), ("gen config", "gen config worker-4")])
def test_a_failure_making_the_config_stops_as_node_add_with_the_cluster_untouched(grown, tools_of_configure,
                                                                                   tmp_path, step, said):
    done, failing = tools_of_configure
    failing[step] = ToolError(["tool"], 1, "boom", "")
    with pytest.raises(RunbookStopped) as stopped:
        node_join.configure(session_of(grown)[0], Workspace(tmp_path), standing_of(grown, "worker-4"),
                            node_join.Joined(grown.node("worker-4")))
    assert str(stopped.value) == f"node-add: stopped at step '{said}': `tool` exited 1: boom; the cluster was not touched"
    assert "apply-config" not in [name for name, _, _ in done]


def test_an_apply_config_without_an_answer_names_what_may_have_changed(grown, tools_of_configure, tmp_path):
    _, failing = tools_of_configure
    error = ToolError(["talosctl"], -1, "no answer", "")
    error.in_doubt = "`talosctl apply-config --insecure --nodes 10.0.10.24` may have configured it"
    failing["apply-config"] = error
    with pytest.raises(RunbookStopped) as stopped:
        node_join.configure(session_of(grown)[0], Workspace(tmp_path), standing_of(grown, "worker-4"),
                            node_join.Joined(grown.node("worker-4")))
    assert str(stopped.value).endswith(
        "left in place: `talosctl apply-config --insecure --nodes 10.0.10.24` may have configured it")


def test_the_summary_names_the_backup_and_five_members_quorum(grown, monkeypatch, tmp_path):
    five = members(*((f"cp-{i}", False) for i in range(1, 6)))
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: five)
    backup = etcd_backup.Backup(tmp_path / "etcd-1", grown.node("cp-1"))
    joined = node_join.Joined(grown.node("cp-3"), ["configured cp-3 (apply-config --insecure)", "and more"], backup)
    assert node_join.summary(session_of(grown)[0], joined, standing_of(grown, "cp-3")).splitlines() == [
        "cp-3 joined the cluster: configured cp-3 (apply-config --insecure); and more",
        f"  backup before it joined: {tmp_path / 'etcd-1'}",
        "  etcd: 5 members, quorum 3: tolerates 2 member(s) down"]
    planned = etcd_backup.Backup(None, grown.node("cp-1"))
    joined = node_join.Joined(grown.node("cp-3"), ["configured cp-3 (apply-config --insecure)"], planned)
    assert "backup before" not in node_join.summary(session_of(grown)[0], joined, standing_of(grown, "cp-3"))
