"""Drills of cluster-shutdown: every node off, Ceph's flags set, Flux suspended (what was suspended before
remembered), the Rook operator at 0, the Lease released before the control planes; the record holds what
cluster-startup needs; and, after the power comes back, cluster-startup undoes exactly that. A plan of either
changes nothing."""

from __future__ import annotations

import pytest

from homeops.procedures.power_state import from_notebook

from tests.runbooks.power_drills import (CONTROL_PLANES, FAST, FLAGS, KEPT, WORKERS, every_flux_object,
                                         operator_replicas, power_on, raw, records,
                                         shut_down_with_a_release_suspended_before, suspended)

pytestmark = pytest.mark.slow

def test_shutdown_then_startup_brings_the_cluster_back_as_it_was(make_drill):
    drill = make_drill(FAST)
    everything = every_flux_object(drill)
    result = shut_down_with_a_release_suspended_before(drill)

    after = drill.state()
    assert all(not n.is_ready for n in after.nodes.values())
    assert all(n.get("off") for n in raw(drill)["nodes"])
    assert after.ceph_flags.maintenance_flags == FLAGS
    assert suspended(drill) == everything
    assert operator_replicas(drill) == 0
    assert after.leases == {}  # released before the control planes went down
    changes = result.changes
    assert changes.index("kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd set noout") > max(
        i for i, c in enumerate(changes) if c.startswith("flux suspend"))
    assert changes[-4:] == ["kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=0", WORKERS,
                            *CONTROL_PLANES]
    assert "flux suspend helmrelease cert-manager -n cert-manager" not in changes
    (shutdown,) = records(drill, "cluster-shutdown")
    assert shutdown["metadata"]["homeops"]["outcome"] == "completed"
    block = from_notebook(shutdown)
    assert block.already_suspended == [KEPT]
    assert set(block.suspended) == everything - {KEPT}
    assert block.flags_set == ["noout", "norebalance", "nobackfill"] and block.flags_before == []
    assert block.operator_replicas == 1
    assert block.shut_down == ["worker-1", "worker-2", "worker-3", "cp-1", "cp-2"]
    assert block.lock.startswith("released before the control planes went down")

    power_on(drill)
    started = drill.run("cluster-startup", apply=True)
    assert started.code == 0, started.stdout + started.stderr
    back = drill.state()
    assert all(n.is_ready and not n.unschedulable for n in back.nodes.values())
    assert back.ceph_flags.maintenance_flags == frozenset() and back.ceph_flags.host_flags == {}
    assert back.ceph.health == "HEALTH_OK"
    assert operator_replicas(drill) == 1
    assert suspended(drill) == {KEPT}  # Flux as before the shutdown
    assert back.leases == {}
    assert not any(c.startswith("flux resume helmrelease cert-manager ") for c in started.changes)
    assert started.checks["Flux Ready"] == ("warn", f"suspended before cluster-shutdown and left so: {KEPT}")
    (startup,) = records(drill, "cluster-startup")
    assert startup["metadata"]["homeops"]["outcome"] == "completed"
    assert "undoing " in started.stdout and "cluster-shutdown completed" in started.stdout


def test_plans_change_nothing(make_drill):
    drill = make_drill(FAST)
    before = drill.state()
    result = drill.run("cluster-shutdown")
    assert result.code == 0, result.stdout + result.stderr
    assert WORKERS in result.changes and result.changes[-2:] == CONTROL_PLANES
    assert "PLAN: would release the maintenance lock before the control planes go down" in result.stdout
    assert drill.state() == before and operator_replicas(drill) == 1
    planned = drill.run("cluster-startup")
    assert planned.code == 0, planned.stdout + planned.stderr
    assert drill.state() == before


def test_a_node_already_off_is_said_and_left_out_of_the_shutdown(make_drill):
    drill = make_drill(FAST)
    drill.tool("talosctl", "-n", "10.0.10.23", "shutdown", "--force")  # the power cut reached it first
    result = drill.run("cluster-shutdown", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "worker-3 is already off (its Talos API does not answer:" in result.stdout
    assert "talosctl -n 10.0.10.21,10.0.10.22 shutdown --force --timeout 3s" in result.changes
    assert all(n.get("off") for n in raw(drill)["nodes"])
    (shutdown,) = records(drill, "cluster-shutdown")
    assert from_notebook(shutdown).shut_down == ["worker-1", "worker-2", "cp-1", "cp-2"]
    power_on(drill, "worker-3", "worker-2", "worker-1", "cp-1", "cp-2")
    started = drill.run("cluster-startup", apply=True)
    assert started.code == 0, started.stdout + started.stderr
    assert drill.state().ceph.health == "HEALTH_OK" and operator_replicas(drill) == 1
