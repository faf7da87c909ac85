"""Drills of cluster-shutdown and cluster-startup: shutdown leaves every node off, Ceph's flags set, Flux
suspended and the Rook operator at 0; after the power comes back startup brings every node Ready, Flux as it
was before the shutdown (a HelmRelease suspended before stays suspended), no Ceph flag, the operator back and
HEALTH_OK. Without a shutdown record startup works from what it sees; a node that never boots or an OSD that
stays down stops it naming what it left, on purpose (flags set, Flux suspended).

The twin's state is read from its directory (twin_state.py, and the few keys below), not through the
runbooks' parsers."""

from __future__ import annotations

import json

import pytest

from homeops.procedures.power_state import from_notebook

pytestmark = pytest.mark.slow

FAST = {"reboot_seconds": 0.3}
FLAGS = {"noout", "norebalance", "nobackfill"}
KEPT = "HelmRelease cert-manager/cert-manager"  # suspended by someone before the shutdown
WORKERS = "talosctl -n 10.0.10.21,10.0.10.22,10.0.10.23 shutdown --force --timeout 3s"
CONTROL_PLANES = ["talosctl -n 10.0.10.11 -e 10.0.10.11 shutdown --force --timeout 3s",
                  "talosctl -n 10.0.10.12 -e 10.0.10.12 shutdown --force --timeout 3s"]


def raw(drill) -> dict:
    drill.state()  # the controllers catch up and save
    return json.loads((drill.twin / "state.json").read_text())


def operator_replicas(drill) -> int:
    """`deployments["rook-ceph/rook-ceph-operator"].replicas`; absent: the built cluster's 1."""
    stored = (raw(drill).get("deployments") or {}).get("rook-ceph/rook-ceph-operator", {})
    return stored.get("replicas", 1)


def suspended(drill) -> set[str]:
    """Every Flux object with spec.suspend: Kustomizations (`flux.kustomizations[NAME].suspend`) and
    HelmReleases (`flux.releases["NS/NAME"].suspend`), named as the runbooks' record names them."""
    state = raw(drill)
    found = {f"Kustomization flux-system/{name}" for name, record in state["flux"].get("kustomizations", {}).items()
             if record.get("suspend")}
    return found | {f"HelmRelease {key}" for key, record in state["flux"].get("releases", {}).items()
                    if record.get("suspend")}


def every_flux_object(drill) -> set[str]:
    rendered = raw(drill)["rendered"]
    return ({f"Kustomization flux-system/{k['name']}" for k in rendered["kustomizations"]}
            | {f"HelmRelease {r['namespace']}/{r['name']}" for r in rendered["helmreleases"]})


def records(drill, runbook: str) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(drill.records.glob(f"*-{runbook}*.ipynb"))]


def shut_down_with_a_release_suspended_before(drill):
    drill.tool("flux", "suspend", "helmrelease", "cert-manager", "-n", "cert-manager")
    result = drill.run("cluster-shutdown", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    return result


def power_on(drill, *names: str) -> None:
    done = drill.homeops("twin", "power-on", str(drill.twin), *(names or ("all",)))
    assert done.code == 0, done.stdout + done.stderr


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
    assert f"flux suspend helmrelease cert-manager -n cert-manager" not in changes
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
