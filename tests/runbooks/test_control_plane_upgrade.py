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
