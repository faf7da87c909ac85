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
