"""`kubectl drain`: the flags it needs, PDB refusals until the global timeout, and success."""

from __future__ import annotations

DRAIN = ["--ignore-daemonsets", "--delete-emptydir-data", "--timeout=600s"]


def test_drain_evicts_the_pods_and_leaves_the_node_cordoned(twin):
    done = twin.kubectl("drain", "worker-1", *DRAIN)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "node/worker-1 cordoned"
    assert any(line.startswith("evicting pod rook-ceph/rook-ceph-osd-0-") for line in lines)
    assert lines[-1] == "node/worker-1 drained"
    assert done.stderr.startswith("Warning: ignoring DaemonSet-managed Pods: kube-system/cilium-")
    assert twin.node("worker-1")["spec"]["unschedulable"] is True


def test_drain_without_the_flags_fails_naming_them(twin):
    daemonsets = twin.kubectl("drain", "worker-1", "--delete-emptydir-data", "--timeout=600s")
    assert daemonsets.returncode == 1
    assert "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)" in daemonsets.stderr
    assert "--delete-emptydir-data to override" not in daemonsets.stderr
    local = twin.kubectl("drain", "worker-2", "--ignore-daemonsets", "--timeout", "600s")
    assert local.returncode == 1
    assert "cannot delete Pods with local storage (use --delete-emptydir-data to override)" in local.stderr
    assert local.stderr.splitlines()[0].startswith('error: unable to drain node "worker-2" due to error:')


def test_a_disruption_budget_refuses_every_eviction_until_the_global_timeout(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: drain-blocked, node: worker-1}]\n")
    done = twin.kubectl("drain", "worker-1", *DRAIN)
    assert done.returncode == 1
    refusals = [line for line in done.stderr.splitlines() if line.startswith("error when evicting pods/")]
    assert refusals, done.stderr
    assert all(
        line.endswith("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.")
        for line in refusals
    )
    assert '-n "rook-ceph"' in done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: error when evicting pods/")
    assert done.stderr.splitlines()[-1].endswith("global timeout reached: 10m0s")
    assert "node/worker-1 drained" not in done.stdout
    other = twin.kubectl("drain", "worker-2", *DRAIN)
    assert other.returncode == 0, other.stderr


def test_drain_of_an_unknown_node_is_not_found(twin):
    done = twin.kubectl("drain", "nope", *DRAIN)
    assert (done.returncode, done.stderr.strip()) == (1, 'Error from server (NotFound): nodes "nope" not found')
