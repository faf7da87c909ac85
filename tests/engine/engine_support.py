"""Helpers of the engine tests: the homeops command as a person runs it, and a twin to run against."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"
TOOLS = ("kubectl", "talosctl", "flux")
COMMAND_TIMEOUT = 180  # seconds; a kernel start on a loaded 2-core machine can take several


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def record(self) -> Path:
        marker = " — record: "
        assert marker in self.last_line, f"no record on the last line: {self.last_line!r}\n{self.stderr}"
        return Path(self.last_line.split(marker)[-1])


def homeops_argv(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "homeops", "--config", str(config), *args]


@dataclass
class SpiedTwin:
    """A twin of cluster.yaml (homeops.twin) behind spies that log every tool call.

    `directory` is what `--twin` gets: its `bin/` holds the spies, which append their argv to
    `calls.log` and exec the twin's tool, so the state is the twin's and the order of calls is known.
    """

    directory: Path

    @classmethod
    def create(cls, where: Path, cluster_file: Path, scenario: Path | None = None) -> "SpiedTwin":
        from homeops import load_cluster
        from homeops.twin import create

        twin = create(where / "twin", load_cluster(cluster_file), scenario=scenario)
        spied = where / "spied-twin"
        (spied / "bin").mkdir(parents=True)
        for tool in TOOLS:
            spy = spied / "bin" / tool
            spy.write_text(
                f"#!{sys.executable} -S\nimport json, os, sys\n"
                f"with open({str(spied / 'calls.log')!r}, 'a') as log:\n"
                f"    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
                f"os.execv({str(twin / 'bin' / tool)!r}, [{str(twin / 'bin' / tool)!r}, *sys.argv[1:]])\n"
            )
            spy.chmod(0o755)
        return cls(spied)

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.directory / "bin" / "kubectl"), *args], input=stdin,
                              capture_output=True, text=True, timeout=30)

    def cordoned(self, node: str) -> bool:
        done = self.kubectl("get", "node", node, "-o", "json")
        assert done.returncode == 0, done.stderr
        return bool(json.loads(done.stdout)["spec"].get("unschedulable", False))

    def lease(self) -> dict | None:
        done = self.kubectl("-n", "kube-system", "get", "lease", "homeops-maintenance", "-o", "json")
        if "(NotFound)" in done.stderr:
            return None
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def calls(self) -> list[list[str]]:
        """Every tool call so far, without `--request-timeout=...`."""
        log = self.directory / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [[a for a in json.loads(line) if not a.startswith("--request-timeout")] for line in lines]


def run_args(name: str, *args: str) -> list[str]:
    """`run NAME --runbooks <test notebooks> --records records ARGS...`"""
    return ["run", name, "--runbooks", str(NOTEBOOKS), "--records", "records", *args]
