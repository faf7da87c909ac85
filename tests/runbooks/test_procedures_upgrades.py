"""Kubernetes upgrade path, one Talos step, the shared support table, the two-member etcd refusal and
snapshot, Ceph maintenance enter/exit."""

from __future__ import annotations

import pytest

from homeops.errors import RunbookStopped
from homeops.procedures import ceph_maintenance, etcd, kubernetes_upgrade, versions
from homeops.tools import kubectl


@pytest.mark.parametrize("to, message", [
    ("v1.36.0", "refused: 1.34 -> v1.36.0 jumps more than one minor version"),
    ("v1.33.5", "refused: v1.33.5 is older than the running Kubernetes 1.34"),
    ("v1.35.0", "refused: Talos v1.11.0 on cp-1 supports Kubernetes 1.29 to 1.34, not v1.35.0; upgrade Talos first"),
    ("1.35", "to '1.35' is not a version of the form vMAJOR.MINOR.PATCH"),
])
def test_unsupported_kubernetes_paths_are_refused_before_anything_changes(fake_cluster, session_for, to, message):
    with pytest.raises(RunbookStopped, match=message.replace(".", r"\.")):
        kubernetes_upgrade.check_path(session_for(apply=True), to, kubectl.nodes())
    assert fake_cluster.changes() == []


def test_the_next_patch_and_the_default_target_are_accepted(fake_cluster, session_for):
    session = session_for(apply=True)
    assert kubernetes_upgrade.check_path(session, "1.34.2", kubectl.nodes()) == "v1.34.2"
    assert kubernetes_upgrade.check_path(session, "", kubectl.nodes()) == session.cluster.versions.kubernetes


def test_two_member_etcd_is_refused_unless_the_risk_is_accepted(fake_cluster, session_for, capsys, monkeypatch):
    monkeypatch.setenv("HOMEOPS_STARTER", "cli")  # under `homeops run`
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped) as stopped:
        etcd.refuse_two_members(session, accept_risk=False)
    message = str(stopped.value)
    assert message.startswith("refused: etcd has exactly 2 members")
    assert "-p accept_two_member_etcd_risk=True" in message and message.endswith("nothing changed")
    assert etcd.refuse_two_members(session, accept_risk=True) is True
    assert "upgrading with --force after a snapshot" in capsys.readouterr().out


def test_in_a_notebook_the_refusal_says_which_parameter_to_set_and_apply_config_names_no_upgrade(
        fake_cluster, session_for, capsys, monkeypatch):
    """JupyterLab has no command line: the way out is the parameters cell. And apply-config's reboots are
    no `talosctl upgrade`: Talos has no --force check of its own to name there."""
    monkeypatch.delenv("HOMEOPS_STARTER", raising=False)
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped) as upgrade:
        etcd.refuse_two_members(session, accept_risk=False)
    assert "set accept_two_member_etcd_risk = True in the parameters cell and Run All again to upgrade anyway" \
        in str(upgrade.value)
    assert "-p " not in str(upgrade.value)

    with pytest.raises(RunbookStopped) as apply_config:
        etcd.refuse_two_members(session, accept_risk=False, upgrade=False)
    message = str(apply_config.value)
    assert message == (f"refused: {etcd.QUORUM_RISK}. Add a third control-plane node, or set "
                       "accept_two_member_etcd_risk = True in the parameters cell and Run All again to reboot the "
                       "control planes anyway, one at a time, after an etcd backup; nothing changed")
    assert "upgrade" not in message and "--force" not in message
    assert etcd.refuse_two_members(session, accept_risk=True, upgrade=False) is True
    accepted = capsys.readouterr().out
    assert "rebooting each control plane after an etcd backup" in accepted and "--force" not in accepted


def test_the_refusal_counts_the_voting_members_etcd_lists_not_cluster_yaml(fake_cluster, session_for):
    from tests.runbooks.conftest import FakeNode

    session = session_for(apply=True)
    fake_cluster.nodes["cp-3"] = FakeNode("cp-3", "control-plane", "10.0.10.13", "v1.11.0", "v1.34.1")
    # A third member that joined (node-add): quorum 2 of 3, one may reboot, nothing to accept.
    assert etcd.refuse_two_members(session, accept_risk=False) is False
    # Still a learner: it does not vote, so etcd's quorum is still 2 of 2.
    fake_cluster.etcd_learners.add("cp-3")
    with pytest.raises(RunbookStopped, match="^refused: etcd has exactly 2 members"):
        etcd.refuse_two_members(session, accept_risk=False)
    assert fake_cluster.changes() == []


def test_without_any_member_answering_the_refusal_falls_back_to_cluster_yamls_count(monkeypatch, session_for):
    from homeops.tools import process

    def unreachable(argv, **_):
        raise process.ToolError(argv, 1, "1 error occurred:\n\t* 10.0.10.11: connection refused\n", "")

    monkeypatch.setattr(process, "run", unreachable)
    with pytest.raises(RunbookStopped, match="^refused: etcd has exactly 2 members"):
        etcd.refuse_two_members(session_for(apply=True), accept_risk=False)


def test_ceph_maintenance_enter_then_exit(fake_cluster, session_for):
    session = session_for(apply=True)
    node = ceph_maintenance.chosen_node(session, "worker-2", "enter")
    message = ceph_maintenance.enter(session, node)
    assert message.startswith("worker-2 is in maintenance: cordoned and drained, noout set for host worker-2 and "
                              "the whole cluster")
    assert fake_cluster.nodes["worker-2"].unschedulable and fake_cluster.host_flags["worker-2"] == {"noout"}
    assert fake_cluster.flags == {"noout"}  # Rook clears the host's after osdMaintenanceTimeout; this one stays
    message = ceph_maintenance.exit(session, node)
    assert message == "worker-2 is back in service: uncordoned, PGs active+clean, noout cleared"
    assert not fake_cluster.nodes["worker-2"].unschedulable and fake_cluster.host_flags["worker-2"] == set()
    assert fake_cluster.flags == set()


@pytest.mark.parametrize("name, action, message", [
    ("", "enter", "no node given: pass -p node=NAME"),
    ("worker-9", "enter", "no node named 'worker-9' in cluster.yaml"),
    ("worker-1", "leave", "action must be 'enter' or 'exit', got 'leave'"),
])
def test_ceph_maintenance_refuses_bad_parameters(session_for, name, action, message):
    with pytest.raises(RunbookStopped, match=message):
        ceph_maintenance.chosen_node(session_for(apply=True), name, action)


def test_a_running_talos_missing_from_the_support_table_cannot_be_checked(fake_cluster, session_for):
    fake_cluster.nodes["cp-2"].talos = "v1.12.0"
    with pytest.raises(RunbookStopped) as stopped:
        kubernetes_upgrade.check_path(session_for(apply=True), "v1.34.2", kubectl.nodes())
    assert str(stopped.value) == ("cannot check: Talos v1.12 is newer than the support table; "
                                  "update homeops/cluster/talos_support.py (running on cp-2); nothing changed")
    assert fake_cluster.changes() == []


def test_the_kubernetes_path_follows_the_shared_support_table(fake_cluster, session_for, monkeypatch):
    from homeops.cluster import talos_support

    session = session_for(apply=True)
    with pytest.raises(RunbookStopped, match=r"supports Kubernetes 1\.29 to 1\.34, not v1\.35\.0"):
        kubernetes_upgrade.check_path(session, "v1.35.0", kubectl.nodes())
    monkeypatch.setattr(talos_support, "supported_kubernetes", lambda talos: (30, 35))
    assert kubernetes_upgrade.check_path(session, "v1.35.0", kubectl.nodes()) == "v1.35.0"


@pytest.mark.parametrize("talos, kubelet, refusal", [
    ((1, 11, 0), (1, 34, 1), None),
    ((1, 10, 7), (1, 33, 4), None),
    ((1, 11, 1), (1, 34, 1), None),  # the same release: nothing to refuse
    ((1, 11, 2), (1, 34, 1), "Talos v1.11.2 -> v1.11.1 is a downgrade"),
    ((1, 9, 6), (1, 32, 3), "Talos v1.9.6 -> v1.11.1 jumps more than one minor version"),
    ((1, 10, 7), (1, 28, 15), "Talos v1.11.1 supports Kubernetes 1.29 to 1.34, not the kubelet v1.28.15"),
    ((0, 11, 1), (1, 34, 1), "Talos v0.11.1 -> v1.11.1 jumps more than one minor version"),
])
def test_one_talos_step_to_v1_11_1(talos, kubelet, refusal):
    found = versions.talos_step_refusal(talos, (1, 11, 1), kubelet)
    if refusal is None:
        assert found is None
    else:
        assert found is not None and found.startswith(refusal), found


@pytest.mark.parametrize("talos, place", [
    ((1, 12, 0), "Talos v1.12 is newer than the support table"),
    ((1, 7, 3), "Talos v1.7 is not in the support table"),
    ((2, 0, 0), "Talos v2.0 is not in the support table"),
])
def test_a_talos_minor_the_table_does_not_know_stops_with_what_to_update(talos, place):
    with pytest.raises(RunbookStopped) as stopped:
        versions.kubernetes_minors(talos)
    assert str(stopped.value) == f"cannot check: {place}; update homeops/cluster/talos_support.py; nothing changed"
