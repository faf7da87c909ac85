"""Drills of what real clusters do that a naive twin would not: snapshot trimming, Flux objects
that are Ready for an older generation, a cluster without the Rook toolbox, an older talosctl.

The twin's behaviour is switched on in its state file directly (the scenario file names faults;
these are facts of a healthy but different cluster), and the final state is read from that file.
"""

from __future__ import annotations

import json

import pytest

from homeops.twin import state

pytestmark = pytest.mark.slow


def twin_state(drill) -> dict:
    return json.loads((drill.twin / "state.json").read_text())


def test_pgs_trimming_snapshots_are_healthy_and_a_worker_upgrade_goes_through(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    with state.change(str(drill.twin)) as live:
        live["ceph"]["snaptrim"] = True
    health = drill.run("cluster-health")
    assert health.checks["Ceph PGs"][0] == "ok", health.stdout
    result = drill.run("worker-upgrade", "nodes=worker-1", "talos_version=v1.11.2", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    worker = next(n for n in twin_state(drill)["nodes"] if n["name"] == "worker-1")
    assert (worker["talos_version"], worker["unschedulable"], worker["boots"]) == ("v1.11.2", False, 1)
    assert twin_state(drill)["ceph"]["group_flags"] == {}


def test_a_kustomization_ready_for_an_older_generation_is_named_in_progress(make_drill):
    drill = make_drill({})
    with state.change(str(drill.twin)) as live:
        live["flux"]["lagging"] = ["Kustomization/cluster-apps"]
    result = drill.run("cluster-health")
    assert result.code == 1
    assert result.checks["Flux Ready"] == ("FAIL", (
        "Kustomization flux-system/cluster-apps is in progress: generation 2 not yet observed (observedGeneration 1)"))


def test_without_the_rook_toolbox_every_ceph_check_says_so_in_one_line(make_drill):
    drill = make_drill({})
    with state.change(str(drill.twin)) as live:
        live["rook"] = {"toolbox": False}
    before = drill.snapshot()
    result = drill.run("worker-upgrade", "nodes=worker-1", apply=True)
    assert result.code == 1
    assert ("Ceph health: the Rook toolbox is not deployed: enable toolbox.enabled in the rook-ceph-cluster values"
            in result.last_line)
    assert "Traceback" not in result.stdout + result.stderr
    assert drill.snapshot() == before


def test_an_older_talosctl_prints_fewer_etcd_columns_and_is_a_warning_not_a_stop(make_drill):
    drill = make_drill({})
    with state.change(str(drill.twin)) as live:
        live["client"] = {"talosctl": "v1.10.6"}
    result = drill.run("cluster-health")
    assert result.checks["etcd health"][0] == "ok", result.stdout
    assert result.checks["talosctl client"] == (
        "warn", "talosctl v1.10.6 is not of the cluster's Talos minor (v1.11.1): install talosctl 1.11.x")
