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


def twin_now(drill) -> dict:
    from homeops.twin import cluster

    return cluster.observe(str(drill.twin))[0]


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
        live["flux"]["lagging"] = ["Kustomization/cilium"]
    result = drill.run("cluster-health")
    assert result.code == 1
    assert result.checks["Flux Ready"] == ("FAIL", (
        "Kustomization flux-system/cilium is in progress: generation 2 not yet observed (observedGeneration 1)"))


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


def test_a_forced_upgrade_of_a_two_member_etcd_rides_out_the_api_outage_it_causes(make_drill):
    """While either member reboots etcd has no quorum and kubectl is refused; the runbook waits it out."""
    drill = make_drill({"talos_version": "v1.11.0", "reboot_seconds": 1.0})
    before = {n["name"]: n["boot_id"] for n in twin_state(drill)["nodes"]}
    result = drill.run("control-plane-upgrade", "accept_two_member_etcd_risk=true", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: control-plane-upgrade (apply)")
    refusals = (drill.twin / "api-refusals.log").read_text().splitlines()
    assert refusals, "the Kubernetes API never went away: the drill proved nothing"
    assert all(" kubectl " in line for line in refusals)
    after = {n["name"]: n for n in twin_state(drill)["nodes"]}
    for name in ("cp-1", "cp-2"):
        assert after[name]["talos_version"] == "v1.11.1"
        assert after[name]["boot_id"] != before[name] and after[name]["boots"] == 1
        assert not after[name]["unschedulable"]
    assert all(after[w]["boots"] == 0 for w in ("worker-1", "worker-2", "worker-3"))


def test_the_twin_refuses_kubectl_while_a_two_member_etcd_has_a_member_down(make_drill):
    drill = make_drill({"talos_version": "v1.11.0", "faults": [{"fault": "never-ready", "node": "cp-1"}]})
    image = drill.installer_image("v1.11.1")
    upgrade = drill.tool("talosctl", "-n", "10.0.10.11", "upgrade", "-i", image, "--force", "--wait=false")
    assert upgrade.returncode == 0, upgrade.stderr
    refused = drill.tool("kubectl", "get", "nodes", "-o", "json", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("The connection to the server 10.0.50.50:6443 was refused - did you specify the "
                                      "right host or port?")


def test_an_interrupted_worker_upgrade_is_finished_by_a_plain_re_run(make_drill):
    """SIGINT mid-upgrade (through `homeops run`), then the same command again: every worker on the
    target, schedulable, booted once, no Ceph flag; read from the twin's state file."""
    import time

    from tests.runbooks.interrupts import interrupt

    drill = make_drill({"talos_version": "v1.11.0", "reboot_seconds": 1.0})
    run = drill.start("worker-upgrade", apply=True)

    def first_worker_going_down() -> None:
        for _ in range(1200):  # a bounded loop, not a timed assertion
            if any(n["reboot"] for n in twin_state(drill)["nodes"]) or run.poll() is not None:
                break
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before it could be interrupted"

    out, err = interrupt(run, when=first_worker_going_down)
    assert run.returncode != 0, out + err
    left = [n for n in twin_state(drill)["nodes"] if n["unschedulable"]]
    assert [n["name"] for n in left] == ["worker-1"], out + err

    again = drill.run("worker-upgrade", apply=True)
    assert again.code == 0, again.stdout + again.stderr
    assert "left by an earlier run of worker-upgrade on worker-1" in again.stdout
    final = twin_now(drill)
    workers = [n for n in final["nodes"] if n["role"] == "worker"]
    assert [(n["talos_version"], n["unschedulable"], n["boots"]) for n in workers] == [("v1.11.1", False, 1)] * 3
    assert final["ceph"]["flags"] == [] and final["ceph"]["group_flags"] == {}
