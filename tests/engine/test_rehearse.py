"""`homeops rehearse`: a fresh twin, the runbook applied to it, the twin kept for a person to inspect."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine_support import NOTEBOOKS

pytestmark = pytest.mark.slow


@pytest.fixture
def kept_twins():
    """Twins a rehearsal made (it keeps them on purpose); removed after the test."""
    made: list[Path] = []
    yield made
    for twin in made:
        shutil.rmtree(twin, ignore_errors=True)


def test_a_rehearsal_applies_the_runbook_to_a_fresh_twin_and_says_where_it_is(homeops, kept_twins):
    result = homeops("rehearse", "cordon", "--runbooks", str(NOTEBOOKS), "--records", "records", "-p", "node=worker-2")
    where = re.match(r"twin: (\S+) \(inspect it with PATH=\S+/bin:\$PATH kubectl get nodes\)", result.stdout)
    assert where, result.stdout + result.stderr
    twin = Path(where.group(1))
    kept_twins.append(twin)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RUN: kubectl cordon worker-2" in result.stdout
    assert result.last_line == f"completed: cordon (apply) — record: {result.record}"

    node = subprocess.run([str(twin / "bin" / "kubectl"), "get", "node", "worker-2", "-o", "json"],
                          capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(node.stdout)["spec"]["unschedulable"] is True
    lease = subprocess.run([str(twin / "bin" / "kubectl"), "-n", "kube-system", "get", "lease", "homeops-maintenance",
                            "-o", "json"], capture_output=True, text=True, timeout=30)
    assert "(NotFound)" in lease.stderr, "the rehearsal released its lock"
    status = json.loads(result.record.read_text())["metadata"]["homeops"]
    assert (status["mode"], status["twin"], status["outcome"]) == ("apply", True, "completed")


def test_a_scenario_that_does_not_fit_the_cluster_is_refused_before_any_twin(homeops, tmp_path: Path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("reboot_seconds: 0.2\nfaults:\n  - {fault: never-ready, node: worker-9}\n")
    result = homeops("rehearse", "cordon", "--runbooks", str(NOTEBOOKS), "--scenario", str(scenario))
    assert result.returncode == 2
    problem = r"scenario\.yaml:3:\d+: faults\[0\]\.node: fault never-ready: no node named 'worker-9' in cluster\.yaml"
    assert re.search(problem, result.stderr), result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"homeops rehearse: --scenario {scenario} cannot be used; nothing was run")
    assert "twin:" not in result.stdout
