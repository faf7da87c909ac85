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


def _pattern(template: str) -> str:
    """A Go format string as a regular expression: each verb matches any text."""
    import re

    return ".*".join(re.escape(part) for part in re.split(r"%[vsqd]", template))


def test_talosctl_upgrade_prints_its_progress_as_talosctl_does_off_a_terminal(make_twin):
    import re

    twin = make_twin("reboot_seconds: 10\n")  # 2.5 s of it unreachable
    address = "10.0.10.21"

    done = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"))

    line_format, *messages = upstream("talosctl-tracker-lines.txt").splitlines()
    assert line_format == "%q: %v"
    lines = done.stderr.splitlines()
    prefix = f'"{address}": '
    assert lines and all(line.startswith(prefix) for line in lines), done.stderr
    for line in lines:
        assert any(re.fullmatch(_pattern(m), line[len(prefix):]) for m in messages), line
    # Over the reboot: every stage, and a retry at least once a second while the node cannot be reached.
    said = [line[len(prefix):] for line in lines]
    assert said.count("unavailable, retrying...") >= 2, done.stderr
    assert [m.split(" ready:")[0] for m in said if m.startswith("stage: ")] == ["stage: REBOOTING", "stage: BOOTING"]
    assert said[-1] == "post check passed"


def test_a_drain_prints_each_eviction_as_kubectl_does(twin):
    import re

    done = twin.kubectl("drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data")

    evicting = [line for line in done.stdout.splitlines() if line.startswith("evicting ")]
    assert evicting, done.stdout
    assert all(re.fullmatch(_pattern(upstream("kubectl-drain-evicting.txt")), line) for line in evicting)
    assert any(line.startswith("evicting pod rook-ceph/rook-ceph-osd-") for line in evicting)
    evicted = {line.split()[0] for line in done.stdout.splitlines() if line.endswith(" evicted")}
    assert evicted == {"pod/" + line.split("/")[-1] for line in evicting}
