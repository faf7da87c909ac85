"""Independent read-only checks run at once (`checks.at_once`), and their results keep their order."""

from __future__ import annotations

import threading

import pytest

from homeops import load_cluster
from homeops.procedures import preflight
from homeops.procedures.checks import at_once
from homeops.tools import process
from homeops.tools.process import Completed, ToolError

WAIT = 10  # seconds a read waits for another; only a broken at_once (reads one after another) ever waits that long


@pytest.fixture
def cluster_model(cluster_file):
    return load_cluster(cluster_file)


def test_reads_run_at_the_same_time_and_results_keep_the_order_given():
    second_ran = threading.Event()

    def first() -> str:
        # Finishes only after the second read has run: read one after another, it would not.
        assert second_ran.wait(WAIT), "the second read did not run while the first was still running"
        return "first"

    def second() -> str:
        second_ran.set()
        return "second"

    assert at_once(first, second) == ["first", "second"]


def test_a_failing_read_raises_after_every_read_finished_and_the_first_failure_in_order_wins():
    finished = []
    release = threading.Event()

    def slow_failure() -> str:
        release.wait(WAIT)
        finished.append("slow")
        raise ValueError("first in order")

    def quick_failure() -> str:
        finished.append("quick")
        release.set()
        raise KeyError("second in order")

    def fine() -> str:
        finished.append("fine")
        return "ok"

    with pytest.raises(ValueError, match="first in order"):
        at_once(slow_failure, quick_failure, fine)
    assert sorted(finished) == ["fine", "quick", "slow"]


def test_one_read_runs_in_the_calling_thread():
    assert at_once(threading.current_thread) == [threading.current_thread()]
    assert at_once() == []


def test_cluster_health_reports_in_its_documented_order_with_a_failing_member(monkeypatch, cluster_model):
    """Read at once, reported in one fixed order; a member that does not answer is named, not a crash."""
    first = cluster_model.control_planes[0].address
    members = "NODE\tID\tHOSTNAME\tPEER URLS\tCLIENT URLS\tLEARNER\n" + "".join(
        f"{first}\t{i:016x}\t{cp.name}\thttps://{cp.address}:2380\thttps://{cp.address}:2379\tfalse\n"
        for i, cp in enumerate(cluster_model.control_planes))
    status = ("NODE\tMEMBER\tDB SIZE\tIN USE\tLEADER\tRAFT INDEX\tRAFT TERM\tRAFT APPLIED INDEX\tLEARNER\t"
              "PROTOCOL\tSTORAGE\tERRORS\n{address}\taa\t17 MB\t4 MB (25%)\taa\t10\t2\t10\tfalse\t3.6.0\t3.6.0\t\n")
    unreachable = str(cluster_model.control_planes[-1].address)
    calls = []

    def fake_run(argv, *, timeout, input=None, check=True):
        argv = [str(a) for a in argv]
        calls.append(argv)
        if argv[0] == "talosctl" and argv[3:] == ["etcd", "members"]:
            return Completed(tuple(argv), 0, members, "")
        if argv[0] == "talosctl" and argv[3:] == ["etcd", "status"]:
            if argv[2] == unreachable:
                raise ToolError(argv, 1, f"error getting status: {unreachable}: connection refused\n")
            return Completed(tuple(argv), 0, status.format(address=argv[2]), "")
        raise ToolError(argv, 1, "The connection to the server 10.0.50.50:6443 was refused\n")

    monkeypatch.setattr(process, "run", fake_run)
    results = preflight.cluster_health(cluster_model)
    assert [r.check for r in results] == [
        "nodes Ready", "etcd members", "etcd health", "etcd fault tolerance", "Ceph health", "Flux Ready",
        "load balancers", "talosctl client", "chart versions",
    ]
    by_check = {r.check: r for r in results}
    assert by_check["etcd members"].status == "ok"
    assert by_check["etcd health"].detail == (
        f"{cluster_model.control_planes[-1].name}: `talosctl -n {unreachable} etcd status` exited 1: "
        f"error getting status: {unreachable}: connection refused"
    )
    assert "10.0.50.50:6443 was refused" in by_check["nodes Ready"].detail
    assert by_check["talosctl client"].status == "warn"
    # Every read was made once: kubectl nodes, members, a status per member, ceph x2, flux x2, services,
    # the talosctl client's version and the HelmReleases' running chart versions.
    assert len(calls) == 1 + 1 + len(cluster_model.control_planes) + 2 + 2 + 1 + 1 + 1
