"""Preflight gates, the check table, waits and session parameters."""

from __future__ import annotations

import pytest

from homeops.errors import RunbookStopped
from homeops.procedures import checks, preflight
from homeops.procedures.checks import CheckResult
from homeops.procedures.session import open_session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools.process import ToolError


def by_check(results):
    return {r.check: r for r in results}


def test_a_healthy_cluster_passes_every_gate(fake_cluster, cluster_model):
    results = by_check(preflight.maintenance_gates(cluster_model))
    assert {name: r.status for name, r in results.items()} == {
        "nodes Ready": "ok", "etcd members": "ok", "etcd health": "ok",
        "Ceph health": "ok", "Ceph PGs": "ok", "Ceph flags": "ok", "Flux Ready": "ok", "talosctl client": "ok",
    }
    assert results["etcd members"].detail == "2 members: cp-1, cp-2"
    assert fake_cluster.changes() == []


def test_each_failing_gate_names_what_failed(fake_cluster, cluster_model):
    fake_cluster.nodes["worker-2"].ready = "False"
    fake_cluster.nodes["worker-3"].unschedulable = True
    fake_cluster.etcd_errors["cp-2"] = "etcdserver: no leader"
    fake_cluster.host_flags["worker-1"] = {"noout"}
    fake_cluster.flux_not_ready.add("apps")
    results = by_check(preflight.maintenance_gates(cluster_model))
    assert results["nodes Ready"].detail == "worker-2 not Ready (Ready=False); worker-3 cordoned"
    assert results["etcd health"].detail == "cp-2: etcdserver: no leader"
    assert results["Ceph flags"].detail == "set: noout on host worker-1"
    assert results["Flux Ready"].detail == "Kustomization flux-system/apps Ready=False BuildFailed: kustomize build failed"
    with pytest.raises(RunbookStopped) as stopped:
        checks.require(results.values(), before="upgrading any worker")
    assert str(stopped.value).startswith("4 check(s) failed before upgrading any worker, nothing changed: nodes Ready: ")


def test_a_talosctl_of_another_minor_is_a_warning_naming_the_client_to_install(fake_cluster, cluster_model,
                                                                               monkeypatch):
    answer = fake_cluster._talosctl

    def old_client(args):
        if args == ["version", "--client"]:
            return 0, "Client:\n\tTag:         v1.10.6\n\tSHA:         abc\n", ""
        return answer(args)

    monkeypatch.setattr(fake_cluster, "_talosctl", old_client)
    result = by_check(preflight.maintenance_gates(cluster_model))["talosctl client"]
    assert result.status == "warn"
    assert result.detail == "talosctl v1.10.6 is not of the cluster's Talos minor (v1.11.1): install talosctl 1.11.x"


def test_a_dead_api_is_a_failed_check_not_a_crash(fake_cluster, cluster_model):
    fake_cluster.api_down = True
    results = by_check(preflight.maintenance_gates(cluster_model))
    for name in ("nodes Ready", "Ceph health", "Flux Ready"):
        assert results[name].failed
        assert "The connection to the server 10.0.50.50:6443 was refused" in results[name].detail


def test_cluster_health_names_version_drift_node_by_node(fake_cluster, cluster_model):
    results = by_check(preflight.cluster_health(cluster_model))
    drift = results["Talos versions"]
    assert drift.failed
    assert "worker-1 runs Talos v1.11.0, cluster.yaml says v1.11.1" in drift.detail
    assert results["Kubernetes versions"].status == "ok"
    assert results["node inventory"].status == "ok"
    assert results["etcd fault tolerance"].status == "warn"
    assert results["etcd fault tolerance"].detail == "2 members, quorum 2: tolerates 0 member(s) down"


def test_the_table_aligns_check_status_and_detail():
    text = checks.table([CheckResult("nodes Ready", "ok", "5 nodes"), CheckResult("Ceph", "FAIL", "HEALTH_WARN")])
    assert text.splitlines() == [
        "check        status  detail",
        "nodes Ready  ok      5 nodes",
        "Ceph         FAIL    HEALTH_WARN",
    ]


def test_conclude_passes_with_warnings_and_fails_naming_failures():
    assert checks.conclude([checks.passed("a", "x"), CheckResult("b", "warn", "y")]) == "all 2 checks passed (1 warning(s))"
    with pytest.raises(RunbookStopped, match=r"^1 of 2 checks failed: b: broken$"):
        checks.conclude([checks.passed("a", "x"), checks.failed("b", "broken")])


def test_wait_until_returns_once_true_and_counts_tool_errors_as_not_yet():
    answers = iter([ToolError(["kubectl"], 1, "connection refused"), False, True])

    def predicate():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    wait_until(predicate, timeout=5, poll_interval=0.001, what="something")
    with pytest.raises(StopIteration):
        next(answers)


def test_wait_until_times_out_naming_what_and_the_last_error():
    def predicate():
        raise ToolError(["kubectl", "get", "nodes"], 1, "connection refused")

    with pytest.raises(WaitTimedOut) as timed_out:
        wait_until(predicate, timeout=0.05, poll_interval=0.01, what="worker-1 Ready")
    assert str(timed_out.value) == (
        "worker-1 Ready did not happen within 0.05s (last error: `kubectl get nodes` exited 1: connection refused)")


@pytest.mark.parametrize("wait_timeout, poll_interval, message", [
    (0, 1, "wait_timeout must be a number of seconds above 0, got 0"),
    (10, 0, "poll_interval must be a number of seconds above 0, got 0"),
])
def test_bad_wait_parameters_stop_before_anything_runs(cluster_file, wait_timeout, poll_interval, message):
    with pytest.raises(RunbookStopped, match=message):
        open_session(cluster_file, apply=False, wait_timeout=wait_timeout, poll_interval=poll_interval)


def test_a_poll_interval_longer_than_the_wait_is_shortened_to_the_wait(cluster_file):
    session = open_session(cluster_file, apply=False, wait_timeout=5, poll_interval=10.0)
    assert session.poll_interval == 5


def test_an_invalid_cluster_file_stops_with_its_first_problem(cluster_file):
    cluster_file.write_text(cluster_file.read_text().replace("talos: v1.11.1", "talos: latest"))
    with pytest.raises(RunbookStopped, match=r"is invalid \(1 problem\(s\)\): .*versions.talos"):
        open_session(cluster_file, apply=False, wait_timeout=10, poll_interval=1)
