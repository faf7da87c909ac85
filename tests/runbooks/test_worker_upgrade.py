"""Drills of runbooks/worker-upgrade.ipynb against a fresh twin, through `homeops run`.

The twin starts one Talos patch behind cluster.yaml so that every worker has something to do.
"""

from __future__ import annotations

import pytest

from homeops.twin import cluster

pytestmark = pytest.mark.slow

OLD, NEW = "v1.11.0", "v1.11.1"
WORKERS = ["worker-1", "worker-2", "worker-3"]
ADDRESSES = {"10.0.10.21": "worker-1", "10.0.10.22": "worker-2", "10.0.10.23": "worker-3"}


def scenario(*faults: dict) -> dict:
    return {"talos_version": OLD, "reboot_seconds": 0.3, "faults": list(faults)}


def node_of(change: str) -> str | None:
    for word in change.split():
        if word in WORKERS:
            return word
        if word in ADDRESSES:
            return ADDRESSES[word]
    return None


def verb_of(change: str) -> str:
    words = change.split()
    if "ceph" in words:
        return words[words.index("osd") + 1]
    if words[0] == "talosctl":
        return words[3]
    return words[1]


def before_flags_of(drill):
    """No flag at all: what every worker-upgrade drill starts from."""
    flags = drill.osd_dump()
    assert not flags.maintenance_flags and not flags.host_flags
    return flags


def assert_untouched(before: dict, after: dict, names) -> None:
    for name in names:
        assert after[name] == before[name], f"{name} changed: {before[name]} -> {after[name]}"


def test_plan_shows_every_change_and_changes_nothing(make_drill):
    drill = make_drill(scenario())
    before = drill.snapshot()
    result = drill.run("worker-upgrade")
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: worker-upgrade (plan)")
    assert "would upgrade worker-1, worker-2, worker-3 to Talos v1.11.1" in result.stdout
    for address in ADDRESSES:
        assert any(c.startswith(f"talosctl -n {address} upgrade -i factory.talos.dev/installer/") and
                   c.endswith(f":{NEW} --timeout 3s") for c in result.changes)
    assert "PLAN: would wait for worker-2 Ready with a new boot ID and Talos v1.11.1" in result.stdout
    assert drill.snapshot() == before
    assert drill.osd_dump().host_flags == {}


def test_apply_upgrades_every_worker_one_at_a_time_and_a_rerun_reboots_nothing(make_drill):
    drill = make_drill(scenario())
    before = drill.snapshot()
    result = drill.run("worker-upgrade", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: worker-upgrade (apply)")

    # One at a time: all the changes of a worker form one block, in cluster.yaml order.
    blocks = []
    for change in result.changes:
        node = node_of(change)
        if not blocks or blocks[-1] != node:
            blocks.append(node)
    assert blocks == WORKERS, result.changes
    worker_1 = [verb_of(c) for c in result.changes if node_of(c) == "worker-1"]
    assert worker_1 == ["set-group", "cordon", "drain", "upgrade", "uncordon", "unset-group"]

    after = drill.snapshot()
    for name in WORKERS:
        talos, kubelet, boot, cordoned = after[name]
        assert talos == NEW and boot != before[name][2] and not cordoned
    assert_untouched(before, after, ["cp-1", "cp-2"])
    assert drill.osd_dump().host_flags == {}
    assert drill.ceph_status().pgs_clean and not drill.osd_dump().maintenance_flags

    upgraded = drill.state()
    rerun = drill.run("worker-upgrade", apply=True)
    assert rerun.code == 0, rerun.stdout + rerun.stderr
    assert rerun.changes == []
    for name in WORKERS:
        assert f"{name}: already runs Talos v1.11.1, skipped (no reboot)" in rerun.stdout
    assert drill.snapshot() == after
    rerun_state = drill.state()  # no reboot (same boot IDs), no cordon, no flag, no Lease left
    assert rerun_state.nodes == upgraded.nodes
    assert rerun_state.ceph_flags == upgraded.ceph_flags == before_flags_of(drill)
    assert rerun_state.leases == {}


def test_a_worker_that_never_comes_back_stays_cordoned_with_noout_and_the_next_is_not_touched(make_drill):
    drill = make_drill(scenario({"fault": "never-ready", "node": "worker-2"}))
    before = drill.snapshot()
    result = drill.run("worker-upgrade", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: worker-2: stopped at step ")
    assert "left in place: worker-2 cordoned, noout set for host worker-2" in result.last_line
    after = drill.snapshot()
    assert after["worker-1"][0] == NEW and not after["worker-1"][3]
    assert after["worker-2"][3] is True
    assert_untouched(before, after, ["worker-3", "cp-1", "cp-2"])
    assert drill.osd_dump().host_flags == {"worker-2": {"noout"}}
    assert not any(node_of(c) == "worker-3" for c in result.changes)


@pytest.mark.parametrize("fault, step", [
    ("drain-blocked", "drain"),
    ("upgrade-error", "talosctl upgrade"),
])
def test_a_node_that_was_not_disrupted_is_given_back(make_drill, fault, step):
    drill = make_drill(scenario({"fault": fault, "node": "worker-1"}))
    before = drill.snapshot()
    result = drill.run("worker-upgrade", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith(f"stopped: worker-1: stopped at step '{step}': ")
    assert "undone: worker-1 uncordoned; undone: noout cleared for host worker-1; left in place: nothing" in result.last_line
    assert drill.snapshot() == before
    # Rook keeps its own noout on the host until the PGs the drain disturbed are clean again; a
    # minute later (the twin's clock, moved) nothing is left.
    cluster.advance(str(drill.twin), 60)
    assert drill.osd_dump().host_flags == {}


def test_pgs_that_stay_unclean_stop_after_the_first_worker_with_its_flag_left(make_drill):
    drill = make_drill(scenario({"fault": "pgs-stuck"}))
    before = drill.snapshot()
    result = drill.run("worker-upgrade", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: worker-1: stopped at step 'wait for PGs active+clean': ")
    assert "left in place: noout set for host worker-1" in result.last_line
    after = drill.snapshot()
    assert after["worker-1"][0] == NEW and after["worker-1"][3] is False
    assert_untouched(before, after, ["worker-2", "worker-3"])
    assert drill.osd_dump().host_flags == {"worker-1": {"noout"}}


@pytest.mark.parametrize("fault, failed_check", [
    ({"fault": "ceph-degraded"}, "Ceph health: HEALTH_WARN"),
    ({"fault": "flux-not-ready"}, "Flux Ready: Kustomization "),
    ({"fault": "etcd-unhealthy"}, "etcd health: "),
])
def test_a_failing_preflight_gate_stops_before_anything_changes(make_drill, fault, failed_check):
    drill = make_drill(scenario(fault))
    before = drill.snapshot()
    flags_before = drill.osd_dump()
    result = drill.run("worker-upgrade", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: ")
    assert "failed before upgrading any worker, nothing changed: " in result.last_line
    assert failed_check in result.last_line
    assert result.changes == []
    assert drill.snapshot() == before
    assert drill.osd_dump() == flags_before


def test_an_unreachable_api_stops_the_run_and_no_node_is_upgraded(make_drill):
    drill = make_drill(scenario({"fault": "api-unreachable"}))
    plan = drill.run("worker-upgrade")
    assert plan.code == 1, plan.stdout + plan.stderr
    assert "nodes Ready: `kubectl get nodes -o json" in plan.last_line
    assert "nothing changed" in plan.last_line
    applied = drill.run("worker-upgrade", apply=True)  # the lock is taken first, through the same dead API
    assert applied.code == 1, applied.stdout + applied.stderr
    assert applied.last_line.startswith("failed: cannot take the maintenance lock kube-system/homeops-maintenance")
    assert applied.changes == []
    for address in ADDRESSES:  # kubectl cannot read the nodes: ask Talos itself
        version = drill.tool("talosctl", "-n", address, "version", "--json").stdout
        assert f'"tag":"{OLD}"' in version.replace(" ", "")


def test_two_apply_runs_at_once_one_refuses_on_the_lock(make_drill):
    drill = make_drill(scenario())
    runs = [drill.start("worker-upgrade", apply=True), drill.start("worker-upgrade", apply=True)]
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        outputs.append((run.returncode, out, err))
    codes = sorted(code for code, _, _ in outputs)
    assert codes == [0, 1], outputs
    refused = next(out for code, out, _ in outputs if code == 1)
    last = [line for line in refused.splitlines() if line.strip()][-1]
    assert last.startswith("stopped: maintenance lock held by ")
    assert " running worker-upgrade until " in last
    assert "RUN: " not in refused
    after = drill.snapshot()
    assert all(after[name][0] == NEW and not after[name][3] for name in WORKERS)


# The Talos upgrade path, checked for every chosen worker before the first one is touched.

def assert_refused_with_nothing_changed(drill, result, refusal: str, before: dict, flags_before) -> None:
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith(f"stopped: {refusal} — record: ")  # the runner names the record after it
    assert result.changes == []
    assert drill.snapshot() == before  # versions, kubelets, boot IDs and cordons
    assert drill.osd_dump() == flags_before


@pytest.mark.parametrize("apply", [False, True], ids=["plan", "apply"])
def test_a_jump_of_two_talos_minors_is_refused_before_anything_changes(make_drill, apply):
    drill = make_drill({"talos_version": "v1.9.6", "kubernetes_version": "v1.32.3", "reboot_seconds": 0.3})
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("worker-upgrade", "talos_version=v1.11.1", apply=apply)
    assert_refused_with_nothing_changed(drill, result, (
        "refused: worker-1, worker-2, worker-3: Talos v1.9.6 -> v1.11.1 jumps more than one minor version: step "
        "through the latest patch of each minor, upgrade to the latest v1.10.x first; nothing changed"),
        before, flags_before)


def test_one_talos_minor_up_proceeds(make_drill):
    drill = make_drill({"talos_version": "v1.10.7", "kubernetes_version": "v1.33.4", "reboot_seconds": 0.3})
    before = drill.snapshot()
    result = drill.run("worker-upgrade", "talos_version=v1.11.1", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert ("upgrade path to Talos v1.11.1 checked for worker-1, worker-2, worker-3: no downgrade, at most one minor "
            "up, kubelets within Kubernetes 1.29 to 1.34") in result.stdout
    after = drill.snapshot()
    for name in WORKERS:
        talos, kubelet, boot, cordoned = after[name]
        assert (talos, kubelet, cordoned) == (NEW, "v1.33.4", False) and boot != before[name][2]
    assert_untouched(before, after, ["cp-1", "cp-2"])


@pytest.mark.parametrize("apply", [False, True], ids=["plan", "apply"])
def test_a_downgrade_is_refused_before_anything_changes(make_drill, apply):
    drill = make_drill({"reboot_seconds": 0.3})  # the twin runs cluster.yaml's Talos, v1.11.1
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("worker-upgrade", "talos_version=v1.11.0", apply=apply)
    assert_refused_with_nothing_changed(drill, result, (
        "refused: worker-1, worker-2, worker-3: Talos v1.11.1 -> v1.11.0 is a downgrade, which this runbook does "
        "not do; nothing changed"), before, flags_before)


def test_a_talos_that_does_not_support_the_running_kubernetes_is_refused(make_drill):
    drill = make_drill({"talos_version": "v1.10.7", "kubernetes_version": "v1.28.15", "reboot_seconds": 0.3})
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("worker-upgrade", "talos_version=v1.11.1", apply=True)
    assert_refused_with_nothing_changed(drill, result, (
        "refused: worker-1, worker-2, worker-3: Talos v1.11.1 supports Kubernetes 1.29 to 1.34, not the kubelet "
        "v1.28.15 (now on Talos v1.10.7): upgrade Kubernetes first; nothing changed"), before, flags_before)


def test_a_talos_newer_than_the_support_table_cannot_be_checked(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("worker-upgrade", "talos_version=v1.12.0", apply=True)
    assert_refused_with_nothing_changed(drill, result, (
        "cannot check: Talos v1.12 is newer than the support table; update homeops/cluster/talos_support.py "
        "(the target talos_version v1.12.0); nothing changed"), before, flags_before)
