"""Drills of flux-reconcile's remediation: a stuck HelmRelease is made Ready, the others untouched, each status
recorded before its change; rook-ceph and Cilium releases only while Ceph and Cilium are healthy; a fault stops
it naming what it left (a release left suspended, the releases not touched)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

STUCK = {"fault": "helmrelease-stuck", "name": "cert-manager", "namespace": "cert-manager"}
RECONCILE = "flux reconcile kustomization flux-system --with-source --timeout 3s"
RESET = "flux reconcile helmrelease cert-manager -n cert-manager --reset --timeout 3s"


def record_of(drill) -> tuple[dict, str]:
    """The run's record: (metadata.homeops, every output text of its cells in order)."""
    records = sorted(drill.records.glob("*.ipynb"))
    assert len(records) == 1, records
    notebook = json.loads(records[0].read_text())
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")) or "".join(output.get("data", {}).get("text/plain", "")))
    return notebook["metadata"]["homeops"], "".join(texts)


def saved_status(text: str, release: str) -> dict:
    """The status JSON the run printed for `release` before changing it."""
    marker = f"status of HelmRelease {release} before it is "
    assert marker in text, text
    after = text[text.index(marker):].split("\n", 1)[1]
    return json.JSONDecoder().raw_decode(after)[0]


def test_a_stuck_release_is_reset_and_made_ready_and_the_others_are_untouched(make_drill):
    drill = make_drill({"faults": [STUCK]})
    before = drill.state()
    assert not before.releases["cert-manager/cert-manager"].ready
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == [RESET, RECONCILE]
    after = drill.state()
    assert after.releases["cert-manager/cert-manager"].ready
    assert after.touched_releases() == {"cert-manager/cert-manager"}
    stuck = after.releases["cert-manager/cert-manager"]
    assert set(stuck.annotations) == {"reconcile.fluxcd.io/requestedAt", "reconcile.fluxcd.io/resetAt"}
    assert not stuck.suspended
    assert all(r.ready and not r.suspended for r in after.releases.values())
    assert (after.nodes, after.ceph_flags, after.leases) == (before.nodes, before.ceph_flags, {})
    homeops, text = record_of(drill)
    assert homeops["outcome"] == "completed"
    status = saved_status(text, "cert-manager/cert-manager")  # what helm-controller said, kept before the reset
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "RetriesExceeded")
    assert status["installFailures"] == 1 and status["lastAttemptedReleaseAction"] == "install"
    assert text.index("status of HelmRelease cert-manager/cert-manager") < text.index("RUN: flux reconcile helmrelease")


def test_plan_shows_the_reset_and_the_saved_status_and_changes_nothing(make_drill):
    drill = make_drill({"faults": [STUCK]})
    before = drill.state()
    result = drill.run("flux-reconcile")
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == [RESET, RECONCILE]
    assert "planned: reset HelmRelease cert-manager/cert-manager" in result.stdout
    assert drill.state() == before


def test_suspend_and_resume_makes_the_release_ready_and_leaves_it_resumed(make_drill):
    drill = make_drill({"faults": [STUCK]})
    result = drill.run("flux-reconcile", "method=suspend-resume", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == ["flux suspend helmrelease cert-manager -n cert-manager",
                              "flux resume helmrelease cert-manager -n cert-manager --timeout 3s", RECONCILE]
    after = drill.state()
    release = after.releases["cert-manager/cert-manager"]
    assert release.ready and not release.suspended and release.generation == 3  # two patches of spec.suspend
    assert after.touched_releases() == {"cert-manager/cert-manager"}


def test_force_is_refused_in_bulk_and_runs_for_one_named_release(make_drill):
    drill = make_drill({"faults": [STUCK]})
    before = drill.state()
    bulk = drill.run("flux-reconcile", "method=force", apply=True)
    assert bulk.code == 1, bulk.stdout + bulk.stderr
    assert "--force is only for one named release" in bulk.last_line and "never in bulk" in bulk.last_line
    assert drill.state().releases == before.releases
    named = drill.run("flux-reconcile", "method=force", "release=cert-manager/cert-manager", apply=True)
    assert named.code == 0, named.stdout + named.stderr
    assert named.changes[0] == "flux reconcile helmrelease cert-manager -n cert-manager --force --timeout 3s"
    after = drill.state()
    assert after.releases["cert-manager/cert-manager"].ready
    assert "reconcile.fluxcd.io/forceAt" in after.releases["cert-manager/cert-manager"].annotations
    assert after.touched_releases() == {"cert-manager/cert-manager"}


def test_rook_ceph_release_is_not_touched_while_ceph_is_degraded(make_drill):
    drill = make_drill({"faults": [{"fault": "helmrelease-stuck", "name": "rook-ceph-cluster",
                                    "namespace": "rook-ceph"}, {"fault": "ceph-degraded"}]})
    before = drill.state()
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: Flux: refused before any change: HelmRelease rook-ceph/"
                                       "rook-ceph-cluster needs Ceph healthy (Ceph health: HEALTH_WARN")
    assert "; nothing changed" in result.last_line
    assert result.changes == []
    after = drill.state()
    assert after.releases == before.releases and after.touched_releases() == set()


def test_cilium_release_is_not_touched_while_an_agent_is_not_ready(make_drill):
    drill = make_drill({"faults": [{"fault": "helmrelease-stuck", "name": "cilium", "namespace": "kube-system"},
                                   {"fault": "cilium-unhealthy"}]})
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert "HelmRelease kube-system/cilium needs Cilium healthy (Cilium agents: DaemonSet kube-system/cilium: " \
        in result.last_line
    assert result.changes == []
    assert drill.state().touched_releases() == set()


def test_cilium_release_is_reset_while_every_agent_is_ready(make_drill):
    drill = make_drill({"faults": [{"fault": "helmrelease-stuck", "name": "cilium", "namespace": "kube-system"}]})
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    after = drill.state()
    assert after.releases["kube-system/cilium"].ready
    assert after.touched_releases() == {"kube-system/cilium"}


def test_a_release_that_fails_again_stops_the_run_naming_it_and_the_releases_not_touched(make_drill):
    drill = make_drill({"faults": [
        {"fault": "helmrelease-failing", "name": "cert-manager", "namespace": "cert-manager"},
        {"fault": "helmrelease-stuck", "name": "external-dns", "namespace": "network"}]})
    result = drill.run("flux-reconcile", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: Flux: stopped at HelmRelease cert-manager/cert-manager: ")
    assert "left in place: HelmRelease cert-manager/cert-manager reset, not Ready; " \
           "not touched: HelmRelease network/external-dns" in result.last_line
    after = drill.state()
    assert after.touched_releases() == {"cert-manager/cert-manager"}
    assert not after.releases["network/external-dns"].ready  # the next one was not touched
    homeops, text = record_of(drill)
    assert homeops["outcome"] == "stopped"
    assert "not touched: HelmRelease network/external-dns" in str(homeops.get("left_in_place") or homeops["reason"])
    saved_status(text, "cert-manager/cert-manager")


def test_a_suspended_release_is_left_alone_and_named(make_drill):
    drill = make_drill({"faults": [STUCK]})
    drill.tool("flux", "suspend", "helmrelease", "cert-manager", "-n", "cert-manager")
    result = drill.run("flux-reconcile", apply=True)
    assert "left alone (suspended by someone): HelmRelease cert-manager/cert-manager" in result.stdout
    assert "flux reconcile helmrelease" not in result.stdout
    assert drill.state().releases["cert-manager/cert-manager"].suspended
