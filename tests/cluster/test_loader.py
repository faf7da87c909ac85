"""The loader: every problem of a file in one run, in file order, and the model when there is no error."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeops import ClusterInvalid, load_cluster
from homeops.cluster.loader import check_cluster, check_text

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"

# Exactly the required keys of issue 2, in its own flow style.
REQUIRED_ONLY = f"""\
cluster:   {{name: home-ops, domain: example.com}}
versions:  {{talos: v1.11.1, kubernetes: v1.34.1, flux: v2.7.5, cilium: v1.19.3,
            rook_ceph: v1.18.3, sops: v3.10.2, age: v1.2.1}}
talos:     {{installer: factory.talos.dev/installer, schematic_id: {SCHEMATIC}}}
network:
  node_cidr: 10.0.0.0/16
  pod_cidr: 10.42.0.0/16
  service_cidr: 10.43.0.0/16
  control_plane_vip: 10.0.50.50
  load_balancers:            # list of {{name, address, purpose}}
    - {{name: k8s-gateway, address: 10.0.50.100, purpose: Internal DNS}}
nodes:                       # list of {{name, role: control-plane|worker, address}}
  - {{name: cp-1, role: control-plane, address: 10.0.10.11}}
"""

SEVERAL_ERRORS = """\
cluster:
  name: Home_Ops
  domain: example.com
versions:
  talos: v1.11.1
  kubernetes: v1.34.1
  flux: latest
  cilium: v1.19.3
  rook_ceph: v1.18.3
  sops: v3.10.2
  age: v1.2.1
  clium: v1.0.0
talos:
  installer: factory.talos.dev/installer
  schematic_id: abc
network:
  node_cidr: 10.0.0.0/16
  pod_cidr: 10.0.128.0/17
  service_cidr: 10.43.0.0/16
  control_plane_vip: 10.0.50.50
  load_balancers:
    - {name: gw, address: 10.0.50.50, purpose: DNS}
nodes:
  - {name: cp-1, role: control-plane, address: 10.0.10.11}
  - {name: cp-2, role: controlplane, address: 10.1.0.1}
  - {name: cp-1, role: worker}
"""


def test_a_file_with_only_the_required_keys_is_valid():
    checked = check_text(REQUIRED_ONLY)

    assert checked.errors == ()
    assert checked.cluster is not None
    # one node, no OSDs anywhere: the only remark is about Ceph
    assert [p.code for p in checked.warnings] == ["too-few-ceph-hosts"]


def test_every_problem_is_reported_in_one_run_sorted_by_line():
    checked = check_text(SEVERAL_ERRORS, "several.yaml")

    found = [(p.line, p.code) for p in checked.problems]
    assert found == [
        (2, "dns-label"),
        (7, "version-unpinned"),
        (12, "unknown-key"),
        (15, "schematic-id"),
        (18, "cidr-overlap"),
        (22, "address-used-twice"),
        (25, "role"),
        (25, "address-outside-node-cidr"),
        (26, "missing-key"),
        (26, "duplicate-node-name"),
    ]
    assert checked.cluster is None
    messages = "\n".join(str(p) for p in checked.problems)
    assert ("several.yaml:18:13: network.pod_cidr: 10.0.128.0/17 lies inside network.node_cidr 10.0.0.0/16 "
            "(line 17)") in messages
    assert ("several.yaml:22:27: network.load_balancers[0].address: 10.0.50.50 (load balancer gw) is already used "
            "by the control-plane VIP at network.control_plane_vip (line 20)") in messages
    assert "nodes[1].address: 10.1.0.1 (node cp-2) is outside network.node_cidr 10.0.0.0/16" in messages
    assert "several.yaml:26:5: nodes[2].address: required key 'address' is missing from nodes[2]" in messages


def test_rules_skip_what_did_not_parse_but_still_use_what_did():
    text = check_text(SEVERAL_ERRORS).problems
    codes = [p.code for p in text]
    # a role did not parse, so counting control planes (no-control-plane, etcd quorum) would guess
    assert "no-control-plane" not in codes and "even-control-planes" not in codes
    # the node with the bad role still has an address, and the rules checked it
    assert "address-outside-node-cidr" in codes


def test_a_network_with_host_bits_is_reported_once_not_for_every_address():
    broken = REQUIRED_ONLY.replace("node_cidr: 10.0.0.0/16", "node_cidr: 10.0.0.1/16")

    errors = check_text(broken).errors

    assert [p.code for p in errors] == ["cidr-host-bits"]


def test_wrong_types_say_what_was_expected_and_found():
    broken = REQUIRED_ONLY.replace("rook_ceph: v1.18.3", "rook_ceph: 1.16").replace(
        "  - {name: cp-1, role: control-plane, address: 10.0.10.11}", "  - cp-1"
    )

    messages = [str(p) for p in check_text(broken).errors]

    assert messages == [
        "cluster.yaml:3:24: versions.rook_ceph: expected a string, found a number (1.16) (quote it)",
        "cluster.yaml:13:5: nodes[0]: expected a mapping with the keys name, role, address, found the string 'cp-1'",
    ]


def test_unknown_key_without_a_close_match_lists_the_valid_keys():
    broken = REQUIRED_ONLY.replace("  pod_cidr: 10.42.0.0/16\n", "  pod_cidr: 10.42.0.0/16\n  zebra: 1\n")

    [problem] = check_text(broken).errors

    assert problem.message == (
        "unknown key 'zebra' in network "
        "(valid keys: node_cidr, pod_cidr, service_cidr, control_plane_vip, load_balancers, gateway, nameservers)"
    )
    assert (problem.line, problem.column) == (8, 3)


def test_missing_top_level_section_points_at_the_top_mapping():
    talos_line = f"talos:     {{installer: factory.talos.dev/installer, schematic_id: {SCHEMATIC}}}\n"
    broken = REQUIRED_ONLY.replace(talos_line, "")

    [problem] = check_text(broken).errors

    assert str(problem) == (
        "cluster.yaml:1:1: talos: required key 'talos' is missing (Where the Talos installer image comes from)"
    )


def test_load_cluster_raises_with_every_error_and_no_warning(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text(SEVERAL_ERRORS)

    with pytest.raises(ClusterInvalid) as raised:
        load_cluster(path)

    problems = raised.value.problems
    assert len(problems) == 10
    assert all(p.severity == "error" for p in problems)
    assert str(raised.value).splitlines()[0] == f"{path}:2:9: cluster.name: 'Home_Ops' is not a DNS-1123 label " \
        "(lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)"


def test_warnings_do_not_stop_load_cluster():
    cluster = load_cluster(FIXTURES / "even-control-planes" / "invalid.yaml")

    assert len(cluster.control_planes) == 2


def test_messages_name_the_file_as_given(cluster_file: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(cluster_file.parent)
    cluster_file.write_text(cluster_file.read_text().replace("pod_cidr: 10.42.0.0/16", "pod_cidr: 10.42.0.1/16"))

    with pytest.raises(ClusterInvalid) as raised:
        load_cluster("cluster.yaml")

    assert str(raised.value) == (
        "cluster.yaml:47:13: network.pod_cidr: '10.42.0.1/16' has host bits set (did you mean 10.42.0.0/16?)"
    )


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path: Path):
    checked = check_cluster(tmp_path / "nope.yaml")

    assert [str(p) for p in checked.problems] == [
        f"{tmp_path / 'nope.yaml'}:1:1: (top level): cannot read the file: No such file or directory"
    ]


def test_a_directory_is_a_problem_not_a_traceback(tmp_path: Path):
    [problem] = check_cluster(tmp_path).problems

    assert str(problem) == f"{tmp_path}:1:1: (top level): cannot read the file: it is a directory, not a regular file"


def test_the_real_cluster_yaml_has_only_the_etcd_warning(repo_root: Path):
    checked = check_cluster(repo_root / "cluster.yaml")

    assert checked.errors == ()
    assert [p.code for p in checked.warnings] == ["even-control-planes"]
    assert "etcd needs a quorum of 2 of 2 members" in checked.warnings[0].message


def test_an_implausible_osd_count_is_reported_instead_of_built():
    # An extra zero or a pasted serial number must not make the twin build millions of OSDs.
    text = REQUIRED_ONLY.replace("address: 10.0.10.11}", "address: 10.0.10.11, osds: 99999999999999999999}")

    [problem] = check_text(text).errors

    assert str(problem) == "cluster.yaml:13:66: nodes[0].osds: must be 64 or less, found an integer (99999999999999999999)"
