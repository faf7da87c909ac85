"""Drills of cluster-startup: without a shutdown record it works from what it sees (the shutdown's flags
cleared, suspended Flux objects listed, resumed only when asked); a node that never boots or an OSD that stays
down stops it naming what it left, on purpose (flags set, Flux suspended). The full cycle with a shutdown
record is drilled in test_cluster_shutdown.py."""

from __future__ import annotations

import pytest

from tests.runbooks.power_drills import (FAST, FLAGS, every_flux_object, operator_replicas, power_on, records,
                                         shut_down_with_a_release_suspended_before, suspended)

pytestmark = pytest.mark.slow

def test_startup_without_a_shutdown_record_works_from_what_it_sees(make_drill):
    drill = make_drill(FAST)
    drill.tool("flux", "suspend", "kustomization", "cloudflared")
    drill.tool("kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "set", "noout")
    drill.tool("kubectl", "-n", "rook-ceph", "scale", "deployment", "rook-ceph-operator", "--replicas=0")
    drill.tool("talosctl", "-n", "10.0.10.21,10.0.10.22,10.0.10.23,10.0.10.11,10.0.10.12", "shutdown", "--force")
    power_on(drill, "cp-2", "cp-1", "worker-3", "worker-2", "worker-1")

    result = drill.run("cluster-startup", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "no cluster-shutdown record to undo" in result.stdout
    after = drill.state()
    assert after.ceph_flags.maintenance_flags == frozenset()
    assert operator_replicas(drill) == 1  # the chart's one replica, said so
    assert suspended(drill) == {"Kustomization flux-system/cloudflared"}  # listed, not resumed
    assert "Flux: suspended now, left so: Kustomization flux-system/cloudflared" in result.stdout
    assert not any(c.startswith("flux resume") for c in result.changes)

    again = drill.run("cluster-startup", "resume_flux=True", apply=True)
    assert again.code == 0, again.stdout + again.stderr
    assert again.changes == ["flux resume kustomization cloudflared -n flux-system --timeout 3s"]
    assert suspended(drill) == set()


def test_a_node_that_never_boots_stops_startup_with_flags_set_and_flux_suspended(make_drill):
    drill = make_drill({**FAST, "faults": [{"fault": "never-ready", "node": "worker-2"}]})
    everything = every_flux_object(drill)
    shut_down_with_a_release_suspended_before(drill)
    power_on(drill)
    result = drill.run("cluster-startup", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert "cluster-startup: stopped at step 'wait for every node Ready'" in result.last_line
    assert "worker-2 not Ready" in result.last_line
    assert "Ceph flags still set: noout, norebalance, nobackfill" in result.last_line
    assert "Flux still suspended: Kustomization flux-system/flux-system" in result.last_line
    after = drill.state()
    assert after.ceph_flags.maintenance_flags == FLAGS
    assert suspended(drill) == everything
    assert operator_replicas(drill) == 0  # nothing changed before the nodes were all back
    (startup,) = records(drill, "cluster-startup")
    assert startup["metadata"]["homeops"]["outcome"] == "stopped"


def test_an_osd_that_stays_down_stops_startup_before_the_flags_are_cleared(make_drill):
    drill = make_drill({**FAST, "faults": [{"fault": "ceph-degraded", "node": "worker-1"}]})
    everything = every_flux_object(drill)
    result = shut_down_with_a_release_suspended_before(drill)
    assert "degraded before shutdown (recorded; the shutdown goes on): Ceph health: HEALTH_WARN" in result.stdout
    power_on(drill)
    started = drill.run("cluster-startup", apply=True)
    assert started.code == 1, started.stdout + started.stderr
    assert "stopped at step 'wait for every OSD up and clean PGs'" in started.last_line
    assert "1 of 3 OSDs down" in started.last_line
    assert "Ceph flags still set: noout, norebalance, nobackfill (on purpose" in started.last_line
    assert "the Rook operator scaled back to 1" in started.last_line
    assert drill.state().ceph_flags.maintenance_flags == FLAGS
    assert suspended(drill) == everything
    assert operator_replicas(drill) == 1
