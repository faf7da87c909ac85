"""`homeops validate`: one problem a line on stderr, exit 1 on an error (or a warning with --strict)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from homeops.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<path>[^:]+): (?P<warning>warning: )?(?P<message>.+)$"
)


def homeops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "homeops", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def problem_lines(stderr: str) -> list[re.Match[str]]:
    lines = stderr.splitlines()
    matches = [LINE.match(line) for line in lines[:-1]]
    assert all(matches), f"a line is not FILE:LINE:COL: path: message:\n{stderr}"
    return matches


def test_the_real_cluster_validates_with_the_etcd_warning(repo_root: Path):
    result = homeops("validate", cwd=repo_root)

    assert result.returncode == 0
    assert result.stdout == "cluster.yaml: OK: cluster home-ops, 5 nodes (2 control-plane, 3 worker), 1 warning\n"
    [warning] = result.stderr.splitlines()
    match = LINE.match(warning)
    assert match and match["file"] == "cluster.yaml" and match["path"] == "nodes" and match["warning"]
    assert "etcd needs a quorum of 2 of 2 members, so it tolerates no failure" in match["message"]
    assert "Talos refuses to upgrade a control-plane node of a 2-member etcd" in match["message"]


def test_strict_turns_the_warning_into_a_failure(repo_root: Path):
    result = homeops("validate", "--strict", cwd=repo_root)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "cluster.yaml: invalid: 0 errors, 1 warning (--strict: warnings count as errors)"
    )


def test_errors_print_one_line_each_and_exit_1(tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    text = (FIXTURES / "even-control-planes" / "valid.yaml").read_text()
    text = text.replace("pod_cidr: 10.42.0.0/16", "pod_cidr: 10.42.0.1/16").replace("flux: v2.7.5", "flux: latest")
    broken.write_text(text)

    result = homeops("validate", "broken.yaml", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    found = [(m["file"], int(m["line"]), m["path"]) for m in problem_lines(result.stderr)]
    assert found == [("broken.yaml", 8, "versions.flux"), ("broken.yaml", 18, "network.pod_cidr")]
    assert "(did you mean 10.42.0.0/16?)" in result.stderr
    assert result.stderr.splitlines()[-1] == "broken.yaml: invalid: 2 errors, 0 warnings"


def test_global_config_option_points_validate_at_another_file(tmp_path: Path):
    (tmp_path / "other.yaml").write_bytes((FIXTURES / "role" / "invalid.yaml").read_bytes())

    result = homeops("--config", "other.yaml", "validate", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.startswith("other.yaml:31:11: nodes[0].role: must be 'control-plane' or 'worker'")


def test_console_script_accepts_config(tmp_path: Path):
    script = Path(sys.executable).parent / "homeops"
    if not script.exists():
        pytest.skip("the homeops console script is not installed beside this interpreter")
    (tmp_path / "other.yaml").write_bytes((FIXTURES / "even-control-planes" / "valid.yaml").read_bytes())

    result = subprocess.run([str(script), "--config", "other.yaml", "validate"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "other.yaml: OK: cluster home-ops, 6 nodes (3 control-plane, 3 worker), 0 warnings\n"


@pytest.mark.parametrize("name", ["nope.yaml", "."])
def test_unreadable_paths_are_reported_without_a_traceback(tmp_path: Path, name: str):
    result = homeops("validate", name, cwd=tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = problem_lines(result.stderr)
    assert line["file"] == name and line["message"].startswith("cannot read the file: ")


@pytest.mark.parametrize("code", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_no_invalid_fixture_ends_in_a_traceback(code: str, capsys: pytest.CaptureFixture[str]):
    # In-process: an exception escaping `main` would fail this test just as a traceback would.
    path = FIXTURES / code / "invalid.yaml"

    status = main(["validate", str(path)])

    err = capsys.readouterr().err
    warnings_only = all(m["warning"] for m in problem_lines(err))
    assert status == (0 if warnings_only else 1)
    assert main(["validate", "--strict", str(path)]) == 1


@pytest.mark.parametrize("text", [
    "\x00", "[", "{a: 1", "a: 'unclosed\n", "nodes: !!binary aGVsbG8=\n", "nodes: 2025-01-01\n",
    "cluster: {name: 1, domain: 2}\n", "nodes: [[], {}, null, 1]\n", "network: {load_balancers: [1, {name: x}]}\n",
    "versions: {talos: [v1.11.1]}\n", "? !!null\n: x\n", "1: 2\n", "&a a: *a\n", "nodes:\n- name: a\n  osds: 1.5\n",
    "\ufeffcluster: {}\n",
])
def test_odd_files_give_problems_not_tracebacks(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "odd.yaml"
    path.write_text(text)

    status = main(["validate", str(path)])

    err = capsys.readouterr().err
    assert status == 1
    assert problem_lines(err)
