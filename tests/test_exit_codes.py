"""Exit codes as the README states them: `validate` answers 1 for an invalid cluster.yaml (that is its
answer), every other command refuses it with 2 (bad input: nothing was run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXIT_CODES = (ROOT / "README.md").read_text().split("Exit codes:", 1)[1].split("\n\n", 1)[0]


def homeops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "homeops", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.fixture
def invalid_cluster(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text((ROOT / "cluster.yaml").read_text().replace("talos: v", 'talos: !!str v', 1))
    return path


def test_the_readme_states_both_rules():
    assert "2 bad usage or an invalid `cluster.yaml` or scenario (nothing was run)" in EXIT_CODES
    assert '`homeops validate` answers the question "is cluster.yaml valid?": 0 yes, 1 no' in " ".join(
        EXIT_CODES.split())


def test_validate_answers_1_for_an_invalid_file_and_2_for_bad_usage(invalid_cluster: Path, tmp_path: Path):
    invalid = homeops("validate", str(invalid_cluster), cwd=tmp_path)
    usage = homeops("validate", "--no-such-option", cwd=tmp_path)

    assert invalid.returncode == 1
    assert invalid.stderr.startswith(f"{invalid_cluster}:")
    assert "the tag 'tag:yaml.org,2002:str' is not allowed" in invalid.stderr
    assert usage.returncode == 2


def test_twin_create_refuses_an_invalid_cluster_yaml_with_2(invalid_cluster: Path, tmp_path: Path):
    done = homeops("--config", str(invalid_cluster), "twin", "create", str(tmp_path / "twin"), cwd=tmp_path)

    assert done.returncode == 2
    assert "the tag 'tag:yaml.org,2002:str' is not allowed" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "twin").exists()


def test_twin_create_refuses_an_invalid_scenario_with_2(tmp_path: Path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("faults:\n  - ? [never-ready]\n    : worker-2\n")

    done = homeops("--config", str(ROOT / "cluster.yaml"), "twin", "create", str(tmp_path / "twin"),
                   "--scenario", str(scenario), cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr == f"{scenario}:2:7: faults[0]: a key must be a plain value, not a list or mapping\n"
