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
        self.asked: list[tuple[str, dict]] = []  # each command with its keyword arguments (timeout, why, how)
        self.unreadable: set[str] = set()  # releases whose read fails

    def install(self, monkeypatch):
        tools = flux_remediate.flux
        monkeypatch.setattr(tools, "helmreleases", lambda: list(self.releases.values()))
        monkeypatch.setattr(tools, "helmrelease", self._read)
        monkeypatch.setattr(tools, "reconcile_release", self._command("reconcile"))
        monkeypatch.setattr(tools, "suspend_release", self._command("suspend"))
        monkeypatch.setattr(tools, "resume_release", self._command("resume"))

    def _read(self, namespace: str, name: str) -> dict:
        self.ran.append(f"read {namespace}/{name}")
        if f"{namespace}/{name}" in self.unreadable:
            raise ToolError(["kubectl", "get", name], 1, "connection refused")
        current = self.releases[(namespace, name)]
        return {"spec": {"suspend": True} if current.suspended else {},
                "status": {"conditions": [{"type": "Ready", "status": current.ready}]}}

    def _command(self, verb):
        def run(gate, namespace, name, **kwargs):
            shown = f"{verb} {namespace}/{name}" + (f" --{kwargs['how']}" if "how" in kwargs else "")
            self.asked.append((verb, kwargs))
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


def test_a_release_named_among_failed_ones_is_the_only_one_touched(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK, FAILED])
    fake.install(monkeypatch)
    done = flux_remediate.remediate(session(cluster_model, True), release="network/external-dns", method="force")
    assert done == "remediated: HelmRelease network/external-dns (forced); now Ready"
    assert fake.ran == ["read network/external-dns", "reconcile network/external-dns --force"]
    assert fake.asked == [("reconcile", {"how": "force", "timeout": 60,
                                         "why": "force one install or upgrade of this release, even out of retries"})]


def test_each_command_gets_the_wait_timeout_and_says_why(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK])
    fake.install(monkeypatch)
    flux_remediate.remediate(session(cluster_model, True))
    fake.install(monkeypatch)
    fake.releases[("cert-manager", "cert-manager")] = STUCK
    flux_remediate.remediate(session(cluster_model, True), method="suspend-resume")
    assert fake.asked == [
        ("reconcile", {"how": "reset", "timeout": 60,
                       "why": "clear the failure counters so helm-controller makes a new attempt"}),
        ("suspend", {"why": "a new generation: helm-controller clears the failure counters on resume"}),
        ("resume", {"timeout": 60, "why": "resume it and wait until it is Ready"}),
    ]


def test_the_status_is_printed_whole_and_sorted_under_its_heading(cluster_model, monkeypatch, capsys):
    FakeFlux([STUCK]).install(monkeypatch)
    out = io.StringIO()
    flux_remediate.remediate(Session(cluster_model, Gate(True, out=out), wait_timeout=60, poll_interval=0.1))
    assert out.getvalue().rstrip().endswith("status of HelmRelease cert-manager/cert-manager before it is reset:")
    assert capsys.readouterr().out.startswith(
        '{\n  "conditions": [\n    {\n      "status": "False",\n      "type": "Ready"\n    }\n  ]\n}\n')


def test_plan_and_stops_list_every_release_they_name(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK, FAILED, SUSPENDED, release("default", "held2", suspended=True)])
    fake.install(monkeypatch)
    assert flux_remediate.remediate(session(cluster_model, False)) == (
        "planned: reset HelmRelease cert-manager/cert-manager, HelmRelease network/external-dns; left alone "
        "(suspended by someone): HelmRelease default/held, HelmRelease default/held2")
    fake = FakeFlux([STUCK, FAILED, IN_PROGRESS], failing={"reconcile cert-manager/cert-manager --reset": "✗ no"})
    fake.install(monkeypatch)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True), release="")
    assert str(stopped.value) == (
        "Flux: stopped at HelmRelease cert-manager/cert-manager: `flux reconcile cert-manager` exited 1: ✗ no; "
        "left in place: HelmRelease cert-manager/cert-manager reset, not Ready; not touched: HelmRelease "
        "network/external-dns")
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.choose([STUCK, FAILED], "a/b", "reset")
    assert "(HelmReleases: cert-manager/cert-manager, network/external-dns)" in str(stopped.value)


def test_two_refusals_and_two_failed_checks_are_all_named(cluster_model, monkeypatch):
    FakeFlux([ROOK, CILIUM]).install(monkeypatch)
    monkeypatch.setitem(flux_remediate.HEALTH, "Ceph", lambda: [failed("Ceph health", "HEALTH_WARN"),
                                                                failed("Ceph PGs", "not clean")])
    monkeypatch.setitem(flux_remediate.HEALTH, "Cilium", lambda: [failed("Cilium agents", "2/3 ready")])
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True))
    assert str(stopped.value) == (
        "Flux: refused before any change: HelmRelease rook-ceph/rook-ceph-cluster needs Ceph healthy (Ceph health: "
        "HEALTH_WARN; Ceph PGs: not clean); HelmRelease kube-system/cilium needs Cilium healthy (Cilium agents: "
        "2/3 ready); nothing changed")


def test_any_release_in_the_rook_ceph_namespace_needs_ceph():
    assert flux_remediate.needs(release("rook-ceph", "ceph-csi-operator")) == ["Ceph"]


def test_ctrl_c_during_a_reset_names_the_release_and_the_ones_not_touched(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK, FAILED, release("default", "app", ready="False")])
    fake.install(monkeypatch)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(flux_remediate.flux, "reconcile_release", interrupted)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True))
    assert str(stopped.value) == (
        "Flux: stopped at HelmRelease cert-manager/cert-manager: interrupted (Ctrl-C, Kernel > Interrupt or a "
        "signal); left in place: HelmRelease cert-manager/cert-manager reset, not Ready; not touched: HelmRelease "
        "network/external-dns, HelmRelease default/app")


def test_a_status_that_cannot_be_read_stops_before_its_change(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK])
    fake.install(monkeypatch)
    fake.unreadable.add("cert-manager/cert-manager")
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True))
    assert str(stopped.value) == (
        "Flux: cannot read HelmRelease cert-manager/cert-manager before its change: `kubectl get cert-manager` "
        "exited 1: connection refused; not changed, nor the releases after it")
    assert fake.ran == ["read cert-manager/cert-manager"]


@pytest.mark.parametrize("method, left", [
    ("suspend-resume", "HelmRelease cert-manager/cert-manager perhaps left suspended (cannot read it: `kubectl get "
                       "cert-manager` exited 1: connection refused); resume it with `flux resume helmrelease "
                       "cert-manager -n cert-manager`"),
    ("reset", "HelmRelease cert-manager/cert-manager as the failed step left it (cannot read it: `kubectl get "
              "cert-manager` exited 1: connection refused)"),
])
def test_what_a_failed_step_left_is_said_even_when_it_cannot_be_read(cluster_model, monkeypatch, method, left):
    verb = "resume" if method == "suspend-resume" else "reconcile"
    fake = FakeFlux([STUCK], failing={f"{verb} cert-manager/cert-manager" + ("" if verb == "resume" else " --reset"):
                                      "✗ refused"})
    fake.install(monkeypatch)
    real_read = fake._read

    def read_then_lose(namespace, name):
        if any(r.startswith(verb) for r in fake.ran):
            fake.unreadable.add(f"{namespace}/{name}")
        return real_read(namespace, name)

    monkeypatch.setattr(flux_remediate.flux, "helmrelease", read_then_lose)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True), method=method)
    assert str(stopped.value).endswith("; left in place: " + left)


def test_a_release_gone_or_unreadable_after_its_change_is_not_ready(cluster_model, monkeypatch):
    fake = FakeFlux([STUCK])
    fake.install(monkeypatch)
    monkeypatch.setattr(flux_remediate.flux, "helmreleases", lambda: [STUCK] if not fake.ran else [])
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True))
    assert "HelmRelease cert-manager/cert-manager: still not Ready: it is gone; " in str(stopped.value)

    def unreadable():
        if fake.ran:
            raise ToolError(["kubectl", "get"], 1, "refused")
        return [STUCK]

    fake.ran.clear()
    monkeypatch.setattr(flux_remediate.flux, "helmreleases", unreadable)
    with pytest.raises(RunbookStopped) as stopped:
        flux_remediate.remediate(session(cluster_model, True))
    assert "still not Ready: cannot read it: `kubectl get` exited 1: refused; " in str(stopped.value)


def test_cilium_health_reads_the_agent_daemonset(monkeypatch):
    asked = []

    def daemonset(namespace, name):
        asked.append((namespace, name))
        return DaemonSetStatus(namespace, name, 3, 2, 3, 2, 1, 1)

    monkeypatch.setattr(flux_remediate.kubectl, "daemonset", daemonset)
    assert flux_remediate.cilium_health() == [failed(
        "Cilium agents", "DaemonSet kube-system/cilium: 2/3 ready, 3 updated, 2 available")]
    assert asked == [("kube-system", "cilium")]
    monkeypatch.setattr(flux_remediate.kubectl, "daemonset",
                        lambda namespace, name: DaemonSetStatus(namespace, name, 3, 3, 3, 3, 1, 1))
    assert flux_remediate.cilium_health() == [passed("Cilium agents", "DaemonSet kube-system/cilium: 3/3 ready")]

    def refused(namespace, name):
        raise ToolError(["kubectl", "get", "daemonsets.apps", name], 1, "NotFound")

    monkeypatch.setattr(flux_remediate.kubectl, "daemonset", refused)
    assert flux_remediate.cilium_health() == [failed(
        "Cilium agents", "`kubectl get daemonsets.apps cilium` exited 1: NotFound")]
