"""Drills of runbooks/kubernetes-upgrade.ipynb: the path checks, the dry run in plan mode, every kubelet moved,
and the preflight gates that stop it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def kubelets(drill) -> dict[str, str]:
    return {name: n.kubelet_version for name, n in drill.nodes().items()}


def test_plan_shows_the_dry_run_and_changes_nothing(make_drill):
    drill = make_drill({"kubernetes_version": "v1.34.0", "reboot_seconds": 0.3})
    result = drill.run("kubernetes-upgrade")
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == ["talosctl -n 10.0.10.11 upgrade-k8s --to 1.34.1"]
    assert "would upgrade Kubernetes to v1.34.1" in result.stdout
    assert set(kubelets(drill).values()) == {"v1.34.0"}


def test_apply_moves_every_kubelet(make_drill):
    drill = make_drill({"kubernetes_version": "v1.34.0", "reboot_seconds": 0.3})
    before = drill.state()
    result = drill.run("kubernetes-upgrade", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "upgraded Kubernetes to v1.34.1: every kubelet runs v1.34.1" in result.stdout
    assert set(kubelets(drill).values()) == {"v1.34.1"}
    upgraded = drill.state()
    for name, node in upgraded.nodes.items():  # only the kubelet moved: no reboot, no cordon left
        was = before.nodes[name]
        assert (node.talos_version, node.boot_id, node.unschedulable) == (was.talos_version, was.boot_id, False)
    assert upgraded.ceph_flags == before.ceph_flags and upgraded.leases == {}

    rerun = drill.run("kubernetes-upgrade", apply=True)
    assert rerun.code == 0 and rerun.changes == []
    assert "every kubelet already runs v1.34.1: nothing to do" in rerun.stdout
    assert drill.state() == upgraded


@pytest.mark.parametrize("start, params, refusal", [
    ("v1.32.3", (), "refused: 1.32 -> v1.34.1 jumps more than one minor version"),
    ("v1.34.0", ("to=v1.35.0",), "refused: Talos v1.11.1 on cp-1 supports Kubernetes 1.29 to 1.34, not v1.35.0"),
])
def test_an_unsupported_path_is_refused_before_anything_changes(make_drill, start, params, refusal):
    drill = make_drill({"kubernetes_version": start})
    result = drill.run("kubernetes-upgrade", *params, apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith(f"stopped: {refusal}")
    assert "nothing changed" in result.last_line
    assert result.changes == []
    assert set(kubelets(drill).values()) == {start}


def test_a_running_talos_newer_than_the_support_table_stops_the_check(make_drill):
    drill = make_drill({"talos_version": "v1.12.0", "kubernetes_version": "v1.34.0"})
    result = drill.run("kubernetes-upgrade", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: cannot check: Talos v1.12 is newer than the support table; "
                                       "update homeops/cluster/talos_support.py (running on cp-1); nothing changed")
    assert result.changes == []
    assert set(kubelets(drill).values()) == {"v1.34.0"}


# Faults. kubernetes-upgrade runs the maintenance preflight gates (nodes Ready, etcd healthy, Ceph clean,
# Flux Ready) before upgrade-k8s, in plan and in apply mode: each of these faults stops it there.

FROM, TO = "v1.34.0", "v1.34.1"


def fault_scenario(*faults: dict) -> dict:
    return {"kubernetes_version": FROM, "reboot_seconds": 0.3, "faults": list(faults)}


def test_the_plan_dry_run_is_shown_and_leaves_every_node_as_it_was(make_drill):
    drill = make_drill(fault_scenario())
    before, talos_before = drill.snapshot(), drill.talos_view()
    result = drill.run("kubernetes-upgrade")
    assert result.code == 0, result.stdout + result.stderr
    assert 'updating kubelet to version "1.34.1"' in result.stdout
    assert ' > "10.0.10.23": starting update (skipped in dry-run)' in result.stdout
    assert "updating manifests (dry run: nothing applied)" in result.stdout
    assert "PLAN: would wait for every kubelet at v1.34.1" in result.stdout
    assert drill.snapshot() == before  # kubelets, Talos versions, boot IDs, cordons
    assert drill.talos_view() == talos_before


@pytest.mark.parametrize("apply", [False, True], ids=["plan", "apply"])
@pytest.mark.parametrize("fault, gate", [
    ({"fault": "etcd-unhealthy"}, "etcd health: cp-2: "),
    ({"fault": "ceph-degraded"}, "Ceph health: HEALTH_WARN, 2/3 OSDs up"),
    ({"fault": "flux-not-ready"}, "Flux Ready: Kustomization flux-system/flux-system Ready=False HealthCheckFailed"),
], ids=["etcd-unhealthy", "ceph-degraded", "flux-not-ready"])
def test_a_failing_preflight_gate_stops_before_upgrade_k8s(make_drill, fault, gate, apply):
    drill = make_drill(fault_scenario(fault))
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("kubernetes-upgrade", apply=apply)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: ")
    assert "failed before upgrading Kubernetes, nothing changed: " in result.last_line
    assert gate in result.last_line
    assert result.checks[gate.split(":")[0]][0] == "FAIL"
    assert "upgrade-k8s" not in result.stdout  # neither the dry run nor the real one ran
    assert result.changes == []
    assert drill.snapshot() == before
    assert set(kubelets(drill).values()) == {FROM}
    assert drill.osd_dump() == flags_before


def test_an_unreachable_api_stops_before_upgrade_k8s_in_plan_and_apply(make_drill):
    drill = make_drill(fault_scenario({"fault": "api-unreachable"}))
    talos_before = drill.talos_view()
    plan = drill.run("kubernetes-upgrade")
    assert plan.code == 1, plan.stdout + plan.stderr
    assert plan.last_line.startswith("stopped: cannot read the nodes: `kubectl get nodes -o json")
    assert "10.0.50.50:6443 was refused" in plan.last_line
    assert "nothing changed" in plan.last_line
    applied = drill.run("kubernetes-upgrade", apply=True)  # the lock is taken first, through the same dead API
    assert applied.code == 1, applied.stdout + applied.stderr
    assert applied.last_line.startswith("failed: cannot take the maintenance lock kube-system/homeops-maintenance")
    for run in (plan, applied):
        assert run.changes == [] and "upgrade-k8s" not in run.stdout
    assert drill.talos_view() == talos_before  # kubectl cannot answer: Talos says no node rebooted
