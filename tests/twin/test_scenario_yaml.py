"""Hostile or broken scenario files end in clear problems (FILE:LINE:COL: path: message), all at once,
never in a traceback, a hang or gigabytes: the scenario is read by the same reader as cluster.yaml."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from homeops.twin import ScenarioInvalid, load_scenario

ROOT = Path(__file__).resolve().parents[2]

LOL = ", ".join(["lol"] * 9)
# Nine levels of nine aliases each, written inside one fault's node: 9**9 strings if expanded.
ALIAS_BOMB = (
    "faults:\n  - fault: never-ready\n    node: [&a [" + LOL + "], "
    + ", ".join(f"&{name} [{', '.join(['*' + previous] * 9)}]" for previous, name in zip("abcdefgh", "bcdefghi"))
    + "]\n"
)


def problems_of(tmp_path: Path, content: str | bytes) -> list[str]:
    path = tmp_path / "scenario.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path)
    return [p.replace(str(path), "scenario.yaml") for p in caught.value.problems]


def test_a_778_byte_alias_bomb_under_a_fault_node_stops_at_the_budget_in_little_memory(tmp_path):
    assert len(ALIAS_BOMB) < 800
    tracemalloc.start()
    started = time.perf_counter()
    try:
        problems = problems_of(tmp_path, ALIAS_BOMB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    [problem] = problems
    assert problem.startswith("scenario.yaml:1:1: faults: YAML aliases make this value expand to more than ")
    assert "billion laughs" in problem
    assert peak < 20 * 1024 * 1024  # 9**9 strings would be gigabytes
    assert time.perf_counter() - started < 30  # generous: only a runaway expansion takes longer


def test_a_python_tag_is_refused_not_constructed(tmp_path):
    [problem] = problems_of(tmp_path, "faults:\n  - fault: !!python/object/apply:os.system [echo owned]\n")

    assert problem == ("scenario.yaml:2:12: faults[0].fault: the tag 'tag:yaml.org,2002:python/object/apply:os.system' "
                       "is not allowed: YAML tags can make a reader build other kinds of values; write the plain value")


def test_tags_on_a_mapping_and_a_list_are_refused_too(tmp_path):
    problems = problems_of(tmp_path, "faults: !!python/tuple\n  - !!map {fault: pgs-stuck}\n")

    assert [p.split(": the tag")[0] for p in problems] == ["scenario.yaml:1:9: faults", "scenario.yaml:2:5: faults[0]"]


def test_a_list_as_a_key_is_refused_with_its_position(tmp_path):
    assert problems_of(tmp_path, "? [a]\n: 1\n") == [
        "scenario.yaml:1:3: (top level): a key must be a plain value, not a list or mapping"]


def test_5000_levels_of_nesting_are_refused_without_recursion(tmp_path):
    [problem] = problems_of(tmp_path, "faults:\n  - node: " + "[" * 5000 + "]" * 5000 + "\n")

    assert problem.startswith("scenario.yaml:2:")
    assert problem.endswith(": the document is nested more than 64 levels deep here: is this really the right file?")


def test_non_utf8_bytes_are_a_clear_problem(tmp_path):
    assert problems_of(tmp_path, b"faults:\n  - {fault: never-ready, node: w\xff}\n") == [
        "scenario.yaml:2:33: (top level): cannot read the scenario file: it is not UTF-8 text (byte 0xff)"]


def test_every_problem_of_the_reader_is_reported_at_once_in_file_order(tmp_path):
    problems = problems_of(tmp_path, "reboot_seconds: !!float 1\nfaults:\n  - {fault: pgs-stuck, fault: x}\n")

    assert [p.split(": ", 3)[:2] for p in problems] == [
        ["scenario.yaml:1:17", "reboot_seconds"],
        ["scenario.yaml:3:24", "faults[0].fault"],
    ]
    assert "the tag 'tag:yaml.org,2002:float' is not allowed" in problems[0]
    assert "duplicate key 'fault': first at line 3, again at line 3" in problems[1]


def test_the_scenario_checks_run_beside_a_duplicate_key(tmp_path):
    problems = problems_of(tmp_path, "reboot_seconds: 1\nreboot_seconds: 2\nspeed: 3\n")

    assert [p.split(": ", 3)[:3] for p in problems] == [
        ["scenario.yaml:2:1", "reboot_seconds", "duplicate key 'reboot_seconds'"],
        ["scenario.yaml:3:1", "speed", "unknown key 'speed' (known keys"],
    ]


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    outcome = []

    def read():
        try:
            load_scenario(fifo)
        except ScenarioInvalid as exc:
            outcome.extend(exc.problems)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)

    assert outcome == [f"{fifo}:1:1: (top level): cannot read the scenario file: it is a named pipe (FIFO), "
                       "not a regular file"]


def test_the_cli_reports_a_hostile_scenario_with_exit_2_and_no_traceback(tmp_path):
    scenario = tmp_path / "bomb.yaml"
    scenario.write_text(ALIAS_BOMB)

    done = subprocess.run(
        [sys.executable, "-m", "homeops", "--config", str(ROOT / "cluster.yaml"), "twin", "create",
         str(tmp_path / "twin"), "--scenario", str(scenario)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )

    assert done.returncode == 2
    assert done.stderr.startswith(f"{scenario}:1:1: faults: YAML aliases make this value expand")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "twin").exists()


def test_release_faults_need_a_name_and_a_namespace_and_no_node(tmp_path):
    assert problems_of(tmp_path, (
        "faults:\n"
        "  - fault: helmrelease-stuck\n"
        "    name: cert-manager\n"
        "  - fault: helmrelease-failing\n"
        "    node: worker-1\n"
        "    name: a\n"
        "    namespace: b\n"
        "  - fault: mon-down\n"
        "    name: cert-manager\n"
    )) == [
        "scenario.yaml:2:5: faults[0]: helmrelease-stuck applies to one HelmRelease: add `namespace: ...`",
        "scenario.yaml:5:5: faults[1].node: helmrelease-failing applies to a HelmRelease: remove `node:`, "
        "give `name:` and `namespace:`",
        "scenario.yaml:9:5: faults[2].name: mon-down names no HelmRelease: remove `name:`",
    ]


def test_a_release_fault_names_a_helmrelease_of_the_cluster(tmp_path, cluster):
    path = tmp_path / "scenario.yaml"
    path.write_text("faults:\n  - fault: helmrelease-stuck\n    name: nope\n    namespace: cert-manager\n")
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path, cluster)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}:3:11: faults[0].name: fault helmrelease-stuck: no HelmRelease "
                              "cert-manager/nope in kubernetes/ (HelmReleases: ")
    assert "cert-manager/cert-manager" in problem
    path.write_text("faults:\n  - fault: helmrelease-stuck\n    name: cert-manager\n    namespace: cert-manager\n")
    assert load_scenario(path, cluster).fault_names() == ["helmrelease-stuck@cert-manager/cert-manager"]
