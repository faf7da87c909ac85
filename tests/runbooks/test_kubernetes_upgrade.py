"""Drills of runbooks/kubernetes-upgrade.ipynb: the path checks, the dry run in plan mode, every kubelet moved."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def kubelets(drill) -> dict[str, str]:
    return {name: n.kubelet_version for name, n in drill.nodes().items()}


def test_plan_shows_the_dry_run_and_changes_nothing(make_drill):
    drill = make_drill({"kubernetes_version": "v1.34.0", "reboot_seconds": 0.3})
    result = drill.run("kubernetes-upgrade")
    assert result.code == 0, result.stdout + result.stderr
    assert result.changes == ["talosctl -n 10.0.10.11 upgrade-k8s --to 1.34.1"]
    assert "would upgrade Kubernetes to v1.34.1" in result.stdout
    assert set(kubelets(drill).values()) == {"v1.34.0"}


def test_apply_moves_every_kubelet(make_drill):
    drill = make_drill({"kubernetes_version": "v1.34.0", "reboot_seconds": 0.3})
    result = drill.run("kubernetes-upgrade", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "upgraded Kubernetes to v1.34.1: every kubelet runs v1.34.1" in result.stdout
    assert set(kubelets(drill).values()) == {"v1.34.1"}
    rerun = drill.run("kubernetes-upgrade", apply=True)
    assert rerun.code == 0 and rerun.changes == []
    assert "every kubelet already runs v1.34.1: nothing to do" in rerun.stdout


@pytest.mark.parametrize("start, params, refusal", [
    ("v1.32.3", (), "refused: 1.32 -> v1.34.1 jumps more than one minor version"),
    ("v1.34.0", ("to=v1.35.0",), "refused: Talos v1.11.1 on cp-1 supports Kubernetes 1.29 to 1.34, not v1.35.0"),
])
def test_an_unsupported_path_is_refused_before_anything_changes(make_drill, start, params, refusal):
    drill = make_drill({"kubernetes_version": start})
    result = drill.run("kubernetes-upgrade", *params, apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith(f"stopped: {refusal}")
    assert "nothing changed" in result.last_line
    assert result.changes == []
    assert set(kubelets(drill).values()) == {start}


def test_a_running_talos_newer_than_the_support_table_stops_the_check(make_drill):
    drill = make_drill({"talos_version": "v1.12.0", "kubernetes_version": "v1.34.0"})
    result = drill.run("kubernetes-upgrade", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert result.last_line.startswith("stopped: cannot check: Talos v1.12 is newer than the support table; "
                                       "update homeops/rules.py (running on cp-1); nothing changed")
    assert result.changes == []
    assert set(kubelets(drill).values()) == {"v1.34.0"}
