"""The render workflow's comment: which runbooks to run after a pull request moves Talos or Kubernetes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from homeops.upgrade_notice import MARKER, moves, notice

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "cluster.yaml").read_text()
TALOS, KUBERNETES = "talos: v1.11.1", "kubernetes: v1.34.1"


def bumped(text: str = BASE, **versions: str) -> str:
    for key, version in versions.items():
        line = {"talos": TALOS, "kubernetes": KUBERNETES}[key]
        assert line in text
        text = text.replace(line, f"{key}: {version}")
    return text


def commands(comment: str) -> list[str]:
    return [line for line in comment.splitlines() if line.startswith(".venv/bin/homeops run ")]


def test_a_talos_bump_asks_for_the_control_plane_then_the_workers_plan_first():
    comment = notice(moves(BASE, bumped(talos="v1.11.2")))
    assert comment.startswith(MARKER + "\n")
    assert "moves Talos Linux from `v1.11.1` to `v1.11.2`" in comment
    assert commands(comment) == [
        ".venv/bin/homeops run control-plane-upgrade -p talos_version=v1.11.2",
        ".venv/bin/homeops run control-plane-upgrade -p talos_version=v1.11.2 --apply",
        ".venv/bin/homeops run worker-upgrade -p talos_version=v1.11.2",
        ".venv/bin/homeops run worker-upgrade -p talos_version=v1.11.2 --apply",
    ]


def test_a_kubernetes_bump_asks_for_the_kubernetes_upgrade_to_that_version():
    comment = notice(moves(BASE, bumped(kubernetes="v1.35.0")))
    assert commands(comment) == [".venv/bin/homeops run kubernetes-upgrade -p to=v1.35.0",
                                 ".venv/bin/homeops run kubernetes-upgrade -p to=v1.35.0 --apply"]


def test_both_bumps_upgrade_talos_before_kubernetes():
    runbooks = [line.split()[2] for line in commands(notice(moves(BASE, bumped(talos="v1.12.0", kubernetes="v1.35.0"))))]
    assert runbooks == ["control-plane-upgrade"] * 2 + ["worker-upgrade"] * 2 + ["kubernetes-upgrade"] * 2


def test_other_version_bumps_and_unchanged_files_get_no_comment():
    assert notice(moves(BASE, BASE)) == ""
    assert notice(moves(BASE, BASE.replace("flux: v2.6.4", "flux: v2.7.0"))) == ""
    # A comment or a reordering that leaves the versions as they are says nothing either.
    assert moves(BASE, BASE.replace(TALOS, TALOS + "  # pinned")) == []


def test_a_downgrade_names_no_runbook_and_says_so():
    comment = notice(moves(BASE, bumped(talos="v1.11.0")))
    assert commands(comment) == []
    assert "Talos Linux goes down (v1.11.1 to v1.11.0): no runbook downgrades it." in comment


def test_an_unreadable_base_asks_for_every_runbook_of_the_versions_it_now_names():
    comment = notice(moves("versions: [not, a, map", bumped(kubernetes="v1.35.0")))
    assert "Talos Linux from `nothing` to `v1.11.1` and Kubernetes from `nothing` to `v1.35.0`" in comment
    assert [line.split()[2] for line in commands(comment)][::2] == [
        "control-plane-upgrade", "worker-upgrade", "kubernetes-upgrade"]


def test_the_module_prints_the_comment_for_two_files(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "head.yaml").write_text(bumped(talos="v1.11.2"))
    done = subprocess.run([sys.executable, "-m", "homeops.upgrade_notice", "base.yaml", "head.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == notice(moves(BASE, bumped(talos="v1.11.2")))
    same = subprocess.run([sys.executable, "-m", "homeops.upgrade_notice", "base.yaml", "base.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert (same.returncode, same.stdout) == (0, "")
