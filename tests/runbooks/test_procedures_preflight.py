"""The checks of cluster-health and the maintenance gates, against the in-memory cluster: what each
check says when the cluster matches cluster.yaml, and the words it names every difference with."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field

import pytest

from homeops.procedures import preflight
from homeops.rendering.inventory import rendered_helm_releases
from homeops.tools import flux, kubectl, process

from tests.runbooks import fake_faults
from tests.runbooks.conftest import API_REFUSED, ROOT, FakeNode
from tests.runbooks.fake_faults import FaultyCluster

TALOS_REFUSED = "rpc error: code = Unavailable desc = connection error: dial tcp 10.0.10.11:50000: connect: refused\n"


@dataclass
class HealthCluster(FaultyCluster):
    """The in-memory cluster with faults, plus what cluster-health reads beyond the maintenance gates:
    LoadBalancer Services, HelmReleases with their release history, etcd members as listed, Ceph's
    health checks."""

    services: list[dict] = field(default_factory=list)  # `kubectl get services -A` items
    charts: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # HelmRelease -> chart versions, newest first
    etcd_listed: list[tuple[str, bool]] | None = None  # (hostname, learner) as `etcd members` lists them
    ceph_health: tuple[str, dict[str, str], int] = ("HEALTH_OK", {}, 3)  # status, check -> message, OSDs up

    def _kubectl(self, args: list[str]) -> tuple[int, str, str]:
        if args == ["get", "services", "-A", "-o", "json"]:
            return 0, json.dumps({"items": self.services}), ""
        if args[:2] == ["get", flux.HELMRELEASES]:
            if args[2:] != ["-A", "-o", "json"]:
                return 1, "", f"error: unknown arguments {args[2:]}\n"
            return 0, json.dumps({"items": [_helmrelease(ns, name, history)
                                            for (ns, name), history in self.charts.items()]}), ""
        return super()._kubectl(args)

    def _talosctl(self, args: list[str]) -> tuple[int, str, str]:
        if args[2:] == ["etcd", "members"] and self.etcd_listed is not None:
            rows = [f"{args[1]}\t{i:016x}\t{name}\thttps://{name}:2380\thttps://{name}:2379\t{str(learner).lower()}"
                    for i, (name, learner) in enumerate(self.etcd_listed)]
            return 0, "NODE\tID\tHOSTNAME\tPEER URLS\tCLIENT URLS\tLEARNER\n" + "".join(r + "\n" for r in rows), ""
        return super()._talosctl(args)

    def _ceph(self, args: list[str]) -> tuple[int, str, str]:
        if args == ["status", "-f", "json"]:
            health, checks, up = self.ceph_health
            states = [{"state_name": "active+clean" if self.pgs_clean else "active+undersized+degraded", "count": 64}]
            return 0, json.dumps({
                "health": {"status": health, "checks": {name: {"severity": "HEALTH_WARN", "summary": {"message": m}}
                                                        for name, m in checks.items()}},
                "osdmap": {"num_osds": 3, "num_up_osds": up, "num_in_osds": 3},
                "pgmap": {"pgs_by_state": states, "num_pgs": 64}}), ""
        return super()._ceph(args)


def _helmrelease(namespace: str, name: str, history: list[str]) -> dict:
    return {"kind": "HelmRelease", "metadata": {"namespace": namespace, "name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "UpgradeSucceeded"}],
                       "history": [{"chartVersion": v} for v in history]}}


def load_balancer(namespace: str, name: str, *addresses: str, kind: str = "LoadBalancer") -> dict:
    return {"metadata": {"namespace": namespace, "name": name}, "spec": {"type": kind},
            "status": {"loadBalancer": {"ingress": [{"ip": a} for a in addresses]}}}


@dataclass
class ImagedNode(FakeNode):
    """A node whose OS image is not Talos (a kubelet joined by hand)."""

    image: str = "Ubuntu 24.04.1 LTS"

    def as_json(self) -> dict:
        document = super().as_json()
        document["status"]["nodeInfo"]["osImage"] = self.image
        return document


@pytest.fixture
def fake(monkeypatch, cluster_model) -> HealthCluster:
    """A cluster that matches cluster.yaml: every node on its versions, each LoadBalancer at its
    address (k8s-gateway named as itself, the Gateways as Cilium names their Services), each
    HelmRelease on the chart version kubernetes/ renders (after an older one)."""
    cluster = fake_faults.make(HealthCluster, cluster_model)
    for node in cluster.nodes.values():
        node.talos, node.kubelet = cluster_model.versions.talos, cluster_model.versions.kubernetes
    cluster.services = [
        load_balancer("network", "k8s-gateway", "10.0.50.100"),
        load_balancer("network", "cilium-gateway-internal-gateway", "10.0.50.101"),
        load_balancer("network", "cilium-gateway-external-gateway", "10.0.50.102"),
        load_balancer("default", "kubernetes", kind="ClusterIP"),
    ]
    cluster.charts = {(r.namespace, r.name): [r.version, "0.0.1"] for r in rendered_helm_releases(cluster_model, None)}
    monkeypatch.setattr(process, "run", cluster.run)
    return cluster


def by_check(results):
    return {r.check: (r.status, r.detail) for r in results}


def test_a_cluster_that_matches_cluster_yaml_passes_every_check_each_saying_what_it_saw(fake, cluster_model):
    results = preflight.cluster_health(cluster_model)

    assert [(r.check, r.status, r.detail) for r in results] == [
        ("nodes Ready", "ok", "5 nodes Ready and schedulable"),
        ("Talos versions", "ok", "every node runs v1.11.1"),
        ("Kubernetes versions", "ok", "every kubelet runs v1.34.1"),
        ("node inventory", "ok", "5 nodes match cluster.yaml (names, roles, addresses)"),
        ("etcd members", "ok", "2 members: cp-1, cp-2"),
        ("etcd health", "ok", "every member answers without errors"),
        ("etcd fault tolerance", "warn", "2 members, quorum 2: tolerates 0 member(s) down"),
        ("Ceph health", "ok", "HEALTH_OK, 3/3 OSDs up"),
        ("Ceph PGs", "ok", "all 64 PGs active+clean"),
        ("Ceph flags", "ok", "no maintenance flags set"),
        ("Flux Ready", "ok", "10 Kustomizations and HelmReleases Ready"),
        ("load balancers", "ok", "3 Services hold their cluster.yaml addresses"),
        ("talosctl client", "ok", "talosctl v1.11.1 matches the cluster's Talos 1.11"),
        ("chart versions", "ok", "8 HelmReleases run their rendered chart version"),
    ]
    assert fake.changes() == []


def test_version_drift_is_named_node_by_node_and_a_node_not_on_talos_by_its_os_image(fake, cluster_model):
    fake.nodes["worker-2"] = ImagedNode("worker-2", "worker", "10.0.10.22", "", "v1.34.1")
    fake.nodes["worker-3"].kubelet = "v1.33.5"

    talos, kubernetes = preflight.node_versions(cluster_model, kubectl.nodes())

    assert (talos.check, talos.status, talos.detail) == (
        "Talos versions", "FAIL", "worker-2 runs Talos 'Ubuntu 24.04.1 LTS', cluster.yaml says v1.11.1")
    assert (kubernetes.check, kubernetes.status, kubernetes.detail) == (
        "Kubernetes versions", "FAIL", "worker-3 runs kubelet v1.33.5, cluster.yaml says v1.34.1")


def test_the_inventory_names_every_node_missing_misplaced_or_unknown(fake, cluster_model):
    del fake.nodes["cp-1"]
    fake.nodes["worker-2"].address = "10.0.10.99"
    fake.nodes["worker-3"].role = "control-plane"
    fake.nodes["worker-4"] = FakeNode("worker-4", "worker", "10.0.10.24", "v1.11.1", "v1.34.1")

    result = preflight.node_inventory(cluster_model, kubectl.nodes())

    assert (result.status, result.detail) == ("FAIL", "; ".join([
        "cp-1 is in cluster.yaml but not in the cluster",
        "worker-2 has address 10.0.10.99, cluster.yaml says 10.0.10.22",
        "worker-3 has role control-plane, cluster.yaml says worker",
        "worker-4 is in the cluster but not in cluster.yaml",
    ]))


def test_nodes_that_cannot_be_read_are_one_failed_check_and_the_other_reads_still_report(fake, cluster_model):
    fake.api_down = True

    results = by_check(preflight.cluster_health(cluster_model))

    assert results["nodes Ready"] == ("FAIL", f"`kubectl get nodes -o json` exited 1: {API_REFUSED.strip()}")
    assert "Talos versions" not in results and "node inventory" not in results
    assert results["load balancers"] == ("FAIL", f"`kubectl get services -A -o json` exited 1: {API_REFUSED.strip()}")
    assert results["chart versions"] == (
        "FAIL", f"`kubectl get {flux.HELMRELEASES} -A -o json` exited 1: {API_REFUSED.strip()}")
    assert results["etcd members"][0] == "ok"  # the Talos API does not need the Kubernetes API


def test_etcd_members_are_read_from_the_next_control_plane_when_the_first_does_not_answer(fake, cluster_model):
    fake.failing["talosctl -n 10.0.10.11 etcd members"] = TALOS_REFUSED

    results = by_check(preflight.etcd(cluster_model))

    assert results["etcd members"] == ("ok", "2 members: cp-1, cp-2")


def test_etcd_members_no_control_plane_can_list_are_one_failed_check_naming_each_error(fake, cluster_model):
    fake.failing["talosctl -n 10.0.10.11 etcd members"] = TALOS_REFUSED
    fake.hung.add("talosctl -n 10.0.10.12 etcd members")

    results = preflight.etcd(cluster_model)

    assert [(r.check, r.status, r.detail) for r in results] == [(
        "etcd members", "FAIL",
        f"`talosctl -n 10.0.10.11 etcd members` exited 1: {TALOS_REFUSED.strip()}; "
        "`talosctl -n 10.0.10.12 etcd members` did not finish within 30s")]


@pytest.mark.parametrize("listed, detail", [
    ([("cp-1", False), ("cp-3", True)], "members cp-1, cp-3, cluster.yaml expects cp-1, cp-2; cp-3 is still a learner"),
    ([], "members none, cluster.yaml expects cp-1, cp-2"),
], ids=["a stranger still learning", "none"])
def test_etcd_members_other_than_cluster_yamls_are_named(fake, cluster_model, listed, detail):
    fake.etcd_listed = listed

    assert by_check(preflight.etcd(cluster_model))["etcd members"] == ("FAIL", detail)


def test_every_etcd_member_that_fails_or_reports_errors_is_named(fake, cluster_model):
    fake.failing["talosctl -n 10.0.10.11 etcd status"] = TALOS_REFUSED
    fake.etcd_errors["cp-2"] = "etcdserver: no leader"

    results = by_check(preflight.etcd(cluster_model))

    assert results["etcd health"] == ("FAIL", f"cp-1: `talosctl -n 10.0.10.11 etcd status` exited 1: "
                                              f"{TALOS_REFUSED.strip()}; cp-2: etcdserver: no leader")


def test_three_etcd_members_tolerate_one_down(fake, cluster_model):
    fake.etcd_listed = [("cp-1", False), ("cp-2", False), ("cp-3", False)]

    assert by_check(preflight.etcd(cluster_model))["etcd fault tolerance"] == (
        "ok", "3 members, quorum 2: tolerates 1 member(s) down")


def test_a_cluster_yaml_without_control_planes_fails_the_etcd_check_without_asking_talos(fake, cluster_model):
    workers_only = cluster_model.model_copy(update={"nodes": cluster_model.workers})

    results = preflight.etcd(workers_only)

    assert [(r.check, r.status, r.detail) for r in results] == [
        ("etcd members", "FAIL", "cluster.yaml has no control-plane node")]
    assert fake.calls == []


def test_a_talosctl_whose_version_cannot_be_read_is_a_warning_saying_why(fake, cluster_model):
    fake.failing["talosctl version --client"] = "talosctl: exec format error\n"

    result = preflight.talos_client(cluster_model)

    assert (result.check, result.status, result.detail) == (
        "talosctl client", "warn",
        "cannot read the talosctl client's version: `talosctl version --client` exited 1: talosctl: exec format error")


def test_ceph_health_names_its_checks_the_osds_up_the_unclean_pgs_and_every_flag(fake):
    fake.ceph_health = ("HEALTH_WARN", {"OSD_DOWN": "1 osds down", "OSDMAP_FLAGS": "noout,norebalance flag(s) set"}, 2)
    fake.pgs_clean = False
    fake.flags = {"noout", "norebalance"}
    fake.host_flags["worker-1"] = {"noout"}

    assert [(r.check, r.status, r.detail) for r in preflight.ceph_health()] == [
        ("Ceph health", "FAIL", "HEALTH_WARN, 2/3 OSDs up: OSD_DOWN: 1 osds down; "
                                "OSDMAP_FLAGS: noout,norebalance flag(s) set"),
        ("Ceph PGs", "FAIL", "not clean: 64 active+undersized+degraded"),
        ("Ceph flags", "FAIL", "set: noout, norebalance, noout on host worker-1"),
    ]


@pytest.mark.parametrize("services, detail", [
    ([load_balancer("network", "k8s-gateway", "10.0.50.100"),
      load_balancer("network", "cilium-gateway-internal-gateway"),
      load_balancer("network", "external-gateway", "10.0.50.102", kind="ClusterIP")],
     "network/cilium-gateway-internal-gateway holds no address, cluster.yaml says 10.0.50.101; "
     "no LoadBalancer Service named external-gateway or cilium-gateway-external-gateway"),
    ([load_balancer("network", "k8s-gateway", "10.0.50.109", "10.0.50.110"),
      load_balancer("network", "cilium-gateway-internal-gateway", "10.0.50.101"),
      load_balancer("network", "external-gateway", "10.0.50.102")],
     "network/k8s-gateway holds 10.0.50.109, 10.0.50.110, cluster.yaml says 10.0.50.100"),
], ids=["missing and without address", "at another address"])
def test_a_load_balancer_missing_or_not_at_its_cluster_yaml_address_is_named(fake, cluster_model, services, detail):
    fake.services = services

    assert by_check(preflight.load_balancers(cluster_model)) == {"load balancers": ("FAIL", detail)}


def test_a_helmrelease_missing_behind_or_not_yet_released_is_named_with_both_versions(fake, cluster_model):
    fake.charts[("kube-system", "cilium")] = ["1.19.2", "1.19.3"]  # rolled back: the newest release is first
    fake.charts[("network", "k8s-gateway")] = []
    del fake.charts[("rook-ceph", "rook-ceph")]

    assert by_check(preflight.chart_versions(cluster_model, None)) == {"chart versions": ("FAIL", "; ".join([
        "HelmRelease kube-system/cilium runs chart cilium 1.19.2, kubernetes/ renders 1.19.3",
        "HelmRelease network/k8s-gateway runs chart k8s-gateway (none yet), kubernetes/ renders 3.7.2",
        "HelmRelease rook-ceph/rook-ceph is not in the cluster",
    ]))}


def test_chart_versions_follow_the_kubernetes_tree_beside_cluster_yaml(fake, cluster_model, tmp_path):
    shutil.copytree(ROOT / "kubernetes", tmp_path / "kubernetes")
    release = tmp_path / "kubernetes/apps/kube-system/cilium/app/helmrelease.yaml"
    release.write_text(release.read_text().replace("version: 1.19.3", "version: 1.19.4"))

    results = by_check(preflight.cluster_health(cluster_model, tmp_path))

    assert results["chart versions"] == (
        "FAIL", "HelmRelease kube-system/cilium runs chart cilium 1.19.3, kubernetes/ renders 1.19.4")


def test_a_node_an_earlier_run_of_the_runbook_left_out_turns_its_failures_into_warnings(fake, cluster_model,
                                                                                         monkeypatch, tmp_path):
    monkeypatch.setenv("HOMEOPS_RECORD", str(tmp_path / "20261201T101500Z-worker-upgrade.ipynb"))
    fake.nodes["worker-1"].unschedulable = True
    fake.host_flags["worker-1"] = {"noout"}

    results = by_check(preflight.maintenance_gates(cluster_model))

    earlier = "left by an earlier run of worker-upgrade on worker-1, finished first: "
    assert results["nodes Ready"] == ("warn", earlier + "worker-1 cordoned")
    assert results["Ceph flags"] == ("warn", earlier + "set: noout on host worker-1")
    assert not [name for name, (status, _) in results.items() if status == "FAIL"]


def earlier_record(directory, reason: str, outcome: str = "interrupted") -> None:
    """The record of an earlier run of worker-upgrade beside this run's, ended with `reason`."""
    record = {"cells": [], "metadata": {"homeops": {"outcome": outcome, "reason": reason}}, "nbformat": 4,
              "nbformat_minor": 5}
    (directory / "20261201T100000Z-worker-upgrade.ipynb").write_text(json.dumps(record))


def test_noout_on_the_node_an_interrupted_run_names_is_finished_first_though_nothing_is_cordoned(
        fake, cluster_model, monkeypatch, tmp_path):
    """Ctrl-C while `set-group noout` had not answered: the flag is set, the cordon never came."""
    monkeypatch.setenv("HOMEOPS_RECORD", str(tmp_path / "20261201T101500Z-worker-upgrade.ipynb"))
    earlier_record(tmp_path, "worker-1: stopped at step 'set noout for the host': interrupted (Ctrl-C, Kernel > "
                             "Interrupt or a signal) before `ceph osd set-group noout worker-1` answered; "
                             "left in place: noout for host worker-1 may be set")
    fake.host_flags["worker-1"] = {"noout"}

    results = by_check(preflight.maintenance_gates(cluster_model))

    assert results["Ceph flags"] == ("warn", "left by an earlier run of worker-upgrade on worker-1, finished first: "
                                             "set: noout on host worker-1")
    assert not [name for name, (status, _) in results.items() if status == "FAIL"]


@pytest.mark.parametrize("named, flagged", [
    (None, "worker-1"),  # no record names a node: a flag without a cordon is nobody's known leftover
    ("worker-2", "worker-1"),  # the record names another node
])
def test_noout_without_a_cordon_stops_unless_the_last_record_names_its_node(
        fake, cluster_model, monkeypatch, tmp_path, named, flagged):
    monkeypatch.setenv("HOMEOPS_RECORD", str(tmp_path / "20261201T101500Z-worker-upgrade.ipynb"))
    if named:
        earlier_record(tmp_path, f"{named}: stopped at step 'set noout for the host': interrupted")
    fake.host_flags[flagged] = {"noout"}

    results = by_check(preflight.maintenance_gates(cluster_model))

    assert results["Ceph flags"] == ("FAIL", f"set: noout on host {flagged}")


# Which leftovers a re-run takes as its own: only one node of the runbook's role out, only noout on
# its hosts, only the failures that node explains, and the last record naming it (or, without a
# record, its cordon with noout on its hosts and none cluster-wide).

def set_up_leftovers(fake, tmp_path, monkeypatch, *, runbook="worker-upgrade", named=None, outcome="interrupted",
                     cordoned=("worker-1",), host_noout=("worker-1",), flags=(), not_ready=(), claimed=False):
    this_run = tmp_path / f"20261201T101500Z-{runbook}.ipynb"
    monkeypatch.setenv("HOMEOPS_RECORD", str(this_run))
    if claimed:  # this run's own record, claimed as `homeops run` does: never the earlier run
        this_run.write_text(json.dumps({"cells": [], "metadata": {"homeops": {"outcome": "running"}},
                                        "nbformat": 4, "nbformat_minor": 5}))
    if named:
        earlier_record(tmp_path, f"{named}: stopped at step 'drain': interrupted", outcome)
    for name in cordoned:
        fake.nodes[name].unschedulable = True
    for name in host_noout:
        fake.host_flags[name] = {"noout"}
    fake.flags |= set(flags)
    for name in not_ready:
        fake.nodes[name].ready = "False"


@pytest.mark.parametrize("case, setup, finished_first", [
    # With the cluster-wide noout the signature does not hold: only the record's name can tell.
    ("named, stopped", dict(named="worker-1", outcome="stopped", flags=("noout",)), True),
    ("named, failed", dict(named="worker-1", outcome="failed", flags=("noout",)), True),
    ("named, this run's record claimed", dict(named="worker-1", flags=("noout",), claimed=True), True),
    ("named, but the run completed", dict(named="worker-1", outcome="completed", cordoned=()), False),
    ("named, with the cluster-wide noout too", dict(named="worker-1", flags=("noout",)), True),
    ("no record, cordoned and flagged", dict(), True),
    ("no record, cordoned without a flag", dict(host_noout=()), False),
    ("no record, with the cluster-wide noout too", dict(flags=("noout",)), False),
    ("another maintenance flag", dict(named="worker-1", flags=("norebalance",)), False),
    ("two nodes cordoned", dict(named="worker-1", cordoned=("worker-1", "worker-2")), False),
    ("another node not Ready", dict(named="worker-1", not_ready=("worker-2",)), False),
    ("a runbook that takes no node out", dict(runbook="ceph-maintenance", named="worker-1"), False),
])
def test_leftovers_are_finished_first_only_when_they_are_this_runbooks_own(
        fake, cluster_model, monkeypatch, tmp_path, case, setup, finished_first):
    set_up_leftovers(fake, tmp_path, monkeypatch, **setup)

    results = by_check(preflight.maintenance_gates(cluster_model))

    failed = [name for name, (status, _) in results.items() if status == "FAIL"]
    assert (not failed) == finished_first, (case, results)
    assert results["etcd members"][0] == "ok" and results["Flux Ready"][0] == "ok"  # what passed stays as it was
    if not finished_first:
        assert not any(detail.startswith("left by an earlier run") for _, detail in results.values()), case


def test_a_failure_the_left_out_node_does_not_explain_keeps_every_failure(fake, cluster_model, monkeypatch, tmp_path):
    set_up_leftovers(fake, tmp_path, monkeypatch, named="worker-1")
    fake.flux_not_ready = {"apps"}

    results = by_check(preflight.maintenance_gates(cluster_model))

    assert results["nodes Ready"] == ("FAIL", "worker-1 cordoned")
    assert results["Ceph flags"] == ("FAIL", "set: noout on host worker-1")


def test_the_record_of_this_run_is_the_guards_when_a_session_runs_in_this_kernel(fake, cluster_model, monkeypatch,
                                                                                   tmp_path):
    from homeops.procedures import resume
    from homeops.runner import guard

    monkeypatch.delenv("HOMEOPS_RECORD", raising=False)
    running = type("Running", (), {"record_path": tmp_path / "20261201T101500Z-worker-upgrade.ipynb",
                                    "finished": False})()
    monkeypatch.setattr(guard, "active", lambda: running)

    assert resume.this_runbook() == "worker-upgrade"
    running.finished = True
    assert resume.this_runbook() is None
