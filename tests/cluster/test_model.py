"""The model API that the docs and runbooks use."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from homeops import load_cluster

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def real(repo_root: Path):
    return load_cluster(repo_root / "cluster.yaml")


@pytest.fixture(scope="module")
def three_control_planes():
    return load_cluster(FIXTURES / "even-control-planes" / "valid.yaml")


def test_installer_image_is_the_factory_image_of_the_talos_version(real):
    schematic = real.talos.schematic_id
    assert real.installer_image() == f"factory.talos.dev/installer/{schematic}:v1.11.1"
    assert real.installer_image("v1.11.2") == f"factory.talos.dev/installer/{schematic}:v1.11.2"


def test_control_planes_and_workers_keep_file_order(real):
    assert [n.name for n in real.control_planes] == ["cp-1", "cp-2"]
    assert [n.name for n in real.workers] == ["worker-1", "worker-2", "worker-3"]


def test_etcd_with_two_members_tolerates_no_failure(real):
    assert (real.etcd_members, real.etcd_quorum, real.etcd_fault_tolerance) == (2, 2, 0)


def test_etcd_with_three_members_tolerates_one_failure(three_control_planes):
    assert (three_control_planes.etcd_members, three_control_planes.etcd_quorum) == (3, 2)
    assert three_control_planes.etcd_fault_tolerance == 1


def test_every_address_has_its_owner(real):
    assert real.addresses() == [
        ("10.0.10.11", "cp-1", "control-plane"),
        ("10.0.10.12", "cp-2", "control-plane"),
        ("10.0.10.21", "worker-1", "worker"),
        ("10.0.10.22", "worker-2", "worker"),
        ("10.0.10.23", "worker-3", "worker"),
        ("10.0.50.50", "Kubernetes API", "control-plane VIP"),
        ("10.0.50.100", "k8s-gateway", "load balancer"),
        ("10.0.50.101", "internal-gateway", "load balancer"),
        ("10.0.50.102", "external-gateway", "load balancer"),
    ]


def test_node_lookup_names_the_known_nodes_when_it_fails(real):
    assert str(real.node("worker-2").address) == "10.0.10.22"
    with pytest.raises(KeyError, match="no node named 'worker-9'.*cp-1, cp-2, worker-1"):
        real.node("worker-9")


def test_cluster_dns_is_the_tenth_service_address(real):
    assert real.network.cluster_dns == ipaddress.IPv4Address("10.43.0.10")


def test_ceph_hosts_default_to_the_workers(real):
    assert [n.name for n in real.ceph_hosts] == ["worker-1", "worker-2", "worker-3"]
    assert [n.osd_count for n in real.nodes] == [0, 0, 1, 1, 1]


def test_the_model_is_immutable(real):
    with pytest.raises(ValidationError, match="frozen"):
        real.network.pod_cidr = ipaddress.IPv4Network("10.99.0.0/16")
