"""The one-node upgrade, step by step, against an in-memory cluster: order, skip, and what each failure leaves."""

from __future__ import annotations

import pytest

from homeops.errors import RunbookStopped
from homeops.procedures import node_upgrade

TARGET = "v1.11.1"
WORKERS = ["worker-1", "worker-2", "worker-3"]
TOOLBOX = "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph"


def worker(session, name):
    return session.cluster.node(name)


def test_apply_takes_the_node_out_upgrades_it_and_brings_it_back_in_order(fake_cluster, session_for, capsys):
    session = session_for(apply=True)
    assert node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET) is True
    assert [" ".join(c) for c in fake_cluster.changes()] == [
        f"{TOOLBOX} osd set-group noout worker-1",
        "kubectl cordon worker-1",
        "kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data --timeout=0.5s",
        f"talosctl -n 10.0.10.21 upgrade -i {session.cluster.installer_image('v1.11.1')} --timeout 0.5s",
        "kubectl uncordon worker-1",
        f"{TOOLBOX} osd unset-group noout worker-1",
    ]
    node = fake_cluster.nodes["worker-1"]
    assert (node.talos, node.boot, node.unschedulable) == (TARGET, 2, False)
    assert fake_cluster.host_flags["worker-1"] == set()
    assert fake_cluster.nodes["worker-2"].boot == 1  # only the node asked for
    assert "worker-1: done" in capsys.readouterr().out


def test_ok_to_stop_is_asked_for_the_nodes_own_osds_before_any_change(fake_cluster, session_for):
    session = session_for(apply=True)
    node_upgrade.upgrade_node(session, worker(session, "worker-2"), TARGET)
    first_change = fake_cluster.calls.index(next(c for c in fake_cluster.calls if "set-group" in c))
    ok_to_stop = [c for c in fake_cluster.calls[:first_change] if "ok-to-stop" in c]
    assert ok_to_stop == [["kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph",
                           "osd", "ok-to-stop", "1", "-f", "json"]]


def test_plan_changes_nothing_and_describes_the_waits(fake_cluster, session_for, capsys):
    session = session_for(apply=False)
    assert node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET) is True
    assert fake_cluster.changes() == []
    out = capsys.readouterr().out
    assert "PLAN: kubectl cordon worker-1" in out
    assert "PLAN: would wait for worker-1 Ready with a new boot ID and Talos v1.11.1" in out
    assert "PLAN: would wait for every Ceph PG active+clean" in out
    assert fake_cluster.nodes["worker-1"].boot == 1


def test_a_node_already_at_the_target_is_skipped_without_a_reboot(fake_cluster, session_for, capsys):
    fake_cluster.nodes["worker-1"].talos = TARGET
    session = session_for(apply=True)
    assert node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET) is False
    assert fake_cluster.changes() == []
    assert "worker-1: already runs Talos v1.11.1, skipped (no reboot)" in capsys.readouterr().out


def test_ok_to_stop_refused_stops_with_nothing_changed(fake_cluster, session_for):
    fake_cluster.ok_to_stop_refused.add("worker-1")
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped) as stopped:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)
    assert str(stopped.value) == (
        "worker-1: stopped at step 'ceph osd ok-to-stop': Ceph says stopping OSD(s) 0 is not safe: "
        "Error EBUSY: unsafe to stop osd(s) at this time (12 PGs are or would become offline); left in place: nothing"
    )
    assert fake_cluster.changes() == []


def test_a_refused_drain_gives_the_node_back(fake_cluster, session_for):
    fake_cluster.drain_refused.add("worker-1")
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped) as stopped:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)
    message = str(stopped.value)
    assert message.startswith("worker-1: stopped at step 'drain': ")
    assert "global timeout reached" in message
    assert message.endswith("undone: worker-1 uncordoned; undone: noout cleared for host worker-1; left in place: nothing")
    assert fake_cluster.nodes["worker-1"].unschedulable is False
    assert fake_cluster.host_flags["worker-1"] == set()
    assert not any(c[0] == "talosctl" for c in fake_cluster.calls)


def test_a_rejected_upgrade_gives_the_node_back(fake_cluster, session_for):
    fake_cluster.upgrade_rejected.add("worker-1")
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped) as stopped:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)
    message = str(stopped.value)
    assert message.startswith("worker-1: stopped at step 'talosctl upgrade': ")
    assert "failed to pull installer image (the node did not reboot)" in message
    assert message.endswith("left in place: nothing")
    node = fake_cluster.nodes["worker-1"]
    assert (node.unschedulable, node.boot, node.talos) == (False, 1, "v1.11.0")
    assert fake_cluster.host_flags["worker-1"] == set()


def test_a_node_that_does_not_come_back_stays_cordoned_with_noout(fake_cluster, session_for):
    fake_cluster.never_back.add("worker-1")
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped) as stopped:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)
    message = str(stopped.value)
    assert message.startswith("worker-1: stopped at step 'wait for Ready': worker-1 Ready with a new boot ID and "
                              "Talos v1.11.1 did not happen within 0.5s; now Ready=Unknown")
    assert message.endswith("left in place: worker-1 cordoned, noout set for host worker-1")
    assert fake_cluster.nodes["worker-1"].unschedulable is True
    assert fake_cluster.host_flags["worker-1"] == {"noout"}


def test_pgs_that_stay_unclean_leave_the_flag_set_and_say_so(fake_cluster, session_for):
    fake_cluster.pgs_stuck = True
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped) as stopped:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)
    message = str(stopped.value)
    assert message.startswith("worker-1: stopped at step 'wait for PGs active+clean': every Ceph PG active+clean "
                              "did not happen within 0.5s; PGs now: 64 active+undersized+degraded")
    assert message.endswith("left in place: noout set for host worker-1")
    assert fake_cluster.nodes["worker-1"].unschedulable is False
    assert fake_cluster.host_flags["worker-1"] == {"noout"}


def test_upgrade_nodes_stops_at_the_first_failure_and_never_touches_the_next(fake_cluster, session_for):
    fake_cluster.never_back.add("worker-2")
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped, match="^worker-2: stopped at step 'wait for Ready'"):
        node_upgrade.upgrade_nodes(session, session.cluster.workers, TARGET)
    assert fake_cluster.nodes["worker-1"].talos == TARGET
    assert fake_cluster.nodes["worker-3"].boot == 1
    assert not any("worker-3" in " ".join(c) or "10.0.10.23" in c for c in fake_cluster.changes())


def test_select_nodes_keeps_cluster_yaml_order_and_refuses_strangers(session_for):
    session = session_for(apply=False)
    chosen = node_upgrade.select_nodes(session, "worker-3, worker-1", role="worker")
    assert [n.name for n in chosen] == ["worker-1", "worker-3"]
    assert [n.name for n in node_upgrade.select_nodes(session, "", role="worker")] == ["worker-1", "worker-2", "worker-3"]
    with pytest.raises(RunbookStopped, match="no node named 'worker-9' in cluster.yaml"):
        node_upgrade.select_nodes(session, "worker-9", role="worker")
    with pytest.raises(RunbookStopped, match="cp-1 is a control-plane node, not a worker; nothing changed"):
        node_upgrade.select_nodes(session, "cp-1", role="worker")


def test_a_malformed_version_is_refused(session_for):
    with pytest.raises(RunbookStopped, match="talos_version '1.11' is not a version"):
        node_upgrade.target_version(session_for(apply=False), "1.11")
    assert node_upgrade.target_version(session_for(apply=False), "") == "v1.11.1"


# The Talos upgrade path: checked for every chosen node before the first one is touched.

def set_versions(fake_cluster, talos: str, kubelet: str, names=None) -> None:
    for name, node in fake_cluster.nodes.items():
        if names is None or name in names:
            node.talos, node.kubelet = talos, kubelet


def refusal_of_upgrade_nodes(session, nodes, version) -> str:
    with pytest.raises(RunbookStopped) as stopped:
        node_upgrade.upgrade_nodes(session, nodes, version)
    return str(stopped.value)


@pytest.mark.parametrize("apply", [True, False], ids=["apply", "plan"])
def test_a_downgrade_is_refused_naming_the_nodes_and_both_versions(fake_cluster, session_for, capsys, apply):
    set_versions(fake_cluster, "v1.11.1", "v1.34.1")
    session = session_for(apply=apply)
    message = refusal_of_upgrade_nodes(session, session.cluster.workers, "v1.11.0")
    assert message == ("refused: worker-1, worker-2, worker-3: Talos v1.11.1 -> v1.11.0 is a downgrade, "
                       "which this runbook does not do; nothing changed")
    assert fake_cluster.changes() == []
    assert "PLAN: " not in capsys.readouterr().out  # refused before a single change is even shown


def test_a_jump_of_two_minors_is_refused_for_the_node_that_would_make_it(fake_cluster, session_for):
    set_versions(fake_cluster, "v1.10.7", "v1.32.3")
    set_versions(fake_cluster, "v1.9.6", "v1.32.3", names={"worker-2"})
    session = session_for(apply=True)
    message = refusal_of_upgrade_nodes(session, session.cluster.workers, "v1.11.1")
    assert message == ("refused: worker-2: Talos v1.9.6 -> v1.11.1 jumps more than one minor version: step through "
                       "the latest patch of each minor, upgrade to the latest v1.10.x first; nothing changed")
    assert fake_cluster.changes() == []
    assert fake_cluster.nodes["worker-1"].boot == 1  # worker-1's own step was fine, but nothing starts


def test_a_target_whose_kubernetes_range_excludes_the_kubelet_is_refused(fake_cluster, session_for):
    set_versions(fake_cluster, "v1.10.7", "v1.28.15")
    session = session_for(apply=True)
    message = refusal_of_upgrade_nodes(session, session.cluster.control_planes, "v1.11.1")
    assert message == ("refused: cp-1, cp-2: Talos v1.11.1 supports Kubernetes 1.29 to 1.34, not the kubelet v1.28.15 "
                       "(now on Talos v1.10.7): upgrade Kubernetes first; nothing changed")
    assert fake_cluster.changes() == []


def test_different_reasons_are_each_named_with_their_nodes(fake_cluster, session_for):
    set_versions(fake_cluster, "v1.9.6", "v1.32.3", names={"worker-1"})
    set_versions(fake_cluster, "v1.11.2", "v1.34.1", names={"worker-3"})
    session = session_for(apply=True)
    message = refusal_of_upgrade_nodes(session, session.cluster.workers, "v1.11.1")
    assert message.startswith("refused: worker-1: Talos v1.9.6 -> v1.11.1 jumps more than one minor version")
    assert "; worker-3: Talos v1.11.2 -> v1.11.1 is a downgrade" in message
    assert "worker-2" not in message  # v1.11.0 -> v1.11.1 is a fine step


def test_one_minor_up_within_the_kubelets_range_proceeds_and_says_what_was_checked(fake_cluster, session_for, capsys):
    set_versions(fake_cluster, "v1.10.7", "v1.33.4")
    set_versions(fake_cluster, "v1.11.1", "v1.33.4", names={"worker-1"})
    session = session_for(apply=True)
    assert node_upgrade.upgrade_nodes(session, session.cluster.workers, "v1.11.1") == ["worker-2", "worker-3"]
    assert {n.talos for n in fake_cluster.nodes.values() if n.role == "worker"} == {"v1.11.1"}
    out = capsys.readouterr().out
    assert ("upgrade path to Talos v1.11.1 checked for worker-2, worker-3: no downgrade, at most one minor up, "
            "kubelets within Kubernetes 1.29 to 1.34") in out


def test_a_talos_minor_missing_from_the_support_table_cannot_be_checked(fake_cluster, session_for):
    set_versions(fake_cluster, "v1.11.1", "v1.34.1")
    session = session_for(apply=True)
    message = refusal_of_upgrade_nodes(session, session.cluster.workers, "v1.12.0")
    assert message == ("cannot check: Talos v1.12 is newer than the support table; update homeops/cluster/talos_support.py "
                       "(the target talos_version v1.12.0); nothing changed")
    assert fake_cluster.changes() == []


def test_the_path_follows_the_shared_support_table(fake_cluster, session_for, monkeypatch):
    from homeops.cluster import talos_support

    set_versions(fake_cluster, "v1.10.7", "v1.28.15")
    session = session_for(apply=False)
    assert "supports Kubernetes 1.29 to 1.34" in refusal_of_upgrade_nodes(session, session.cluster.workers, "v1.11.1")
    monkeypatch.setattr(talos_support, "supported_kubernetes", lambda talos: (28, 34))  # a table that admits 1.28
    assert node_upgrade.upgrade_nodes(session, session.cluster.workers, "v1.11.1") == WORKERS


def test_nodes_that_cannot_be_read_stop_the_path_check(fake_cluster, session_for):
    fake_cluster.api_down = True
    session = session_for(apply=True)
    message = refusal_of_upgrade_nodes(session, session.cluster.workers, "v1.11.1")
    assert message.startswith("cannot read the nodes to check the Talos upgrade path: ")
    assert "was refused" in message and message.endswith("nothing changed")


def test_the_target_is_spelt_as_a_release_tag(session_for):
    assert node_upgrade.target_version(session_for(apply=False), " 1.11.2 ") == "v1.11.2"
