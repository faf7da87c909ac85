"""The wrappers the bootstrap adds: helm, sops, dig, kubectl's existence checks and creations, flux bootstrap."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeops.gate import Gate
from homeops.tools import flux, helm, kubectl, workstation
from homeops.tools.decode import ToolOutputInvalid
from homeops.tools.process import Completed


@pytest.fixture
def ran(monkeypatch):
    calls, answers = [], {}

    def run(argv, *, timeout, input=None, check=True):
        calls.append(list(argv))
        return Completed(tuple(argv), 0, answers.get(argv[0], ""), "")

    monkeypatch.setattr("homeops.tools.process.run", run)
    return calls, answers


def test_a_deployed_release_gives_its_chart_version_and_another_status_none(ran):
    calls, answers = ran
    answers["helm"] = ('[{"name":"cilium","namespace":"kube-system","status":"deployed","chart":"cilium-1.19.3"},'
                       '{"name":"cilium-old","status":"deployed","chart":"cilium-1.0.0"}]')
    assert helm.deployed_chart("cilium", "kube-system", "cilium") == "1.19.3"
    assert calls == [["helm", "list", "--namespace", "kube-system", "--filter", "^cilium$", "--output", "json"]]
    answers["helm"] = '[{"name":"cilium","status":"failed","chart":"cilium-1.19.3"}]'
    assert helm.deployed_chart("cilium", "kube-system", "cilium") is None
    answers["helm"] = "[]"  # no release matches
    assert helm.deployed_chart("cilium", "kube-system", "cilium") is None


def test_helm_output_that_is_not_a_list_of_releases_is_refused():
    with pytest.raises(ToolOutputInvalid, match="a JSON array of releases"):
        helm.parse_list('{"name": "cilium"}', ["helm", "list"])


def test_existence_is_asked_by_name_only(ran):
    calls, answers = ran
    answers["kubectl"] = "secret/sops-age\n"
    assert kubectl.exists(["-n", "flux-system", "get", "secret", "sops-age"])
    assert calls[0][:-1] == ["kubectl", "-n", "flux-system", "get", "secret", "sops-age", "-o", "name",
                             "--ignore-not-found"]
    answers["kubectl"] = ""
    assert not kubectl.exists(["get", "namespace", "flux-system"])


def test_the_bootstrap_changes_show_their_exact_commands_in_a_plan(ran, capsys):
    gate = Gate(apply=False)
    kubectl.create_secret_from_file(gate, "flux-system", "sops-age", "age.agekey", "/home/ana/.config/sops/age/keys.txt")
    helm.upgrade_install(gate, "cilium", "cilium", repo="https://helm.cilium.io", version="1.19.3",
                         namespace="kube-system", values="values.yaml", timeout=600)
    flux.bootstrap_github(gate, owner="ana", repository="home-ops", branch="main", path="kubernetes/flux", personal=True,
                          timeout=300)
    workstation.sops_encrypt(gate, Path(".sops.yaml"), Path("talos/generated/secrets.yaml"),
                             Path("talos/secrets.sops.yaml"))
    assert ran[0] == []
    assert capsys.readouterr().out.splitlines() == [
        "PLAN: kubectl -n flux-system create secret generic sops-age "
        "--from-file=age.agekey=/home/ana/.config/sops/age/keys.txt",
        "PLAN: helm upgrade --install cilium cilium --repo https://helm.cilium.io --version 1.19.3 "
        "--namespace kube-system --values values.yaml --wait --timeout 600s",
        "PLAN: flux bootstrap github --owner=ana --repository=home-ops --branch=main --path=kubernetes/flux "
        "--personal --timeout=300s",
        "PLAN: sops --config .sops.yaml --encrypt --filename-override talos/secrets.sops.yaml "
        "--output talos/secrets.sops.yaml talos/generated/secrets.yaml",
    ]


def test_flux_is_told_the_owner_is_a_user_only_when_it_is_one(ran, capsys):
    # flux2 cmd/flux/bootstrap_github.go: `--personal` makes Flux reconcile a user's repository; without it,
    # an organization's (pkg/bootstrap/bootstrap_provider.go ReconcileRepository).
    gate = Gate(apply=False)
    for owner, personal in (("ana", True), ("home-lab-org", False)):
        flux.bootstrap_github(gate, owner=owner, repository="home-ops", branch="main", path="kubernetes/flux",
                              personal=personal, timeout=300)
    assert capsys.readouterr().out.splitlines() == [
        "PLAN: flux bootstrap github --owner=ana --repository=home-ops --branch=main --path=kubernetes/flux "
        "--personal --timeout=300s",
        "PLAN: flux bootstrap github --owner=home-lab-org --repository=home-ops --branch=main --path=kubernetes/flux "
        "--timeout=300s",
    ]


def test_dig_is_asked_for_the_soa_of_the_domain_at_the_server(ran):
    calls, answers = ran
    answers["dig"] = "ns.dns.example.com. hostmaster.example.com. 1 7200 1800 86400 3600\n"
    assert workstation.dns_soa("10.0.50.100", "example.com").startswith("ns.dns.example.com.")
    assert calls == [["dig", "+short", "+time=2", "+tries=2", "@10.0.50.100", "example.com", "SOA"]]
