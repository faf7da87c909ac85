"""The kernel starts before cluster.yaml is loaded; a run refused after that leaves nothing behind.

The kernel's private directory (connection file, sockets) and a rehearsal's twin are made in the
temporary directory, which each test points at a directory of its own (short: an IPC socket's
path has at most 107 characters).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from engine_support import COMMAND_TIMEOUT, NOTEBOOKS, Result, homeops_argv


@pytest.fixture
def private_tmp():
    directory = Path(tempfile.mkdtemp(prefix="ho-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def homeops_in(tmp_path: Path, private_tmp: Path):
    """Run homeops in tmp_path with TMPDIR=private_tmp."""

    def run(config: Path, *args: str) -> Result:
        done = subprocess.run(homeops_argv(config, *args), cwd=tmp_path, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL,
                              env={**os.environ, "TMPDIR": str(private_tmp)})
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain `text` (a kernel names its connection file)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if text in argv:
            found.append(argv)
    return found


def _break(cluster_file: Path) -> None:
    cluster_file.write_text(cluster_file.read_text().replace("name: home-ops", "name: Home_Ops", 1))


def test_an_invalid_cluster_yaml_stops_the_kernel_and_leaves_no_record_nor_records_directory(
        homeops_in, tmp_path: Path, private_tmp: Path, cluster_file: Path):
    _break(cluster_file)
    result = homeops_in(cluster_file, "run", "echo", "--runbooks", str(NOTEBOOKS),
                                   "--records", "made/by/run")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("is invalid (1 problem(s) above); nothing was run")
    assert not (tmp_path / "made").exists(), "the records directories this run made stay behind"
    assert list(private_tmp.iterdir()) == [], "the kernel's directory stays behind"
    assert _processes_mentioning(str(private_tmp)) == [], "the kernel outlived the command"


def test_an_invalid_cluster_yaml_keeps_an_existing_records_directory_and_its_records(
        homeops_in, tmp_path: Path, cluster_file: Path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "20260101T000000Z-echo.ipynb").write_text("{}")
    _break(cluster_file)
    result = homeops_in(cluster_file, "run", "echo", "--runbooks", str(NOTEBOOKS), "--records", "records")
    assert result.returncode == 2
    assert sorted(p.name for p in records.iterdir()) == ["20260101T000000Z-echo.ipynb"]
    assert (records / "20260101T000000Z-echo.ipynb").read_text() == "{}"


def test_a_refused_scenario_leaves_no_twin_no_record_and_no_kernel(
        homeops_in, tmp_path: Path, private_tmp: Path, cluster_file: Path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("faults:\n  - {fault: never-ready, node: worker-9}\n")
    result = homeops_in(cluster_file, "rehearse", "cordon", "--runbooks", str(NOTEBOOKS),
                                   "--records", "records", "--scenario", str(scenario))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"homeops rehearse: --scenario {scenario} cannot be used; nothing was run")
    assert not (tmp_path / "records").exists()
    assert list(private_tmp.iterdir()) == [], "the twin's or the kernel's directory stays behind"
    assert _processes_mentioning(str(private_tmp)) == [], "the kernel outlived the command"


def test_a_completed_run_leaves_only_its_record(homeops_in, tmp_path: Path, private_tmp: Path, cluster_file: Path):
    result = homeops_in(cluster_file, "run", "echo", "--runbooks", str(NOTEBOOKS),
                                   "--records", "records")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.last_line == f"completed: echo (plan) — record: {result.record}"
    assert [p.name for p in (tmp_path / "records").iterdir()] == [result.record.name]
    assert list(private_tmp.iterdir()) == []
    assert _processes_mentioning(str(private_tmp)) == []
