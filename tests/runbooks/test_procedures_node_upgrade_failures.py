"""What the one-node upgrade says and leaves when a step fails, against the in-memory cluster."""

from __future__ import annotations

import pytest

from homeops.runner.outcome import RERUN_NOTEBOOK
from homeops.errors import RunbookStopped
from homeops.procedures import node_upgrade

TARGET = "v1.11.1"


def worker(session, name):
    return session.cluster.node(name)


def test_a_node_that_went_down_and_stayed_down_when_talosctl_gave_up_stays_out_of_service(fake_cluster, session_for):
    fake_cluster.lost_in_upgrade.add("worker-1")
    session = session_for(apply=True)

    with pytest.raises(RunbookStopped) as caught:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)

    message = str(caught.value)
    assert message.startswith("worker-1: stopped at step 'talosctl upgrade': ")
    assert "context deadline exceeded" in message
    assert message.endswith("; now Ready=Unknown, Talos v1.11.0, boot ID boot-2"
                            " (the node went down and did not come back: it stays out of service)"
                            "; warning: worker-1 may still be rebooting: wait until `kubectl get node worker-1` shows "
                            "it Ready before anything else; check by hand: `talosctl -n 10.0.10.21 get machinestatus`, "
                            "`kubectl get node worker-1`, `kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph status`"
                            f"; {RERUN_NOTEBOOK} to finish worker-1"
                            "; left in place: worker-1 cordoned, noout set for host worker-1")
    assert fake_cluster.nodes["worker-1"].unschedulable
    assert fake_cluster.host_flags["worker-1"] == {"noout"}
    assert not any(c[:2] == ["kubectl", "uncordon"] for c in fake_cluster.calls)


def test_a_refused_upgrade_whose_node_cannot_be_read_afterwards_counts_as_disturbed(fake_cluster, session_for):
    fake_cluster.upgrade_rejected.add("worker-1")
    fake_cluster.api_down_on_upgrade_failure.add("worker-1")
    session = session_for(apply=True)

    with pytest.raises(RunbookStopped) as caught:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)

    assert str(caught.value).startswith("worker-1: stopped at step 'talosctl upgrade': ")
    assert "; cannot read the node: " in str(caught.value)
    assert "(the node went down and did not come back: it stays out of service)" in str(caught.value)
    assert str(caught.value).endswith("; left in place: worker-1 cordoned, noout set for host worker-1")
    assert fake_cluster.nodes["worker-1"].unschedulable


def test_a_refused_upgrade_of_a_node_still_on_its_boot_gives_it_back(fake_cluster, session_for):
    fake_cluster.upgrade_rejected.add("worker-1")
    session = session_for(apply=True)

    with pytest.raises(RunbookStopped) as caught:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)

    assert "(the node did not reboot)" in str(caught.value)
    assert not fake_cluster.nodes["worker-1"].unschedulable and fake_cluster.host_flags["worker-1"] == set()


def test_a_node_that_cannot_be_read_at_the_start_is_left_untouched_and_named(fake_cluster, session_for):
    fake_cluster.api_down = True
    session = session_for(apply=True)

    with pytest.raises(RunbookStopped) as caught:
        node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)

    assert str(caught.value).startswith("worker-1: stopped at step 'read the node': ")
    assert "was refused" in str(caught.value)
    assert str(caught.value).endswith("; left in place: nothing")
    assert fake_cluster.changes() == []


def test_apply_names_each_step_and_why(fake_cluster, session_for, capsys):
    session = session_for(apply=True)

    node_upgrade.upgrade_node(session, worker(session, "worker-1"), "v1.11.2", force=True)

    out = capsys.readouterr().out
    assert "worker-1: Talos v1.11.0 -> v1.11.2" in out
    assert "RUN: kubectl cordon worker-1  # no new pods on worker-1 (Talos upgrade to v1.11.2)" in out
    assert (":v1.11.2 --timeout 0.5s --force  # install the new version to the other slot and reboot into it"
            in out)
    assert "waiting for worker-1 Ready with a new boot ID and Talos v1.11.2 (up to 0.5s)" in out
    assert "worker-1: done" in out
    assert fake_cluster.nodes["worker-1"].talos == "v1.11.2"


def test_plan_says_planned_not_done(fake_cluster, session_for, capsys):
    session = session_for(apply=False)

    node_upgrade.upgrade_node(session, worker(session, "worker-1"), TARGET)

    out = capsys.readouterr().out
    assert "worker-1: planned" in out and "worker-1: done" not in out


def test_a_cluster_without_the_role_and_an_unknown_node_are_refused_by_name(fake_cluster, session_for):
    session = session_for(apply=True)

    with pytest.raises(RunbookStopped, match=r"^cluster.yaml has no gpu node; nothing changed$"):
        node_upgrade.select_nodes(session, "", role="gpu")
    with pytest.raises(RunbookStopped) as caught:
        node_upgrade.select_nodes(session, "worker-9", role="worker")
    assert str(caught.value) == ("no node named 'worker-9' in cluster.yaml (nodes: cp-1, cp-2, worker-1, worker-2, "
                                 "worker-3); nothing changed")


def test_an_upgrade_path_check_names_a_node_missing_from_the_cluster_or_without_a_talos_version(fake_cluster,
                                                                                               session_for):
    session = session_for(apply=True)
    del fake_cluster.nodes["worker-3"]
    with pytest.raises(RunbookStopped, match=r"^worker-3 is in cluster.yaml but not in the cluster; nothing changed$"):
        node_upgrade.check_upgrade_path(session, session.cluster.workers, TARGET)


def test_the_summary_names_what_was_upgraded_and_what_already_ran_the_version(session_for):
    workers = session_for(apply=True).cluster.workers

    assert node_upgrade.summary(["worker-1", "worker-3"], workers, TARGET, apply=True) == (
        "upgraded worker-1, worker-3 to Talos v1.11.1; already at v1.11.1: worker-2")
    assert node_upgrade.summary(["worker-1", "worker-2", "worker-3"], workers, TARGET, apply=False) == (
        "would upgrade worker-1, worker-2, worker-3 to Talos v1.11.1")
    assert node_upgrade.summary([], workers, TARGET, apply=True) == (
        "nothing to upgrade; already at v1.11.1: worker-1, worker-2, worker-3")


def test_upgrade_nodes_passes_force_on_and_calls_between_with_each_upgraded_node(fake_cluster, session_for):
    fake_cluster.nodes["worker-2"].talos = TARGET
    session = session_for(apply=True)
    seen = []

    upgraded = node_upgrade.upgrade_nodes(session, session.cluster.workers, TARGET, force=True, between=seen.append)

    assert upgraded == ["worker-1", "worker-3"]
    assert [n.name for n in seen] == ["worker-1", "worker-3"]
    upgrades = [c for c in fake_cluster.changes() if "upgrade" in c]
    assert len(upgrades) == 2 and all(c[-1] == "--force" for c in upgrades)


def test_a_target_that_is_not_a_version_is_refused_naming_the_parameter(fake_cluster, session_for):
    session = session_for(apply=True)
    with pytest.raises(RunbookStopped, match=r"^talos_version 'v1\.x' is not a version of the form vMAJOR\.MINOR\.PATCH"):
        node_upgrade.check_upgrade_path(session, session.cluster.workers, "v1.x")


def test_upgrade_nodes_does_not_force_unless_asked(fake_cluster, session_for):
    session = session_for(apply=True)

    node_upgrade.upgrade_nodes(session, [worker(session, "worker-1")], TARGET)

    [upgrade] = [c for c in fake_cluster.changes() if "upgrade" in c]
    assert "--force" not in upgrade
