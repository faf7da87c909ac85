"""Drills of runbooks/cluster-health.ipynb: exit 0 on a healthy twin, exit 1 naming drift and faults."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_a_healthy_twin_passes_every_check_and_nothing_changes(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    before = drill.state()
    result = drill.run("cluster-health")
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: cluster-health (plan)")
    assert "all 14 checks passed (1 warning(s))" in result.stdout
    table = [line.split() for line in result.stdout.splitlines()]
    statuses = {row[0]: row[1] for row in table if len(row) > 1 and row[1] in ("ok", "warn", "FAIL")}
    assert "FAIL" not in statuses.values()
    assert result.changes == []
    assert drill.state() == before  # nodes, Ceph flags, Flux requests, Leases


def test_version_drift_is_named_node_by_node_with_both_versions(make_drill):
    drill = make_drill({"talos_version": "v1.11.0", "kubernetes_version": "v1.34.0"})
    before = drill.state()
    result = drill.run("cluster-health")
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: 2 of 14 checks failed: Talos versions: cp-1 runs Talos v1.11.0, "
                                       "cluster.yaml says v1.11.1; cp-2 runs Talos v1.11.0")
    assert "Kubernetes versions: cp-1 runs kubelet v1.34.0, cluster.yaml says v1.34.1" in result.last_line
    assert drill.state() == before  # reported, not fixed


def test_inventory_and_load_balancer_drift_against_an_edited_cluster_yaml(make_drill):
    drill = make_drill({})
    text = drill.config.read_text()
    drill.config.write_text(text.replace("address: 10.0.10.23", "address: 10.0.10.33")
                                .replace("address: 10.0.50.102", "address: 10.0.50.103"))
    before = drill.state()
    result = drill.run("cluster-health")
    assert result.code == 1, result.stdout + result.stderr
    assert "node inventory: worker-3 has address 10.0.10.23, cluster.yaml says 10.0.10.33" in result.last_line
    assert "load balancers: " in result.last_line
    assert "external-gateway holds 10.0.50.102, cluster.yaml says 10.0.50.103" in result.last_line
    assert drill.state() == before


@pytest.mark.parametrize("fault, named", [
    ("ceph-degraded", "Ceph health: HEALTH_WARN"),
    ("flux-not-ready", "Flux Ready: Kustomization "),
    ("etcd-unhealthy", "etcd health: cp-2"),
    ("api-unreachable", "nodes Ready: `kubectl get nodes -o json"),
])
def test_each_fault_fails_the_run_and_is_named(make_drill, fault, named):
    drill = make_drill({"faults": [{"fault": fault}]})
    before = drill.state()
    result = drill.run("cluster-health")
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: ")
    assert named in result.last_line
    assert drill.state() == before


# Faults left behind by maintenance, staged through the twin's own tools, and the twin's faults: each
# fails the run and is named twice, as a FAIL row of the table and in the last line.

def assert_failed_check(result, check: str, detail: str) -> None:
    assert result.code == 1, result.stdout + result.stderr
    status, shown = result.checks[check]
    assert status == "FAIL" and detail in shown, (check, status, shown)
    assert result.last_line.startswith("stopped: ")
    assert f"{check}: {detail}" in result.last_line


def test_pgs_stuck_after_a_reboot_fail_the_pg_check(make_drill):
    drill = make_drill({"reboot_seconds": 0.3, "faults": [{"fault": "pgs-stuck"}]})
    # A reboot of worker-1 (Talos reinstalls the running version): its OSD comes back, its PGs never get clean.
    drill.tool("talosctl", "-n", "10.0.10.21", "upgrade", "-i", drill.installer_image("v1.11.1"), "--timeout", "10m")
    before = drill.state()
    assert not before.ceph.pgs_clean
    result = drill.run("cluster-health")
    assert_failed_check(result, "Ceph PGs", "not clean: ")
    assert result.checks["nodes Ready"][0] == "ok"  # the node itself is back, uncordoned by Talos
    # Rook set noout on the host while it drained and rebooted, and keeps it while its PGs are unclean.
    assert result.checks["Ceph flags"] == ("FAIL", "set: noout on host worker-1")
    assert result.changes == []
    assert drill.state() == before


def test_a_ceph_flag_left_set_fails_the_flag_check(make_drill):
    drill = make_drill({})
    drill.tool("kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "set", "noout")
    before = drill.state()
    result = drill.run("cluster-health")
    assert_failed_check(result, "Ceph flags", "set: noout")
    assert result.checks["Ceph PGs"][0] == "ok"
    assert drill.osd_dump().maintenance_flags == {"noout"}  # read-only: the flag is still there
    assert drill.state() == before


def test_a_noout_group_flag_left_on_a_host_fails_the_flag_check(make_drill):
    drill = make_drill({})
    from homeops.twin import state

    with state.change(str(drill.twin)) as live:  # a cluster where Rook does not manage noout (managePodBudgets off)
        live["rook"]["manage_pod_budgets"] = False
    drill.tool("kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--",
               "ceph", "osd", "set-group", "noout", "worker-2")
    before = drill.state()
    result = drill.run("cluster-health")
    assert_failed_check(result, "Ceph flags", "set: noout on host worker-2")
    assert drill.osd_dump().host_flags == {"worker-2": {"noout"}}
    assert drill.state() == before


def test_a_node_left_cordoned_fails_the_nodes_check(make_drill):
    drill = make_drill({})
    drill.tool("kubectl", "cordon", "worker-3")
    before = drill.state()
    result = drill.run("cluster-health")
    assert_failed_check(result, "nodes Ready", "worker-3 cordoned")
    assert drill.nodes()["worker-3"].unschedulable  # read-only: still cordoned
    assert drill.state() == before


@pytest.mark.parametrize("fault, check, detail", [
    ("etcd-unhealthy", "etcd health", "cp-2: "),
    ("flux-not-ready", "Flux Ready", "Kustomization flux-system/flux-system Ready=False HealthCheckFailed"),
    ("api-unreachable", "nodes Ready", "`kubectl get nodes -o json"),
    ("api-unreachable", "Flux Ready", "`kubectl get kustomizations.kustomize.toolkit.fluxcd.io -A -o json"),
], ids=["etcd-unhealthy", "flux-not-ready", "api-unreachable-nodes", "api-unreachable-flux"])
def test_each_fault_is_a_fail_row_of_the_table(make_drill, fault, check, detail):
    drill = make_drill({"faults": [{"fault": fault}]})
    before = drill.state()
    result = drill.run("cluster-health")
    assert_failed_check(result, check, detail)
    if fault == "api-unreachable":
        assert "10.0.50.50:6443 was refused" in result.checks[check][1]
    assert result.changes == []
    assert drill.state() == before
