"""Fixtures of the engine tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_support import COMMAND_TIMEOUT, Result, SpiedTwin, homeops_argv  # noqa: E402  (beside this file)


@pytest.fixture
def homeops(tmp_path: Path, cluster_file: Path):
    """Run `homeops --config <copy of cluster.yaml> ARGS...` in a scratch directory."""

    def run(*args: str, config: Path | None = None) -> Result:
        done = subprocess.run(homeops_argv(config or cluster_file, *args), cwd=tmp_path, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def cluster(tmp_path: Path, cluster_file: Path) -> SpiedTwin:
    """A fresh twin of the test's cluster.yaml."""
    return SpiedTwin.create(tmp_path, cluster_file)


@pytest.fixture
def unreachable_cluster(tmp_path: Path, cluster_file: Path) -> SpiedTwin:
    """A twin whose API server does not answer (the twin's `api-unreachable` fault)."""
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("faults:\n  - {fault: api-unreachable}\n")
    return SpiedTwin.create(tmp_path, cluster_file, scenario)
