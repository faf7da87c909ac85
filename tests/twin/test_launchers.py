"""The fake tools are small launchers that import only the twin and the standard library."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_launchers_run_this_python(twin):
    for tool in ("kubectl", "talosctl", "flux"):
        first_line = (twin.directory / "bin" / tool).read_text().splitlines()[0]
        assert first_line == f"#!{sys.executable} -S"


@pytest.mark.parametrize(
    "argv",
    [
        ["kubectl", "get", "nodes", "-o", "json"],
        ["kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "status", "-f", "json"],
        ["talosctl", "-n", "10.0.10.21", "version", "--json"],
        ["flux", "check"],
    ],
)
def test_fake_tools_never_import_pydantic_or_yaml(twin, argv):
    tool, *args = argv
    done = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", str(twin.directory / "bin" / tool), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "homeops.twin.state" in imported  # the measurement saw the twin's own imports
    assert not {name for name in imported if name.startswith(("homeops.cluster.model", "homeops.cluster.loader", "pydantic", "yaml"))}
