"""Flux objects through kubectl's JSON (Ready condition, reason, message, suspend) and the reconcile command."""

from __future__ import annotations

import json

import pytest

from homeops.gate import Gate
from homeops.tools import flux
from homeops.tools.process import ToolError


def test_kustomizations_ready_failed_and_suspended(fixture_text):
    objects = flux.parse_objects(json.loads(fixture_text("flux-kustomizations.json")), "Kustomization")
    by_name = {o.name: o for o in objects}
    assert by_name["flux-system"].is_ready and by_name["flux-system"].reason == "ReconciliationSucceeded"
    failed = by_name["rook-ceph-cluster"]
    assert (failed.ready, failed.reason) == ("False", "BuildFailed")
    assert "missing file" in failed.message
    assert str(failed) == "Kustomization rook-ceph/rook-ceph-cluster"
    never = by_name["echo"]
    assert never.suspended and never.ready == "Unknown"  # no status yet: not Ready


def test_helmreleases_read_through_kubectl(fake_tools, fixture_text):
    fake_tools.respond(["kubectl", "get", flux.HELMRELEASES, "-A", "-o", "json"], stdout=fixture_text("flux-helmreleases.json"))
    releases = flux.helmreleases()
    assert [(r.name, r.ready, r.reason) for r in releases] == [
        ("cilium", "True", "UpgradeSucceeded"),
        ("rook-ceph", "Unknown", "DependencyNotReady"),
    ]


def test_reconcile_plan_and_apply(fake_tools, capsys):
    argv = ["flux", "reconcile", "kustomization", "flux-system", "--with-source", "--timeout", "300s"]
    assert flux.reconcile(Gate(apply=False), timeout=300) is None
    assert fake_tools.calls() == []
    assert capsys.readouterr().out.strip() == "PLAN: " + " ".join(argv)
    fake_tools.respond(argv, stderr="✗ Kustomization flux-system is suspended\n", returncode=1)
    with pytest.raises(ToolError, match="suspended"):
        flux.reconcile(Gate(apply=True), timeout=300)
    assert fake_tools.calls() == [argv]


def test_flux_check_failure_carries_its_stderr(fake_tools):
    fake_tools.respond(["flux", "check"], stderr="► checking prerequisites\n✗ kustomize-controller: deployment not ready\n✗ check failed\n",
                       returncode=1)
    with pytest.raises(ToolError, match="exited 1: ✗ check failed") as caught:
        flux.check()
    assert "kustomize-controller: deployment not ready" in caught.value.stderr


def _item(generation=1, observed=1, **conditions):
    return {"kind": "HelmRelease", "metadata": {"name": "cilium", "namespace": "kube-system", "generation": generation},
            "status": {"observedGeneration": observed, "conditions": [
                {"type": kind, "status": status, "reason": reason, "message": message}
                for kind, (status, reason, message) in conditions.items()]}}


def test_ready_for_an_older_generation_is_in_progress_by_kstatus():
    (lagging,) = flux.parse_objects({"items": [_item(2, 1, Ready=("True", "UpgradeSucceeded", "ok"))]}, "HelmRelease")
    assert not lagging.is_ready
    assert lagging.problem == ("HelmRelease kube-system/cilium is in progress: generation 2 not yet observed "
                               "(observedGeneration 1)")


def test_reconciling_and_stalled_conditions_are_named():
    (reconciling,) = flux.parse_objects({"items": [_item(
        Ready=("True", "UpgradeSucceeded", "ok"), Reconciling=("True", "Progressing", "Running 'upgrade' action"))]}, "")
    assert reconciling.problem == "HelmRelease kube-system/cilium is in progress: Reconciling: Running 'upgrade' action"
    (stalled,) = flux.parse_objects({"items": [_item(
        Ready=("False", "InstallFailed", "x"), Stalled=("True", "RetriesExceeded", "install retries exhausted"))]}, "")
    assert stalled.problem == "HelmRelease kube-system/cilium is stalled: install retries exhausted"
    (current,) = flux.parse_objects({"items": [_item(
        Ready=("True", "UpgradeSucceeded", "ok"), Reconciling=("False", "", ""))]}, "")
    assert current.is_ready and current.problem is None
