"""Where a node's OSDs are (osd_placement) and how often a wait looks (waits.pauses)."""

from __future__ import annotations

import itertools
import json

import pytest

from homeops.errors import RunbookStopped
from homeops.procedures import osd_placement
from homeops.procedures.waits import pauses
from homeops.tools import process
from homeops.tools.process import Completed, ToolError

TREE = {"nodes": [
    {"id": -1, "name": "default", "type": "root", "children": [-10]},
    {"id": -10, "name": "rack-a", "type": "rack", "children": [-2, -3]},
    {"id": -2, "name": "worker-1-home-arpa", "type": "host", "children": [0, 3]},
    {"id": -3, "name": "pvc-set-1-data-0abc", "type": "host", "children": [1]},
]}


def pod(osd: int, node: str | None, selector: str, host: str) -> dict:
    spec = {"nodeSelector": {"kubernetes.io/hostname": selector}}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"labels": {"app": "rook-ceph-osd", "ceph-osd-id": str(osd), "topology-location-host": host}},
            "spec": spec}


@pytest.fixture
def cluster_says(monkeypatch):
    answers = {}

    def run(argv, *, timeout, input=None, check=True):
        argv = [str(a) for a in argv]
        key = "pods" if "pods" in argv else "tree" if "tree" in argv else None
        answer = answers.get(key)
        if isinstance(answer, ToolError) or answer is None:
            raise answer or ToolError(argv, 97, "unexpected")
        return Completed(tuple(argv), 0, json.dumps(answer), "")

    monkeypatch.setattr(process, "run", run)
    return answers


def test_pods_say_where_osds_run_whatever_the_crush_host_is_called(cluster_says):
    cluster_says["tree"] = TREE
    cluster_says["pods"] = {"items": [pod(0, "worker-1", "worker-1", "worker-1-home-arpa"),
                                      pod(3, None, "worker-1", "worker-1-home-arpa"),  # evicted: Pending
                                      pod(1, "worker-2", "worker-2", "pvc-set-1-data-0abc")]}
    found = osd_placement.placement("worker-1")
    assert (found.osds, found.crush_hosts) == ((0, 3), ("worker-1-home-arpa",))
    assert osd_placement.placement("worker-2").crush_hosts == ("pvc-set-1-data-0abc",)
    assert osd_placement.placement("cp-1").osds == ()


def test_without_pods_a_name_that_matches_no_crush_host_stops_instead_of_meaning_no_osd(cluster_says):
    cluster_says["tree"] = TREE
    cluster_says["pods"] = ToolError(["kubectl"], 1, 'Error from server (Forbidden): pods is forbidden')
    with pytest.raises(RunbookStopped) as stopped:
        osd_placement.placement("worker-1")
    assert str(stopped.value).startswith("worker-1: cannot tell which Ceph OSDs run there: the rook-ceph-osd pods "
                                         "cannot be read (")
    assert "no CRUSH host is named worker-1 (hosts: pvc-set-1-data-0abc, worker-1-home-arpa); nothing changed" in str(
        stopped.value)


def test_rooks_crush_name_turns_dots_into_dashes():
    assert osd_placement.crush_name("worker-1.home.arpa") == "worker-1-home-arpa"


def test_a_wait_looks_soon_then_backs_off_to_the_poll_interval():
    assert list(itertools.islice(pauses(10.0), 4)) == pytest.approx([0.1, 0.15, 0.225, 0.3375])
    assert max(itertools.islice(pauses(10.0), 40)) == 10.0
    assert list(itertools.islice(pauses(0.05), 3)) == [0.05, 0.05, 0.05]
