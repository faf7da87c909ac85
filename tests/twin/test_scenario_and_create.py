"""Scenario files, `homeops.twin.create` and `homeops twin create`: clear errors, no tracebacks,
and nothing that is not a twin overwritten."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from homeops.twin import Scenario, ScenarioInvalid, TwinDirRefused, create, load_scenario

ROOT = Path(__file__).resolve().parents[2]


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def _problems(path: Path, cluster=None) -> list[str]:
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path, cluster)
    return caught.value.problems


def test_a_full_scenario_is_read(tmp_path):
    path = _scenario(
        tmp_path,
        "talos_version: v1.11.0\nkubernetes_version: v1.34.0\nreboot_seconds: 0.5\n"
        "faults:\n  - {fault: never-ready, node: worker-2}\n  - {fault: pgs-stuck}\n",
    )
    scenario = load_scenario(path)
    assert (scenario.talos_version, scenario.kubernetes_version, scenario.reboot_seconds) == ("v1.11.0", "v1.34.0", 0.5)
    assert [(f.fault, f.node) for f in scenario.faults] == [("never-ready", "worker-2"), ("pgs-stuck", None)]


def test_an_empty_file_is_the_default_scenario(tmp_path):
    scenario = load_scenario(_scenario(tmp_path, ""))
    assert (scenario.faults, scenario.reboot_seconds, scenario.talos_version) == ((), 1.0, None)


def test_problems_name_the_file_and_line(tmp_path):
    path = _scenario(
        tmp_path,
        "reboot_seconds: 1\nspeed: fast\nfaults:\n  - {fault: gremlins}\n  - {fault: never-ready}\n"
        "  - {fault: pgs-stuck, node: worker-1}\ntalos_version: 1.11.0\n",
    )
    problems = _problems(path)
    assert problems == [
        f"{path}:2:1: speed: unknown key 'speed' (known keys: talos_version, kubernetes_version, reboot_seconds, maintenance, faults)",
        (
            f"{path}:4:13: faults[0].fault: unknown fault 'gremlins' (known faults: never-ready, drain-blocked, "
            "upgrade-error, ceph-degraded, pgs-stuck, api-unreachable, flux-not-ready, etcd-unhealthy, leak-secret, "
            "upgrade-without-reboot, mon-down, osd-nearfull, etcd-member-lost, control-plane-lost, "
            "etcd-nospace, cilium-unhealthy, helmrelease-stuck, helmrelease-failing, "
            "wipe-incomplete, config-cuts-off)"
        ),
        f"{path}:5:5: faults[1]: never-ready applies to one node: add `node: NAME`",
        f"{path}:6:24: faults[2].node: pgs-stuck applies to the whole cluster: remove `node: worker-1`",
        f"{path}:7:16: talos_version: '1.11.0' is not a version of the form vMAJOR.MINOR.PATCH (did you mean v1.11.0?)",
    ]


def test_unknown_nodes_and_misplaced_faults_are_found_against_the_cluster(tmp_path, cluster):
    path = _scenario(
        tmp_path,
        "faults:\n  - {fault: drain-blocked, node: worker-9}\n"
        "  - {fault: etcd-unhealthy, node: worker-1}\n  - {fault: ceph-degraded, node: cp-1}\n",
    )
    problems = _problems(path, cluster)
    assert problems[0] == (
        f"{path}:2:34: faults[0].node: fault drain-blocked: no node named 'worker-9' in cluster.yaml "
        "(nodes: cp-1, cp-2, worker-1, worker-2, worker-3)"
    )
    assert problems[1].startswith(f"{path}:3:35: faults[1].node: fault etcd-unhealthy: worker-1 is a worker")
    assert problems[2].startswith(f"{path}:4:34: faults[2].node: fault ceph-degraded: cp-1 has no Ceph OSD")


def test_bad_yaml_and_bad_numbers_are_reported(tmp_path):
    assert _problems(_scenario(tmp_path, "faults: [\n"))[0].startswith(
        f"{tmp_path / 'scenario.yaml'}:2:1: (top level): YAML syntax error"
    )
    assert "reboot_seconds: -1 must be a number of seconds" in _problems(_scenario(tmp_path, "reboot_seconds: -1\n"))[0]
    assert "cannot read the scenario file" in _problems(tmp_path / "missing.yaml")[0]


def test_a_kubernetes_version_talos_cannot_run_is_refused(tmp_path, cluster):
    path = _scenario(tmp_path, "talos_version: v1.11.1\nkubernetes_version: v1.36.0\n")
    assert "too new to be used with Talos v1.11.1" in _problems(path, cluster)[0]


def test_create_refuses_a_directory_that_is_not_a_twin_and_resets_one_that_is(tmp_path, cluster):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "todo.txt").write_text("keep me")
    with pytest.raises(TwinDirRefused, match="not empty and holds no twin"):
        create(precious, cluster)
    assert (precious / "todo.txt").read_text() == "keep me"
    assert sorted(p.name for p in precious.iterdir()) == ["todo.txt"]  # not even a lock file

    twin_dir = create(tmp_path / "twin", cluster, Scenario(reboot_seconds=0.3))
    tools = subprocess.run(
        [twin_dir / "bin" / "kubectl", "cordon", "worker-1"], check=False, capture_output=True, text=True, timeout=30
    )
    assert tools.returncode == 0
    create(twin_dir, cluster)
    reset = subprocess.run(
        [twin_dir / "bin" / "kubectl", "get", "node", "worker-1", "-o", "json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert '"unschedulable"' not in reset.stdout


def _homeops(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "homeops", *args], check=False, capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_cli_create_prints_what_it_made_and_how_to_use_it(tmp_path):
    done = _homeops("--config", str(ROOT / "cluster.yaml"), "twin", "create", str(tmp_path / "t"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"export PATH={tmp_path / 't'}/bin:$PATH" in done.stdout
    assert f"homeops run NAME --twin {tmp_path / 't'}" in done.stdout
    assert (tmp_path / "t" / "bin" / "talosctl").stat().st_mode & 0o111


def test_cli_bad_scenario_exits_2_with_the_message_and_no_traceback(tmp_path):
    scenario = _scenario(tmp_path, "faults:\n  - {fault: gremlins}\n")
    done = _homeops(
        "--config",
        str(ROOT / "cluster.yaml"),
        "twin",
        "create",
        str(tmp_path / "t"),
        "--scenario",
        str(scenario),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"{scenario}:2:13: faults[0].fault: unknown fault 'gremlins'")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "t").exists()


def test_cli_invalid_cluster_yaml_exits_2_with_its_problems(tmp_path, cluster_file):
    cluster_file.write_text(cluster_file.read_text().replace("talos: v1.11.1", "talos: latest"))
    done = _homeops("--config", str(cluster_file), "twin", "create", str(tmp_path / "t"), cwd=tmp_path)
    assert done.returncode == 2
    assert "latest" in done.stderr and "Traceback" not in done.stderr


def test_cli_refuses_a_non_twin_directory(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "data").write_text("x")
    done = _homeops("--config", str(ROOT / "cluster.yaml"), "twin", "create", str(tmp_path / "t"), cwd=tmp_path)
    assert done.returncode == 2 and "holds no twin" in done.stderr
