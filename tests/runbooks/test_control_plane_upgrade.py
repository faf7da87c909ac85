"""Drills of runbooks/control-plane-upgrade.ipynb: the two-member refusal, the accepted risk, etcd faults."""

from __future__ import annotations

import pytest

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
    drill = make_drill(scenario())
    before = drill.snapshot()
    result = drill.run("control-plane-upgrade", "accept_two_member_etcd_risk=true", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: control-plane-upgrade (apply)")
    snapshot = [c for c in result.changes if " etcd snapshot " in c]
    upgrades = [c for c in result.changes if " upgrade -i " in c]
    assert len(snapshot) == 1 and result.changes.index(snapshot[0]) < result.changes.index(upgrades[0])
    assert [u.split()[2] for u in upgrades] == ["10.0.10.11", "10.0.10.12"]
    assert all(u.endswith("--force") for u in upgrades)
    saved = snapshot[0].split()[-1]
    assert saved.startswith(str(drill.records)) and "etcd-" in saved
    from pathlib import Path
    assert Path(saved).is_file() and Path(saved).stat().st_size > 0
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
    assert not list(drill.records.glob("**/etcd-*.snapshot"))


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
    assert not list(drill.records.glob("**/etcd-*.snapshot"))
    assert drill.snapshot() == before  # versions, kubelets, boot IDs and cordons
    assert drill.osd_dump() == flags_before
