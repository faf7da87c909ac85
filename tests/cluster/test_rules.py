"""Rules on facts directly: the support table, etcd quorum wording, and the edges of each rule."""

from __future__ import annotations

import ipaddress

import pytest

from homeops.cluster import rules
from homeops.cluster.rules import Facts, LoadBalancerFacts, NodeFacts, supported_kubernetes


def facts(**values) -> Facts:
    return Facts(file="c.yaml", locate=lambda path: (len(path), 1), **values)


def nodes(*roles: str) -> tuple[NodeFacts, ...]:
    return tuple(
        NodeFacts(i, f"n{i}", role, ipaddress.IPv4Address(f"10.0.0.{i + 10}"), 1 if role == "worker" else 0)
        for i, role in enumerate(roles)
    )


@pytest.mark.parametrize(
    ("talos", "window"),
    [("v1.8.4", (26, 31)), ("v1.9.0", (27, 32)), ("v1.10.7", (28, 33)), ("v1.11.1", (29, 34)), ("1.11", (29, 34))],
)
def test_supported_kubernetes_by_talos_minor(talos: str, window: tuple[int, int]):
    assert supported_kubernetes(talos) == window


def test_supported_kubernetes_refuses_an_unknown_talos_minor():
    with pytest.raises(rules.UnknownTalosVersion, match=r"no Kubernetes support range is known for Talos 1.12 "
                                                        r"\(known: 1.8, 1.9, 1.10, 1.11\)"):
        supported_kubernetes("v1.12.0")


def test_an_unknown_talos_minor_is_a_warning_not_a_guess():
    [problem] = rules.kubernetes_unsupported(facts(talos_version="v1.12.0", kubernetes_version="v1.34.1"))

    assert (problem.code, problem.severity, problem.path) == ("kubernetes-unsupported", "warning", "versions.talos")
    assert "cannot check versions.kubernetes" in problem.message


@pytest.mark.parametrize("kubernetes", ["v1.28.9", "v1.35.0", "v2.30.0"])
def test_kubernetes_outside_the_window_warns(kubernetes: str):
    [problem] = rules.kubernetes_unsupported(facts(talos_version="v1.11.1", kubernetes_version=kubernetes))

    assert problem.severity == "warning"
    assert f"Kubernetes {kubernetes} is outside what Talos 1.11 supports (Kubernetes 1.29 to 1.34" in problem.message


def test_the_kubernetes_warning_points_back_at_the_line_of_the_talos_version():
    lines = {("versions", "talos"): 7, ("versions", "kubernetes"): 8}
    located = Facts(file="c.yaml", locate=lambda path: (lines[path], 3),
                    talos_version="v1.11.1", kubernetes_version="v1.35.0")
    [problem] = rules.kubernetes_unsupported(located)
    assert (problem.code, problem.line, problem.path) == ("kubernetes-unsupported", 8, "versions.kubernetes")
    assert problem.message.endswith("(Kubernetes 1.29 to 1.34, line 7)")


def test_four_control_planes_warn_that_they_tolerate_no_more_than_three():
    [problem] = rules.even_control_planes(facts(nodes=nodes("control-plane", "control-plane", "control-plane",
                                                          "control-plane", "worker")))

    assert problem.message == (
        "4 control-plane nodes: etcd needs a quorum of 3 of 4 members, so it tolerates 1 failed member(s), "
        "no more than 3 would; use 3 or 5 control-plane nodes"
    )
    assert "refuses" not in problem.message  # the Talos upgrade refusal is about 2-member etcd only


@pytest.mark.parametrize("roles", [("control-plane",), ("control-plane",) * 3, ("control-plane",) * 5])
def test_odd_control_planes_do_not_warn(roles):
    assert rules.even_control_planes(facts(nodes=nodes(*roles))) == []


def test_counting_rules_wait_until_every_role_is_known():
    unknown = facts(nodes=nodes("worker", "worker"), roles_known=False)

    assert rules.no_control_plane(unknown) == []
    assert rules.even_control_planes(unknown) == []
    assert rules.too_few_ceph_hosts(unknown) == []


NETWORKS = ("node_cidr", "pod_cidr", "service_cidr")  # the order cluster.yaml lists them in
# Each pair of networks, each one the supernet in turn; the third network is disjoint from both.
NESTED_PAIRS = [(outer, inner) for outer in NETWORKS for inner in NETWORKS if outer != inner]


@pytest.mark.parametrize(("outer", "inner"), NESTED_PAIRS)
def test_every_pair_of_networks_nested_either_way_is_one_problem_on_the_later_key(outer: str, inner: str):
    net = ipaddress.IPv4Network
    third = next(key for key in NETWORKS if key not in (outer, inner))
    values = {outer: net("10.0.0.0/8"), inner: net("10.42.0.0/16"), third: net("192.168.0.0/16")}
    later, earlier = sorted((outer, inner), key=NETWORKS.index, reverse=True)

    [problem] = rules.cidr_overlap(facts(**values))

    how = "lies inside" if later == inner else "contains"
    assert problem.path == f"network.{later}"
    assert problem.message == (f"{values[later]} {how} network.{earlier} {values[earlier]} (line 2): "
                               "node, pod and service networks must not overlap")


def test_three_nested_networks_are_three_problems_not_only_the_adjacent_pairs():
    net = ipaddress.IPv4Network
    problems = rules.cidr_overlap(facts(node_cidr=net("10.0.0.0/8"), pod_cidr=net("10.42.0.0/16"),
                                        service_cidr=net("10.42.0.0/16")))

    assert [(p.path, p.message.split(":")[0]) for p in problems] == [
        ("network.pod_cidr", "10.42.0.0/16 lies inside network.node_cidr 10.0.0.0/8 (line 2)"),
        ("network.service_cidr", "10.42.0.0/16 lies inside network.node_cidr 10.0.0.0/8 (line 2)"),
        ("network.service_cidr", "10.42.0.0/16 lies inside network.pod_cidr 10.42.0.0/16 (line 2)"),
    ]


@pytest.mark.parametrize("present", [("node_cidr", "pod_cidr"), ("pod_cidr", "service_cidr"), ("node_cidr",
                                                                                                "service_cidr")])
def test_adjacent_networks_touch_without_overlapping(present: tuple[str, str]):
    net = ipaddress.IPv4Network
    adjacent = {"node_cidr": net("10.0.0.0/16"), "pod_cidr": net("10.1.0.0/16"), "service_cidr": net("10.2.0.0/16")}
    touching = dict(zip(present, (net("10.0.0.0/9"), net("10.128.0.0/9"))))

    assert rules.cidr_overlap(facts(**adjacent)) == []
    assert rules.cidr_overlap(facts(**touching)) == []


def test_a_network_that_did_not_parse_is_left_out_of_the_comparison():
    net = ipaddress.IPv4Network
    assert rules.cidr_overlap(facts(node_cidr=None, pod_cidr=net("10.42.0.0/16"),
                                    service_cidr=net("10.43.0.0/16"))) == []
    [problem] = rules.cidr_overlap(facts(pod_cidr=net("10.42.0.0/16"), service_cidr=net("10.42.0.0/24")))
    assert problem.path == "network.service_cidr"


def test_a_slash_28_service_network_holds_the_cluster_dns_and_a_slash_29_does_not():
    net = ipaddress.IPv4Network
    assert rules.service_cidr_too_small(facts(service_cidr=net("10.43.0.0/28"))) == []
    [problem] = rules.service_cidr_too_small(facts(service_cidr=net("10.43.0.0/29")))
    assert "10.43.0.10" in problem.message


def test_the_vip_clashing_with_a_load_balancer_names_both():
    lb = LoadBalancerFacts(0, "gw", ipaddress.IPv4Address("10.0.50.50"))
    [problem] = rules.address_used_twice(facts(control_plane_vip=ipaddress.IPv4Address("10.0.50.50"),
                                               load_balancers=(lb,)))

    assert problem.path == "network.load_balancers[0].address"
    assert problem.message == ("10.0.50.50 (load balancer gw) is already used by the control-plane VIP at "
                               "network.control_plane_vip (line 2)")


def test_every_reuse_of_an_address_is_reported_against_its_first_use():
    many = tuple(NodeFacts(i, f"n{i}", "worker", ipaddress.IPv4Address(167772160 + (i % 5000)), 1)
                 for i in range(10_000))

    problems = rules.address_used_twice(facts(nodes=many))

    assert len(problems) == 5_000
    assert problems[0].message.startswith("10.0.0.0 (node n5000) is already used by node n0")


def test_a_slash_31_node_network_has_no_reserved_address_but_a_slash_30_has_two():
    # RFC 3021: both addresses of a /31 belong to machines; a /30 keeps its first and last.
    machines = (NodeFacts(0, "a", "control-plane", ipaddress.IPv4Address("10.0.0.0"), 0),
                NodeFacts(1, "b", "worker", ipaddress.IPv4Address("10.0.0.1"), 1))
    assert rules.address_reserved(facts(node_cidr=ipaddress.IPv4Network("10.0.0.0/31"), nodes=machines)) == []
    ends = (NodeFacts(0, "a", "control-plane", ipaddress.IPv4Address("10.0.0.0"), 0),
            NodeFacts(1, "b", "worker", ipaddress.IPv4Address("10.0.0.3"), 1))
    problems = rules.address_reserved(facts(node_cidr=ipaddress.IPv4Network("10.0.0.0/30"), nodes=ends))
    assert [p.message for p in problems] == [
        "10.0.0.0 (node a) is the network address of network.node_cidr 10.0.0.0/30",
        "10.0.0.3 (node b) is the broadcast address of network.node_cidr 10.0.0.0/30",
    ]


def test_a_node_whose_name_did_not_parse_does_not_hide_a_later_duplicate():
    named = (NodeFacts(0, None, "control-plane", None, 0), NodeFacts(1, "w", "worker", None, 1),
             NodeFacts(2, "w", "worker", None, 1))
    [problem] = rules.duplicate_node_name(facts(nodes=named))
    assert (problem.path, problem.message) == ("nodes[2].name", "node name 'w' is already used at nodes[1].name (line 3)")


def test_a_cluster_with_no_osd_at_all_is_told_it_has_no_ceph_host():
    [problem] = rules.too_few_ceph_hosts(facts(nodes=nodes("control-plane", "control-plane", "control-plane")))
    assert (problem.severity, problem.message) == (
        "warning", "0 Ceph host(s) with OSDs: a replicated Ceph pool of size 3 needs 3 hosts, or it stays degraded")


def test_a_schematic_id_with_no_extension_listed_is_compared_with_the_plain_schematic():
    [problem] = rules.schematic_stale(facts(schematic_id="0" * 64, extensions=()))
    assert problem.severity == "warning"
    assert problem.message.startswith("this is not the Image Factory ID of the schematic with no extension (that is ")


def test_a_stale_schematic_id_names_every_extension_it_was_compared_with():
    [problem] = rules.schematic_stale(facts(schematic_id="0" * 64, extensions=("siderolabs/zfs", "siderolabs/iscsi-tools")))
    assert "the schematic with siderolabs/zfs, siderolabs/iscsi-tools (that is " in problem.message


def test_a_component_release_that_nothing_fits_says_so():
    [problem] = rules.component_unsupported(facts(kubernetes_version="v1.20.0", component_versions=(("flux", "v2.7.0"),)))
    assert problem.severity == "warning"
    assert problem.message.startswith("Flux v2.7.0 supports Kubernetes 1.32 to 1.34, not v1.20.0 (line 2); "
                                      "no known Flux release supports it (source: ")


def test_every_problem_carries_the_position_of_its_key():
    located = Facts(file="c.yaml", locate=lambda path: (7, 3))
    problem = located.problem("some-code", ("network", "pod_cidr"), "words", "warning")
    assert (problem.line, problem.column, problem.path, problem.severity, problem.file, problem.code) == (
        7, 3, "network.pod_cidr", "warning", "c.yaml", "some-code")
    assert located.problem("other", ("nodes",), "words").severity == "error"
