"""Drills of runbooks/control-plane-upgrade.ipynb: the two-member refusal, the accepted risk, and every fault
that stops it, with the next control-plane node never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runbooks.backup_files import AgeIdentity, plaintext_leaks

pytestmark = pytest.mark.slow

OLD, NEW = "v1.11.0", "v1.11.1"
CONTROL_PLANES = ["cp-1", "cp-2"]


def scenario(*faults: dict) -> dict:
    return {"talos_version": OLD, "reboot_seconds": 0.3, "faults": list(faults)}


@pytest.mark.parametrize("apply", [False, True])
def test_two_members_are_refused_by_default_with_the_reason(make_drill, apply):
    drill = make_drill(scenario())
    before = drill.snapshot()
    result = drill.run("control-plane-upgrade", apply=apply)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: refused: etcd has exactly 2 members")
    assert "-p accept_two_member_etcd_risk=True" in result.last_line
    assert result.changes == []
    assert drill.snapshot() == before


def test_with_the_risk_accepted_it_snapshots_then_upgrades_each_node_with_force(make_drill):
    age = AgeIdentity()
    drill = make_drill(scenario(), edit=age.edit)
    before = drill.snapshot()
    result = drill.run("control-plane-upgrade", "accept_two_member_etcd_risk=true", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: control-plane-upgrade (apply)")
    snapshot = [c for c in result.changes if " etcd snapshot " in c]
    upgrades = [c for c in result.changes if " upgrade -i " in c]
    assert len(snapshot) == 1 and result.changes.index(snapshot[0]) < result.changes.index(upgrades[0])
    assert [u.split()[2] for u in upgrades] == ["10.0.10.11", "10.0.10.12"]
    assert all(u.endswith("--force") for u in upgrades)
    # Through etcd-backup's code: encrypted into backups/ with every machine configuration, the plain
    # snapshot only ever in memory (gone now), nothing removed.
    assert snapshot[0].startswith("talosctl -n 10.0.10.11 etcd snapshot ") and not Path(snapshot[0].split()[-1]).exists()
    [backup] = (drill.twin / "backups").iterdir()
    assert json.loads(age.decrypt(backup / "etcd.snapshot.age"))["snapshot"] == "homeops-twin"
    assert age.decrypt(backup / "machineconfig-cp-2.yaml.age").startswith(b"node: 10.0.10.12\n")
    assert f"{backup / 'etcd.snapshot.age'} sha256 " in result.stdout
    assert plaintext_leaks([drill.directory], []) == []
    after = drill.snapshot()
    for name in CONTROL_PLANES:
        assert after[name][0] == NEW and after[name][2] != before[name][2] and not after[name][3]
    for name in ("worker-1", "worker-2", "worker-3"):
        assert after[name] == before[name]
    assert "waiting for etcd: every member healthy" in result.stdout


def test_plan_with_the_risk_accepted_shows_force_and_changes_nothing(make_drill):
    drill = make_drill(scenario())
    before = drill.snapshot()
    result = drill.run("control-plane-upgrade", "accept_two_member_etcd_risk=true")
    assert result.code == 0, result.stdout + result.stderr
    assert any(c.startswith("talosctl -n 10.0.10.11 etcd snapshot ") for c in result.changes)
    assert any(c.startswith("talosctl -n 10.0.10.12 upgrade -i ") and c.endswith("--force") for c in result.changes)
    assert drill.snapshot() == before
    assert not (drill.twin / "backups").exists()


def test_an_unhealthy_etcd_is_refused_even_with_the_risk_accepted(make_drill):
    drill = make_drill(scenario({"fault": "etcd-unhealthy"}))
    before = drill.snapshot()
    result = drill.run("control-plane-upgrade", "accept_two_member_etcd_risk=true", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert "failed before upgrading any control-plane node, nothing changed: etcd health: " in result.last_line
    assert result.changes == []
    assert drill.snapshot() == before


# The Talos upgrade path, checked for every chosen control-plane node in preflight: before the etcd
# snapshot and before the first node is touched.

@pytest.mark.parametrize("start, params, apply, refusal", [
    ({"talos_version": "v1.9.6", "kubernetes_version": "v1.32.3"}, (), True,
     "refused: cp-1, cp-2: Talos v1.9.6 -> v1.11.1 jumps more than one minor version: step through the latest patch "
     "of each minor, upgrade to the latest v1.10.x first; nothing changed"),
    ({"talos_version": "v1.9.6", "kubernetes_version": "v1.32.3"}, (), False,
     "refused: cp-1, cp-2: Talos v1.9.6 -> v1.11.1 jumps more than one minor version: step through the latest patch "
     "of each minor, upgrade to the latest v1.10.x first; nothing changed"),
    ({}, ("talos_version=v1.11.0",), False,
     "refused: cp-1, cp-2: Talos v1.11.1 -> v1.11.0 is a downgrade, which this runbook does not do; nothing changed"),
    ({"talos_version": "v1.10.7", "kubernetes_version": "v1.28.15"}, (), True,
     "refused: cp-1, cp-2: Talos v1.11.1 supports Kubernetes 1.29 to 1.34, not the kubelet v1.28.15 (now on Talos "
     "v1.10.7): upgrade Kubernetes first; nothing changed"),
], ids=["jump-apply", "jump-plan", "downgrade-plan", "kubelet-too-old-apply"])
def test_an_unsupported_talos_path_is_refused_before_any_node_is_touched(make_drill, start, params, apply, refusal):
    drill = make_drill({**start, "reboot_seconds": 0.3})
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("control-plane-upgrade", "accept_two_member_etcd_risk=true", *params, apply=apply)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith(f"stopped: {refusal} — record: ")
    assert result.changes == []
    assert not (drill.twin / "backups").exists()
    assert drill.snapshot() == before  # versions, kubelets, boot IDs and cordons
    assert drill.osd_dump() == flags_before


# Faults, with the two-member risk accepted. cp-1 goes first; cp-2 is the next node, which a stop
# must never touch. Control-plane nodes hold no OSD, so no noout group flag is ever expected.

RISK = "accept_two_member_etcd_risk=true"
WORKERS = ["worker-1", "worker-2", "worker-3"]


def assert_untouched(before: dict, after: dict, names) -> None:
    for name in names:
        assert after[name] == before[name], f"{name} changed: {before[name]} -> {after[name]}"


def test_a_control_plane_node_that_never_comes_back_stays_cordoned_and_cp_2_is_not_touched(make_drill):
    drill = make_drill(scenario({"fault": "never-ready", "node": "cp-1"}))
    before = drill.snapshot()
    result = drill.run("control-plane-upgrade", RISK, apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: cp-1: stopped at step 'talosctl upgrade': ")
    assert "(the node went down and did not come back: it stays out of service)" in result.last_line
    assert result.last_line.split(" — record:")[0].endswith("left in place: cp-1 cordoned")
    # With one of its 2 members gone etcd has no quorum: the Kubernetes API is dead, as it would be.
    # The final state is read from the twin's state file instead.
    from homeops.twin import cluster

    assert drill.tool("kubectl", "get", "nodes", "-o", "json", check=False).returncode == 1
    current, now = cluster.observe(str(drill.twin))
    after = {n["name"]: (n["talos_version"], n["kubelet_version"], n["boot_id"], n["unschedulable"])
             for n in current["nodes"]}
    assert after["cp-1"][3] is True
    cp_1 = next(n for n in current["nodes"] if n["name"] == "cp-1")
    assert cp_1["reboot"] is not None and cp_1["reboot"]["up_at"] is None  # down, never back
    assert_untouched(before, after, ["cp-2", *WORKERS])
    assert current["ceph"]["group_flags"] == {}
    assert not any("10.0.10.12" in c or "cp-2" in c for c in result.changes)


@pytest.mark.parametrize("fault, step, detail", [
    ("drain-blocked", "drain", "global timeout reached: 3s"),
    ("upgrade-error", "talosctl upgrade", "(the node did not reboot)"),
])
def test_a_control_plane_node_that_was_not_disrupted_is_given_back_and_cp_2_is_not_touched(
        make_drill, fault, step, detail):
    drill = make_drill(scenario({"fault": fault, "node": "cp-1"}))
    before = drill.snapshot()
    result = drill.run("control-plane-upgrade", RISK, apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith(f"stopped: cp-1: stopped at step '{step}': ")
    assert detail in result.last_line
    assert "undone: cp-1 uncordoned; left in place: nothing" in result.last_line
    assert drill.snapshot() == before  # versions, boot IDs, and cp-1 uncordoned again
    assert drill.osd_dump().host_flags == {}
    assert not any("10.0.10.12" in c or "cp-2" in c for c in result.changes)


@pytest.mark.parametrize("fault, gate", [
    ({"fault": "ceph-degraded"}, "Ceph health: HEALTH_WARN"),
    ({"fault": "flux-not-ready"}, "Flux Ready: Kustomization flux-system/flux-system Ready=False"),
], ids=["ceph-degraded", "flux-not-ready"])
def test_a_failing_preflight_gate_stops_before_the_snapshot(make_drill, fault, gate):
    drill = make_drill(scenario(fault))
    before, flags_before = drill.snapshot(), drill.osd_dump()
    result = drill.run("control-plane-upgrade", RISK, apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert "failed before upgrading any control-plane node, nothing changed: " in result.last_line
    assert gate in result.last_line
    assert result.checks[gate.split(":")[0]][0] == "FAIL"
    assert result.changes == []
    assert not (drill.twin / "backups").exists()
    assert drill.snapshot() == before
    assert drill.osd_dump() == flags_before


def test_an_unreachable_api_stops_before_any_control_plane_node_is_touched(make_drill):
    drill = make_drill(scenario({"fault": "api-unreachable"}))
    talos_before = drill.talos_view()
    plan = drill.run("control-plane-upgrade", RISK)
    assert plan.code == 1, plan.stdout + plan.stderr
    assert "failed before upgrading any control-plane node, nothing changed: " in plan.last_line
    assert "nodes Ready: `kubectl get nodes -o json" in plan.last_line
    applied = drill.run("control-plane-upgrade", RISK, apply=True)  # the lock needs the same dead API
    assert applied.code == 1, applied.stdout + applied.stderr
    assert applied.last_line.startswith("failed: cannot take the maintenance lock kube-system/homeops-maintenance")
    for run in (plan, applied):
        assert run.changes == []
    assert not (drill.twin / "backups").exists()
    assert drill.talos_view() == talos_before  # kubectl cannot answer: Talos says no node rebooted
    assert all(tag == OLD for tag, _ in talos_before.values())


def test_pgs_that_stay_unclean_after_cp_1_stop_the_run_before_cp_2(make_drill):
    drill = make_drill(scenario({"fault": "pgs-stuck"}))
    before = drill.snapshot()
    result = drill.run("control-plane-upgrade", RISK, apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: cp-1: stopped at step 'wait for PGs active+clean': ")
    after = drill.snapshot()
    assert after["cp-1"][0] == NEW and after["cp-1"][2] != before["cp-1"][2] and not after["cp-1"][3]
    assert_untouched(before, after, ["cp-2", *WORKERS])
    assert drill.osd_dump().host_flags == {}
    assert not any("10.0.10.12" in c or "cp-2" in c for c in result.changes)
