"""A twin made in tmp_path, and helpers that call its fake tools as subprocesses."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from homeops import load_cluster
from homeops.twin import create, load_scenario

ROOT = Path(__file__).resolve().parents[2]
CALL_TIMEOUT = 30  # seconds; a fake tool call that takes longer is a bug
IMAGE_REPO = load_cluster(ROOT / "cluster.yaml").installer_image().rsplit(":", 1)[0]  # installer/SCHEMATIC


class Twin:
    def __init__(self, directory: Path):
        self.directory = directory

    def run(self, tool: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.directory / "bin" / tool), *args],
            input=stdin,
            check=False,
            capture_output=True,
            text=True,
            timeout=CALL_TIMEOUT,
        )

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return self.run("kubectl", *args, stdin=stdin)

    def talosctl(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("talosctl", *args)

    def flux(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("flux", *args)

    def ceph(self, *args: str) -> subprocess.CompletedProcess:
        return self.kubectl("-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", *args)

    def json(self, tool: str, *args: str) -> dict:
        done = self.run(tool, *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def node(self, name: str) -> dict:
        return self.json("kubectl", "get", "node", name, "-o", "json")

    def ceph_status(self) -> dict:
        done = self.ceph("status", "-f", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def state(self) -> dict:
        return json.loads((self.directory / "state.json").read_text())

    def ready(self, node: str | dict) -> str:
        """The status of a node's Ready condition (True, False, Unknown); by name or node object."""
        return ready(self.node(node) if isinstance(node, str) else node)

    @staticmethod
    def image(version: str) -> str:
        return f"{IMAGE_REPO}:{version}"

    @staticmethod
    def eventually(check, what: str, attempts: int = 200, pause: float = 0.05):
        """Poll `check` until it returns something truthy (a bounded loop, not a timed assertion)."""
        for _ in range(attempts):
            result = check()
            if result:
                return result
            time.sleep(pause)
        raise AssertionError(f"never happened: {what}")


def ready(node: dict) -> str:
    return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")


@pytest.fixture(scope="session")
def cluster():
    return load_cluster(ROOT / "cluster.yaml")


@pytest.fixture(scope="session")
def three_cp_cluster(tmp_path_factory):
    """cluster.yaml with worker-1 made a third control-plane node (a 3-member etcd)."""
    data = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    for node in data["nodes"]:
        if node["name"] == "worker-1":
            node["role"] = "control-plane"
    path = tmp_path_factory.mktemp("three-cp") / "cluster.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_cluster(path)


@pytest.fixture
def make_twin(tmp_path, cluster):
    """make_twin(scenario_yaml=None, cluster=None) -> Twin in a fresh directory."""
    count = 0

    def make(scenario_text: str | None = "reboot_seconds: 0.3\n", on=None) -> Twin:
        nonlocal count
        count += 1
        scenario = None
        if scenario_text is not None:
            scenario_file = tmp_path / f"scenario-{count}.yaml"
            scenario_file.write_text(scenario_text)
            scenario = load_scenario(scenario_file)
        return Twin(create(tmp_path / f"twin-{count}", on or cluster, scenario))

    return make


@pytest.fixture
def twin(make_twin) -> Twin:
    return make_twin()
