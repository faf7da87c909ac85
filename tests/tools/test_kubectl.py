"""kubectl: node records from `get nodes -o json`, Services, and errors that carry the command."""

from __future__ import annotations

import json

import pytest

from homeops.gate import Gate
from homeops.tools import kubectl
from homeops.tools.decode import ToolOutputInvalid
from homeops.tools.process import ToolError


def nodes_by_name(fixture_text):
    return {n.name: n for n in kubectl.parse_nodes(json.loads(fixture_text("kubectl-get-nodes.json")))}


def test_a_ready_control_plane_node(fixture_text):
    cp = nodes_by_name(fixture_text)["cp-1"]
    assert cp.role == "control-plane"
    assert cp.ready == "True" and cp.is_ready
    assert cp.unschedulable is False  # spec.unschedulable is absent when false
    assert cp.internal_ip == "10.0.10.11"
    assert cp.kubelet_version == "v1.34.1"
    assert cp.talos_version == "v1.11.1"
    assert cp.boot_id == "5c1d6a2e-3f4b-4c2d-9e8f-0a1b2c3d4e5f"


def test_a_cordoned_not_ready_worker(fixture_text):
    worker = nodes_by_name(fixture_text)["worker-1"]
    assert worker.role == "worker"
    assert worker.ready == "False" and not worker.is_ready
    assert worker.unschedulable is True
    assert worker.talos_version == "v1.11.0"


def test_a_node_whose_kubelet_stopped_reporting_is_unknown_and_a_foreign_os_has_no_talos_version(fixture_text):
    worker = nodes_by_name(fixture_text)["worker-2"]
    assert worker.ready == "Unknown" and not worker.is_ready
    assert worker.talos_version is None
    assert worker.os_image == "Debian GNU/Linux 12 (bookworm)"


def test_nodes_runs_kubectl_with_a_request_timeout(fake_tools, fixture_text):
    fake_tools.respond(["kubectl", "get", "nodes", "-o", "json"], stdout=fixture_text("kubectl-get-nodes.json"))
    assert [n.name for n in kubectl.nodes()] == ["cp-1", "worker-1", "worker-2"]
    (call,) = fake_tools.calls()
    assert call[:5] == ["kubectl", "get", "nodes", "-o", "json"]
    assert call[5].startswith("--request-timeout=") and call[5].endswith("s")


def test_a_dead_api_server_is_a_tool_error_with_command_exit_code_and_stderr(fake_tools, fixture_text):
    stderr = fixture_text("kubectl-api-unreachable.stderr")
    fake_tools.respond(["kubectl", "get", "node", "worker-1", "-o", "json"], stderr=stderr, returncode=1)
    with pytest.raises(ToolError) as caught:
        kubectl.node("worker-1")
    error = caught.value
    assert error.argv[:4] == ["kubectl", "get", "node", "worker-1"]
    assert error.returncode == 1
    assert error.stderr == stderr
    assert "exited 1: The connection to the server 10.0.50.50:6443 was refused" in str(error)


def test_output_that_is_not_json_says_which_command_printed_what(fake_tools):
    fake_tools.respond(["kubectl", "get", "nodes", "-o", "json"], stdout="No resources found\n")
    with pytest.raises(ToolOutputInvalid, match=r"`kubectl get nodes -o json .*` printed output that is not JSON.*No resources found"):
        kubectl.nodes()


def test_only_load_balancer_services_with_their_ingress_addresses(fixture_text):
    services = kubectl.parse_load_balancers(json.loads(fixture_text("kubectl-get-services.json")))
    assert [(s.namespace, s.name, s.addresses) for s in services] == [
        ("network", "k8s-gateway", ("10.0.50.100",)),
        ("network", "internal-gateway", ()),
    ]


def test_drain_passes_the_flags_and_its_timeout_and_a_pdb_refusal_is_a_tool_error(fake_tools, fixture_text):
    argv = ["kubectl", "drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=600s"]
    fake_tools.respond(argv, stderr=fixture_text("kubectl-drain-pdb.stderr"), returncode=1)
    with pytest.raises(ToolError, match="global timeout reached: 10m0s") as caught:
        kubectl.drain(Gate(apply=True), "worker-1", timeout=600)
    assert caught.value.argv == argv
    assert fake_tools.calls() == [argv]
