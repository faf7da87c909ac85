"""flux_remediate's rules in process, without a twin: which releases it acts on, what each needs healthy,
the refusals, the order of its commands and what a stop names; and the two shapes' rules it relies on
(FluxObject.failed, DaemonSetStatus.problem)."""

from __future__ import annotations

import io

import pytest

from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import flux_remediate
from homeops.procedures.checks import failed, passed
from homeops.procedures.session import Session
from homeops.tools.process import ToolError
from homeops.tools.shapes import DaemonSetStatus, FluxObject


def release(namespace: str, name: str, *, ready: str = "True", stalled: str | None = None,
            reconciling: str | None = None, suspended: bool = False, generation: int = 1,
            observed: int = 1) -> FluxObject:
    return FluxObject("HelmRelease", namespace, name, ready, "InstallFailed" if ready == "False" else "", "",
                      suspended, generation, observed, reconciling, stalled)


STUCK = release("cert-manager", "cert-manager", ready="False", stalled="Failed to install after 1 attempt(s)")
FAILED = release("network", "external-dns", ready="False")
IN_PROGRESS = release("network", "k8s-gateway", ready="Unknown", reconciling="Running 'upgrade' action")
NEW_SPEC = release("default", "app", ready="False", generation=2, observed=1)
READY = release("default", "ready")
SUSPENDED = release("default", "held", ready="False", suspended=True)
ROOK = release("rook-ceph", "rook-ceph-cluster", ready="False", stalled="x")
ROOK_OPERATOR = release("rook-ceph", "rook-ceph", ready="False", stalled="x")
CILIUM = release("kube-system", "cilium", ready="False", stalled="x")


def test_failed_means_stalled_or_ready_false_with_nothing_in_progress():
    assert STUCK.failed and FAILED.failed
    assert not IN_PROGRESS.failed and not NEW_SPEC.failed and not READY.failed
    assert not release("a", "b", ready="False", reconciling="r").failed
    assert release("a", "b", ready="Unknown", stalled="s").failed


def test_in_bulk_only_failed_releases_not_suspended_are_chosen_and_the_suspended_named():
    chosen, left = flux_remediate.choose([STUCK, FAILED, IN_PROGRESS, NEW_SPEC, READY, SUSPENDED], "", "reset")
    assert chosen == [STUCK, FAILED]
    assert left == [SUSPENDED]


def test_a_named_release_is_chosen_whenever_it_is_not_ready():
    assert flux_remediate.choose([STUCK, IN_PROGRESS], "network/k8s-gateway", "reset") == ([IN_PROGRESS], [])
    assert flux_remediate.choose([STUCK, SUSPENDED], "default/held", "suspend-resume") == ([SUSPENDED], [])
    assert flux_remediate.choose([READY], "default/ready", "force") == ([], [])


@pytest.mark.parametrize("name, method, said", [
    ("", "force", "Flux: --force is only for one named release (-p release=NAMESPACE/NAME), never in bulk; "
                  "nothing changed"),
    ("", "rollback", "Flux: method 'rollback' is not one of reset, force, suspend-resume; nothing changed"),
    ("cert-manager", "reset", "Flux: release 'cert-manager' is not NAMESPACE/NAME; nothing changed"),
    ("a/b/c", "reset", "Flux: release 'a/b/c' is not NAMESPACE/NAME; nothing changed"),
    ("/b", "reset", "Flux: release '/b' is not NAMESPACE/NAME; nothing changed"),
    ("a/b", "reset", "Flux: no HelmRelease a/b (HelmReleases: cert-manager/cert-manager); nothing changed"),
])
def test_bad_choices_stop_saying_why(name, method, said):
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.choose([STUCK], name, method)
    assert str(stopped.value) == said


def test_rook_and_cilium_releases_need_ceph_and_cilium_and_no_other_does():
    assert flux_remediate.needs(ROOK) == ["Ceph"] and flux_remediate.needs(ROOK_OPERATOR) == ["Ceph"]
    assert flux_remediate.needs(release("storage", "rook-ceph-cluster")) == ["Ceph"]
    assert flux_remediate.needs(CILIUM) == ["Cilium"]
    assert flux_remediate.needs(STUCK) == [] and flux_remediate.needs(release("kube-system", "coredns")) == []


def test_refusals_name_each_release_and_read_each_health_once(monkeypatch):
    reads = []

    def ceph():
        reads.append("Ceph")
        return [passed("Ceph health", "HEALTH_OK"), failed("Ceph flags", "set: noout")]

    def cilium():
        reads.append("Cilium")
        return [passed("Cilium agents", "3/3 ready")]

    monkeypatch.setitem(flux_remediate.HEALTH, "Ceph", ceph)
    monkeypatch.setitem(flux_remediate.HEALTH, "Cilium", cilium)
    assert flux_remediate.refusals([ROOK, STUCK, ROOK_OPERATOR, CILIUM]) == [
        "HelmRelease rook-ceph/rook-ceph-cluster needs Ceph healthy (Ceph flags: set: noout)",
        "HelmRelease rook-ceph/rook-ceph needs Ceph healthy (Ceph flags: set: noout)",
    ]
    assert reads == ["Ceph", "Cilium"]
    assert flux_remediate.refusals([STUCK]) == [] and reads == ["Ceph", "Cilium"]


@pytest.mark.parametrize("status, problem", [
    (DaemonSetStatus("kube-system", "cilium", 3, 3, 3, 3, 1, 1), None),
    (DaemonSetStatus("kube-system", "cilium", 3, 2, 3, 2, 1, 1),
     "DaemonSet kube-system/cilium: 2/3 ready, 3 updated, 2 available"),
    (DaemonSetStatus("kube-system", "cilium", 3, 3, 2, 3, 1, 1),
     "DaemonSet kube-system/cilium: 3/3 ready, 2 updated, 3 available"),
    (DaemonSetStatus("kube-system", "cilium", 3, 3, 3, 2, 1, 1),
     "DaemonSet kube-system/cilium: 3/3 ready, 3 updated, 2 available"),
    (DaemonSetStatus("kube-system", "cilium", 3, 3, 3, 3, 2, 1),
     "DaemonSet kube-system/cilium: generation 2 not yet observed"),
    (DaemonSetStatus("kube-system", "cilium", 0, 0, 0, 0, 1, 1), "DaemonSet kube-system/cilium runs no pod (0 desired)"),
    (DaemonSetStatus("kube-system", "cilium", 3, 3, 3, 3), None),
])
def test_cilium_is_healthy_when_its_daemonset_is_rolled_out_and_ready_everywhere(status, problem):
    assert status.problem == problem


class FakeFlux:
    """flux_remediate's tools in memory: the releases, their status, and the commands asked for."""

    def __init__(self, releases: list[FluxObject], *, fixed: bool = True, failing: dict[str, str] | None = None):
        self.releases = {(r.namespace, r.name): r for r in releases}
        self.fixed, self.failing, self.ran = fixed, failing or {}, []

    def install(self, monkeypatch):
        tools = flux_remediate.flux
        monkeypatch.setattr(tools, "helmreleases", lambda: list(self.releases.values()))
        monkeypatch.setattr(tools, "helmrelease", self._read)
        monkeypatch.setattr(tools, "reconcile_release", self._command("reconcile"))
        monkeypatch.setattr(tools, "suspend_release", self._command("suspend"))
        monkeypatch.setattr(tools, "resume_release", self._command("resume"))

    def _read(self, namespace: str, name: str) -> dict:
        self.ran.append(f"read {namespace}/{name}")
        current = self.releases[(namespace, name)]
        return {"spec": {"suspend": True} if current.suspended else {},
                "status": {"conditions": [{"type": "Ready", "status": current.ready}]}}

    def _command(self, verb):
        def run(gate, namespace, name, **kwargs):
            shown = f"{verb} {namespace}/{name}" + (f" --{kwargs['how']}" if "how" in kwargs else "")
            if not gate.apply:
                self.ran.append("PLAN " + shown)
                return None
            self.ran.append(shown)
            if shown in self.failing:
                raise ToolError(["flux", verb, name], 1, self.failing[shown])
            current = self.releases[(namespace, name)]
            if verb == "suspend":
                self.releases[(namespace, name)] = release(namespace, name, ready=current.ready, suspended=True,
                                                           stalled=current.stalled)
            elif self.fixed:
                self.releases[(namespace, name)] = release(namespace, name)
            return None
        return run


def session(cluster_model, apply: bool) -> Session:
    return Session(cluster_model, Gate(apply, out=io.StringIO()), wait_timeout=60, poll_interval=0.1)


def test_each_status_is_printed_before_its_change_and_releases_go_one_at_a_time(cluster_model, monkeypatch,
                                                                                  capsys):
    fake = FakeFlux([STUCK, FAILED, READY])
    fake.install(monkeypatch)
    done = flux_remediate.remediate(session(cluster_model, True))
    assert done == ("remediated: HelmRelease cert-manager/cert-manager (reset), HelmRelease network/external-dns "
                    "(reset); now Ready")
    # each status read (and printed) just before its own change, the next release only after
    assert fake.ran == ["read cert-manager/cert-manager", "reconcile cert-manager/cert-manager --reset",
                        "read network/external-dns", "reconcile network/external-dns --reset"]
    assert capsys.readouterr().out.count('"status": "False"') == 2


def test_plan_runs_nothing_and_names_what_it_would_do(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK, SUSPENDED])
    fake.install(monkeypatch)
    done = flux_remediate.remediate(session(cluster_model, False), method="suspend-resume")
    assert done == ("planned: suspended and resumed HelmRelease cert-manager/cert-manager; "
                    "left alone (suspended by someone): HelmRelease default/held")
    assert fake.ran == ["read cert-manager/cert-manager", "PLAN suspend cert-manager/cert-manager",
                        "PLAN resume cert-manager/cert-manager"]


def test_nothing_to_do_says_so(cluster_model, monkeypatch):
    FakeFlux([READY, IN_PROGRESS]).install(monkeypatch)
    assert flux_remediate.remediate(session(cluster_model, True)) == \
        "nothing to remediate: every HelmRelease not suspended is Ready"
    assert flux_remediate.remediate(session(cluster_model, True), release="default/ready") == \
        "nothing to remediate: default/ready is Ready"


def test_a_release_still_failing_stops_before_the_next(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK, FAILED], fixed=False)
    fake.install(monkeypatch)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True))
    assert str(stopped.value) == (
        "Flux: stopped at HelmRelease cert-manager/cert-manager: still not Ready: HelmRelease "
        "cert-manager/cert-manager is stalled: Failed to install after 1 attempt(s); left in place: HelmRelease "
        "cert-manager/cert-manager reset, not Ready; not touched: HelmRelease network/external-dns")
    assert fake.ran == ["read cert-manager/cert-manager", "reconcile cert-manager/cert-manager --reset",
                        "read cert-manager/cert-manager"]


def test_a_failed_resume_names_the_release_left_suspended_and_those_done_before(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK, FAILED], failing={"resume network/external-dns": "✗ connection refused"})
    fake.install(monkeypatch)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True), method="suspend-resume")
    assert str(stopped.value) == (
        "Flux: stopped at HelmRelease network/external-dns: `flux resume external-dns` exited 1: ✗ connection "
        "refused; left in place: HelmRelease network/external-dns left suspended; resume it with `flux resume "
        "helmrelease external-dns -n network`; HelmRelease cert-manager/cert-manager (suspended and resumed)")


def test_a_refusal_changes_nothing(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK, CILIUM])
    fake.install(monkeypatch)
    monkeypatch.setitem(flux_remediate.HEALTH, "Cilium", lambda: [failed("Cilium agents", "2/3 ready")])
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True))
    assert str(stopped.value) == ("Flux: refused before any change: HelmRelease kube-system/cilium needs Cilium "
                                  "healthy (Cilium agents: 2/3 ready); nothing changed")
    assert fake.ran == []


def test_unreadable_releases_stop_before_any_change(cluster_model, monkeypatch):
    def refused():
        raise ToolError(["kubectl", "get"], 1, "connection refused")

    monkeypatch.setattr(flux_remediate.flux, "helmreleases", refused)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True))
    assert str(stopped.value) == ("Flux: cannot read the HelmReleases: `kubectl get` exited 1: connection refused; "
                                  "nothing changed")
