"""flux_remediate against a twin that fails in the middle: the API lost between suspend and resume, Ctrl-C during
the resume. Each stop names the release left suspended, the command that resumes it and the releases not touched."""

from __future__ import annotations

import os

import pytest

from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import flux_remediate
from homeops.procedures.session import Session
from homeops.tools import process
from homeops.twin import state

from tests.runbooks.twin_state import read_twin_state

pytestmark = pytest.mark.slow

STUCK = [{"fault": "helmrelease-stuck", "name": "cert-manager", "namespace": "cert-manager"},
         {"fault": "helmrelease-stuck", "name": "external-dns", "namespace": "network"}]
RESUME_HINT = "resume it with `flux resume helmrelease cert-manager -n cert-manager`"


@pytest.fixture
def stuck_twin(make_drill, monkeypatch):
    drill = make_drill({"faults": STUCK})
    monkeypatch.setenv("PATH", f"{drill.twin / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return drill


def after_suspend(monkeypatch, then) -> list[list[str]]:
    """Run `then(argv)` before each command once a `flux suspend` has run; the commands run, in order."""
    real, ran = process.run, []

    def run(argv, **kwargs):
        argv = [str(a) for a in argv]
        if any(a[:2] == ["flux", "suspend"] for a in ran):
            then(argv)
        ran.append(argv)
        return real(argv, **kwargs)

    monkeypatch.setattr(process, "run", run)
    return ran


def test_the_api_lost_after_the_suspend_stops_naming_the_release_perhaps_left_suspended(stuck_twin, cluster_model,
                                                                                       monkeypatch):
    def lose_the_api(argv):
        with state.change(str(stuck_twin.twin)) as live:
            live["faults"]["api-unreachable"] = []

    ran = after_suspend(monkeypatch, lose_the_api)
    session = Session(cluster_model, Gate(True), wait_timeout=3, poll_interval=0.1)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session, method="suspend-resume")
    message = str(stopped.value)
    assert message.startswith("Flux: stopped at HelmRelease cert-manager/cert-manager: `flux resume helmrelease "
                              "cert-manager -n cert-manager --timeout 3s` exited 1: ")
    assert "left in place: HelmRelease cert-manager/cert-manager perhaps left suspended (cannot read it: " in message
    assert message.endswith(f"{RESUME_HINT}; not touched: HelmRelease network/external-dns")
    assert [a[:3] for a in ran if a[0] == "flux"] == [["flux", "suspend", "helmrelease"],
                                                      ["flux", "resume", "helmrelease"]]
    with state.change(str(stuck_twin.twin)) as live:
        del live["faults"]["api-unreachable"]
    left = read_twin_state(stuck_twin.twin).releases
    assert left["cert-manager/cert-manager"].suspended and not left["cert-manager/cert-manager"].ready
    assert left["network/external-dns"].generation == 1 and not left["network/external-dns"].annotations


def test_ctrl_c_during_the_resume_stops_naming_the_release_left_suspended(stuck_twin, cluster_model, monkeypatch):
    def interrupt(argv):
        if argv[:2] == ["flux", "resume"]:
            raise KeyboardInterrupt

    after_suspend(monkeypatch, interrupt)
    session = Session(cluster_model, Gate(True), wait_timeout=3, poll_interval=0.1)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session, method="suspend-resume")
    assert str(stopped.value) == (
        "Flux: stopped at HelmRelease cert-manager/cert-manager: interrupted (Ctrl-C, Kernel > Interrupt or a "
        "signal) before `flux resume helmrelease cert-manager -n cert-manager --timeout 3s` answered; left in place: "
        f"HelmRelease cert-manager/cert-manager left suspended; {RESUME_HINT}; "
        "not touched: HelmRelease network/external-dns")
    assert read_twin_state(stuck_twin.twin).releases["cert-manager/cert-manager"].suspended


def test_both_rook_releases_are_refused_while_ceph_is_degraded_and_nothing_changes(make_drill, cluster_model, monkeypatch):
    drill = make_drill({"faults": [{"fault": "helmrelease-stuck", "name": "rook-ceph", "namespace": "rook-ceph"},
                                   {"fault": "helmrelease-stuck", "name": "rook-ceph-cluster",
                                    "namespace": "rook-ceph"},
                                   {"fault": "ceph-degraded"}]})
    monkeypatch.setenv("PATH", f"{drill.twin / 'bin'}{os.pathsep}{os.environ['PATH']}")
    before = read_twin_state(drill.twin).releases
    session = Session(cluster_model, Gate(True), wait_timeout=3, poll_interval=0.1)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session)
    message = str(stopped.value)
    assert message.count("needs Ceph healthy") == 2
    assert "HelmRelease rook-ceph/rook-ceph needs" in message and "HelmRelease rook-ceph/rook-ceph-cluster needs" \
        in message
    assert read_twin_state(drill.twin).releases == before


def test_a_release_in_progress_is_left_to_finish(make_drill, cluster_model, monkeypatch):
    drill = make_drill({"faults": [{"fault": "flux-not-ready"}]})  # rook-ceph-cluster: Ready=Unknown, upgrading
    monkeypatch.setenv("PATH", f"{drill.twin / 'bin'}{os.pathsep}{os.environ['PATH']}")
    session = Session(cluster_model, Gate(True), wait_timeout=3, poll_interval=0.1)
    assert flux_remediate.remediate(session) == "nothing to remediate: every HelmRelease not suspended is Ready"
    assert read_twin_state(drill.twin).touched_releases() == set()


@pytest.mark.parametrize("release, method, said", [
    ("", "rollback", "method 'rollback' is not one of reset, force, suspend-resume"),
    ("cert-manager", "reset", "release 'cert-manager' is not NAMESPACE/NAME"),
    ("cert-manager/nope", "reset", "no HelmRelease cert-manager/nope (HelmReleases: "),
])
def test_bad_parameters_stop_before_any_change(stuck_twin, cluster_model, release, method, said):
    session = Session(cluster_model, Gate(True), wait_timeout=3, poll_interval=0.1)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session, release=release, method=method)
    assert said in str(stopped.value) and str(stopped.value).endswith("; nothing changed")
    assert read_twin_state(stuck_twin.twin).touched_releases() == set()
