"""Drills of runbooks/apply-config.ipynb against a fresh twin, through `homeops run`.

Each drill is a project of its own (cluster.yaml, templates/, the rendered tree) whose twin runs the
configurations the unchanged tree makes; the drill then changes cluster.yaml or a template, renders,
and runs apply-config. What it asserts is read from the twin's state: each node's configuration,
boot IDs, cordons, Ceph flags.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.runbooks.conftest import ROOT
from tests.said import gate_lines

pytestmark = pytest.mark.slow

WORKERS = ["worker-1", "worker-2", "worker-3"]
ADDRESSES = {"10.0.10.11": "cp-1", "10.0.10.12": "cp-2", "10.0.10.21": "worker-1", "10.0.10.22": "worker-2",
             "10.0.10.23": "worker-3"}
PROXY = "http://proxy.example.com:3128"


def project(make_drill, scenario: dict | None = None):
    """A rendered project and its twin, every node running what the tree makes."""
    drill = make_drill({"reboot_seconds": 0.3, **(scenario or {})})
    shutil.copytree(ROOT / "templates", drill.directory / "templates")
    rendered = drill.homeops("render")
    assert rendered.code == 0, rendered.stdout + rendered.stderr
    return drill


def change_nameserver(drill) -> None:
    text = drill.config.read_text()
    assert "  nameservers:\n    - 10.0.0.1\n" in text
    drill.config.write_text(text.replace("  nameservers:\n    - 10.0.0.1\n", "  nameservers:\n    - 10.0.0.53\n"))
    rendered = drill.homeops("render")
    assert rendered.code == 0, rendered.stdout + rendered.stderr


def add_proxy_env(drill) -> None:
    """A template change Talos applies only with a reboot (machine.env is not one of CanApplyImmediate's sections)."""
    template = drill.directory / "templates" / "talos" / "patches" / "all.yaml.j2"
    text = template.read_text()
    template.write_text(text.replace("machine:\n", f"machine:\n  env:\n    HTTPS_PROXY: {PROXY}\n", 1))
    rendered = drill.homeops("render")
    assert rendered.code == 0, rendered.stdout + rendered.stderr


def configs(drill) -> dict[str, dict]:
    state = json.loads((drill.twin / "state.json").read_text())
    return {n["name"]: n["config"] for n in state["nodes"]}


def boots(drill) -> dict[str, str]:
    return {name: n.boot_id for name, n in drill.nodes().items()}


def node_of(change: str) -> str | None:
    for word in change.split():
        if word in ADDRESSES.values():
            return word
        if word in ADDRESSES:
            return ADDRESSES[word]
    return None


def test_an_unchanged_tree_plans_nothing(make_drill):
    drill = project(make_drill)
    result = drill.run("apply-config")
    assert result.code == 0, result.stdout + result.stderr
    assert "every node already runs its configuration: nothing to apply" in result.stdout
    assert result.changes == []
    assert result.last_line.startswith("completed: apply-config (plan)")


def test_a_nameserver_change_applies_without_a_reboot_and_a_rerun_plans_nothing(make_drill):
    drill = project(make_drill)
    change_nameserver(drill)
    before_boots = boots(drill)

    plan = drill.run("apply-config")
    assert plan.code == 0, plan.stdout + plan.stderr
    assert "cp-1: applies without a reboot; a network change: tried first (it reverts unless kept)" in plan.stdout
    diff_lines = [line.strip() for line in plan.stdout.splitlines()]
    assert diff_lines.count("-            - 10.0.0.1") == 5 and diff_lines.count("+            - 10.0.0.53") == 5
    assert all(c["machine"]["network"]["nameservers"] == ["10.0.0.1"] for c in configs(drill).values())

    result = drill.run("apply-config", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: apply-config (apply)")
    assert all(c["machine"]["network"]["nameservers"] == ["10.0.0.53"] for c in configs(drill).values())
    assert boots(drill) == before_boots  # no node rebooted
    assert not any(n.unschedulable for n in drill.nodes().values())
    # Each node tried, then kept: two applies a node, one node after another.
    applied = [(node_of(c), c.split("--mode ")[1].split()[0]) for c in result.changes if "apply-config" in c]
    assert applied == [(name, mode) for name in ADDRESSES.values() for mode in ("try", "no-reboot")]
    assert "--timeout 120s" in next(c for c in result.changes if "--mode try" in c)

    again = drill.run("apply-config", apply=True)
    assert again.code == 0, again.stdout + again.stderr
    assert "every node already runs its configuration: nothing to apply" in again.stdout
    assert again.changes == []
