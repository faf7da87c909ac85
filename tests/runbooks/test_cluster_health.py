"""Drills of runbooks/cluster-health.ipynb: exit 0 on a healthy twin, exit 1 naming drift and faults."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_a_healthy_twin_passes_every_check_and_nothing_changes(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    before = drill.snapshot()
    result = drill.run("cluster-health")
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: cluster-health (plan)")
    assert "all 12 checks passed (1 warning(s))" in result.stdout
    table = [line.split() for line in result.stdout.splitlines()]
    statuses = {row[0]: row[1] for row in table if len(row) > 1 and row[1] in ("ok", "warn", "FAIL")}
    assert "FAIL" not in statuses.values()
    assert result.changes == []
    assert drill.snapshot() == before


def test_version_drift_is_named_node_by_node_with_both_versions(make_drill):
    drill = make_drill({"talos_version": "v1.11.0", "kubernetes_version": "v1.34.0"})
    result = drill.run("cluster-health")
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: 2 of 12 checks failed: Talos versions: cp-1 runs Talos v1.11.0, "
                                       "cluster.yaml says v1.11.1; cp-2 runs Talos v1.11.0")
    assert "Kubernetes versions: cp-1 runs kubelet v1.34.0, cluster.yaml says v1.34.1" in result.last_line


def test_inventory_and_load_balancer_drift_against_an_edited_cluster_yaml(make_drill):
    drill = make_drill({})
    text = drill.config.read_text()
    drill.config.write_text(text.replace("address: 10.0.10.23", "address: 10.0.10.33")
                                .replace("address: 10.0.50.102", "address: 10.0.50.103"))
    result = drill.run("cluster-health")
    assert result.code == 1, result.stdout + result.stderr
    assert "node inventory: worker-3 has address 10.0.10.23, cluster.yaml says 10.0.10.33" in result.last_line
    assert "load balancers: " in result.last_line
    assert "external-gateway holds 10.0.50.102, cluster.yaml says 10.0.50.103" in result.last_line


@pytest.mark.parametrize("fault, named", [
    ("ceph-degraded", "Ceph health: HEALTH_WARN"),
    ("flux-not-ready", "Flux Ready: Kustomization "),
    ("etcd-unhealthy", "etcd health: cp-2"),
    ("api-unreachable", "nodes Ready: `kubectl get nodes -o json"),
])
def test_each_fault_fails_the_run_and_is_named(make_drill, fault, named):
    drill = make_drill({"faults": [{"fault": fault}]})
    result = drill.run("cluster-health")
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: ")
    assert named in result.last_line
