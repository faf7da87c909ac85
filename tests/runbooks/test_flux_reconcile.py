"""Drills of runbooks/flux-reconcile.ipynb: reconcile and wait, name what is not Ready, and what Flux records."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

RECONCILE = "flux reconcile kustomization flux-system --with-source --timeout 3s"


def assert_only_flux_system_requested(before, after) -> None:
    """A reconcile asks Flux for flux-system alone and touches no node, Ceph flag or Lease."""
    assert set(after.flux_requests) == {"Kustomization/flux-system"}
    assert after.flux_requests["Kustomization/flux-system"] != before.flux_requests.get("Kustomization/flux-system")
    assert (after.nodes, after.ceph_flags, after.leases) == (before.nodes, before.ceph_flags, {})


def test_apply_reconciles_and_everything_is_ready(make_drill):
    drill = make_drill({})
    before = drill.state()
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == [RECONCILE]
    assert "reconciled: all " in result.stdout and "Kustomizations and HelmReleases Ready" in result.stdout
    assert_only_flux_system_requested(before, drill.state())


def test_plan_shows_the_command(make_drill):
    drill = make_drill({})
    before = drill.state()
    result = drill.run("flux-reconcile")
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == [RECONCILE]
    assert "planned: reconcile flux-system" in result.stdout
    assert drill.state() == before


def test_objects_that_stay_not_ready_are_named_with_their_reason(make_drill):
    drill = make_drill({"faults": [{"fault": "flux-not-ready"}]})
    before = drill.state()
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: Flux: stopped at step ")
    assert "not Ready: Kustomization " in result.last_line
    assert "Ready=False" in result.last_line
    assert_only_flux_system_requested(before, drill.state())


# What Flux records of a reconcile: the reconcile.fluxcd.io/requestedAt annotation on the Kustomization,
# and status.lastHandledReconcileAt once the controller has handled it.

def test_plan_leaves_flux_without_a_reconcile_request(make_drill):
    drill = make_drill({})
    before = drill.flux_reconciles()
    result = drill.run("flux-reconcile")
    assert result.code == 0, result.stdout + result.stderr
    assert drill.flux_reconciles() == before
    assert before["flux-system"] == (None, None)


def test_each_apply_moves_the_reconcile_request_of_flux_system(make_drill):
    drill = make_drill({})
    first = drill.run("flux-reconcile", apply=True)
    assert first.code == 0, first.stdout + first.stderr
    after_first = drill.flux_reconciles()
    requested, handled = after_first["flux-system"]
    assert requested is not None and handled == requested

    second = drill.run("flux-reconcile", apply=True)
    assert second.code == 0, second.stdout + second.stderr
    after_second = drill.flux_reconciles()
    assert after_second["flux-system"][0] > requested  # RFC 3339 times in UTC sort as text
    assert after_second["flux-system"][1] == after_second["flux-system"][0]
    others = {name: marks for name, marks in after_second.items() if name != "flux-system"}
    assert others == {name: (None, None) for name in others}  # only flux-system is asked to reconcile


def test_a_failed_reconcile_is_still_requested_and_names_what_is_not_ready(make_drill):
    drill = make_drill({"faults": [{"fault": "flux-not-ready"}]})
    before = drill.state()
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert_only_flux_system_requested(before, drill.state())
    assert result.last_line.startswith("stopped: Flux: stopped at step 'flux reconcile': ")
    assert "HelmRelease rook-ceph/rook-ceph-cluster Ready=Unknown Progressing" in result.last_line
    assert drill.flux_reconciles()["flux-system"][0] is not None


def test_an_unreachable_api_stops_apply_on_the_lock_before_any_reconcile(make_drill):
    drill = make_drill({"faults": [{"fault": "api-unreachable"}]})
    before = drill.state()
    applied = drill.run("flux-reconcile", apply=True)  # the lock is taken first, through the same dead API
    assert applied.code == 1, applied.stdout + applied.stderr
    assert applied.last_line.startswith("failed: cannot take the maintenance lock kube-system/homeops-maintenance")
    assert "10.0.50.50:6443 was refused" in applied.last_line
    assert "RUN: " not in applied.stdout and "flux reconcile" not in applied.stdout
    assert drill.state() == before  # no reconcile requested, no Lease left


def test_an_unreachable_api_fails_the_plan(make_drill):
    drill = make_drill({"faults": [{"fault": "api-unreachable"}]})
    before = drill.state()
    plan = drill.run("flux-reconcile")
    assert "cannot read the Flux objects: `kubectl get kustomizations.kustomize.toolkit.fluxcd.io -A -o json" \
        in plan.stdout
    assert plan.code == 1, plan.stdout + plan.stderr
    assert plan.last_line.startswith("stopped: ")
    assert drill.state() == before
    assert "10.0.50.50:6443 was refused" in plan.last_line
