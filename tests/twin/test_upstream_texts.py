"""The twin's messages against the upstream texts in tests/twin/upstream/ (sources in INDEX.md)."""

from __future__ import annotations

import json
from pathlib import Path

UPSTREAM = Path(__file__).parent / "upstream"


def upstream(name: str) -> str:
    return (UPSTREAM / name).read_text().rstrip("\n")


def test_a_two_member_etcd_refusal_is_worded_as_talos_words_it(twin, cluster):
    address = str(cluster.control_planes[0].address)

    refused = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"))

    assert refused.returncode == 1
    assert f"rpc error: code = FailedPrecondition desc = {upstream('talos-etcd-two-members.txt')}\n" in refused.stderr


def test_a_monitor_out_of_quorum_is_worded_as_ceph_words_it_and_leaves_the_pgs_clean(make_twin):
    twin = make_twin("faults:\n  - {fault: mon-down}\n")

    status = json.loads(twin.kubectl("-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--",
                                     "ceph", "status", "-f", "json").stdout)

    assert status["health"]["status"] == "HEALTH_WARN"
    assert status["health"]["checks"]["MON_DOWN"]["summary"]["message"] == upstream("ceph-mon-down.txt")
    assert status["quorum_names"] == ["a", "b"]
    assert [s["state_name"] for s in status["pgmap"]["pgs_by_state"]] == ["active+clean"]
