"""Drills of runbooks/flux-reconcile.ipynb: reconcile and wait, and name what is not Ready."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

RECONCILE = "flux reconcile kustomization flux-system --with-source --timeout 3s"


def test_apply_reconciles_and_everything_is_ready(make_drill):
    drill = make_drill({})
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == [RECONCILE]
    assert "reconciled: all " in result.stdout and "Kustomizations and HelmReleases Ready" in result.stdout


def test_plan_shows_the_command(make_drill):
    drill = make_drill({})
    result = drill.run("flux-reconcile")
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == [RECONCILE]
    assert "planned: reconcile flux-system" in result.stdout


def test_objects_that_stay_not_ready_are_named_with_their_reason(make_drill):
    drill = make_drill({"faults": [{"fault": "flux-not-ready"}]})
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: Flux: stopped at step ")
    assert "not Ready: Kustomization " in result.last_line
    assert "Ready=False" in result.last_line
