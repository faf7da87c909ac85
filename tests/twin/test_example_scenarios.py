"""The scenario files shipped for rehearsals stay valid against the real cluster.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

import homeops
from homeops.twin import load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "runbooks" / "scenarios").glob("*.yaml"))


def test_there_are_example_scenarios_to_rehearse_with():
    assert {p.name for p in EXAMPLES} >= {"upgrade-talos.yaml", "never-ready.yaml", "drain-blocked.yaml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_scenario_is_valid_for_the_real_cluster(path: Path):
    scenario = load_scenario(path, homeops.load_cluster(ROOT / "cluster.yaml"))
    assert scenario.talos_version or scenario.kubernetes_version or scenario.faults or scenario.maintenance
    # Every example says in a comment how to rehearse with it.
    assert "homeops rehearse" in path.read_text()
