"""Bad usage and bad input end with exit 2 and a message, before any kernel starts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from engine_support import NOTEBOOKS, run_args


def test_an_unknown_runbook_lists_the_known_ones(homeops):
    result = homeops(*run_args("upgrade-everything"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"homeops run: no runbook named 'upgrade-everything' in {NOTEBOOKS}/; "
        "known runbooks: cordon, dump, echo, fails, full-disk, secrets, slow, stops")


def test_a_bad_parameter_value_names_the_parameter(homeops, tmp_path: Path):
    result = homeops(*run_args("echo", "-p", "count=many"))
    assert result.returncode == 2
    assert "homeops run: parameter 'count': expected an integer, got 'many' (default 3)" in result.stderr
    assert not (tmp_path / "records").exists()


def test_an_unknown_parameter_lists_the_accepted_ones(homeops):
    result = homeops(*run_args("cordon", "-p", "nodes=worker-1"))
    assert result.returncode == 2
    assert ("unknown parameter 'nodes' for runbook cordon; accepted parameters: wait_timeout (int, default 60), "
            'poll_interval (int, default 1), node (str, default "worker-1")') in result.stderr


def test_apply_cannot_be_smuggled_in_as_a_parameter(homeops):
    result = homeops(*run_args("cordon", "-p", "apply=true"))
    assert result.returncode == 2
    assert "parameter 'apply' cannot be set with -p: use --apply" in result.stderr


def test_an_invalid_cluster_yaml_prints_every_problem(homeops, cluster_file: Path):
    text = cluster_file.read_text().replace("name: home-ops", "name: Home_Ops", 1)
    cluster_file.write_text(text)
    result = homeops(*run_args("echo"))
    assert result.returncode == 2
    problem = r"cluster\.yaml:\d+:\d+: cluster\.name: 'Home_Ops' is not a DNS-1123 label"
    assert re.search(problem, result.stderr), result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("is invalid (1 problem(s) above); nothing was run")


def test_a_missing_config_is_a_usage_error(homeops, tmp_path: Path):
    result = homeops(*run_args("echo"), config=tmp_path / "nowhere.yaml")
    assert result.returncode == 2
    assert f"{tmp_path / 'nowhere.yaml'}" in result.stderr and "cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_twin_directory_without_a_twin_is_refused(homeops, tmp_path: Path):
    result = homeops(*run_args("echo", "--twin", str(tmp_path)))
    assert result.returncode == 2
    assert "no twin there (no bin/kubectl)" in result.stderr


def test_runbooks_lists_name_purpose_and_parameters_with_defaults(homeops):
    result = homeops("runbooks", "--runbooks", str(NOTEBOOKS))
    assert result.returncode == 0, result.stderr
    assert "cordon — Cordon one node\n  Test runbook: cordons one node through the plan/apply gate." in result.stdout
    lines = result.stdout.splitlines()
    assert any(line.split() == ["node", "=", '"worker-1"', "[str]", "node", "to", "cordon"] for line in lines)
    assert any(line.split()[:4] == ["nodes", "=", '["worker-1"]', "[comma-separated"] for line in lines)
    assert any(line.split()[:5] == ["apply", "=", "False", "[set", "by"] for line in lines)


def test_a_records_directory_that_cannot_be_made_is_a_usage_error(homeops, tmp_path: Path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the records directory should go")
    result = homeops("run", "echo", "--runbooks", str(NOTEBOOKS), "--records", str(blocker / "records"))
    assert result.returncode == 2
    assert f"homeops run: --records {blocker / 'records'}: cannot create the directory" in result.stderr
    assert blocker.read_text() == "a file where the records directory should go"


def test_a_malformed_runbook_is_named_and_does_not_block_the_others(homeops, tmp_path: Path):
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    shutil.copy(NOTEBOOKS / "echo.ipynb", runbooks / "echo.ipynb")
    (runbooks / "broken.ipynb").write_text('{"cells": [')
    broken = homeops("run", "broken", "--runbooks", str(runbooks))
    assert broken.returncode == 2
    assert f"homeops run: {runbooks / 'broken.ipynb'}: not a readable notebook" in broken.stderr
    neighbour = homeops("run", "echo", "--runbooks", str(runbooks))
    assert neighbour.returncode == 0, neighbour.stderr
    assert neighbour.last_line.startswith("completed: echo (plan)")


def test_a_secret_pasted_as_a_bad_value_is_not_echoed(homeops):
    secret = "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2
    result = homeops(*run_args("echo", "-p", f"count={secret}"))
    assert result.returncode == 2
    assert "parameter 'count': expected an integer, got '[REDACTED age-secret-key]'" in result.stderr
    assert secret not in result.stderr + result.stdout
