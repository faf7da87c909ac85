"""A runbook whose notebook declares `read_only` (its site page says "run it, it changes nothing")
has no `apply` (`--apply` is refused before anything runs) and really changes nothing: run against
a twin, it leaves the twin as it found it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from homeops import load_cluster
from homeops.catalog import list_runbooks
from homeops.twin import create as create_twin
from homeops.twin import state as twin_state
from tests.docs.site_build import ROOT
from tests.said import gate_lines

READ_ONLY = [rb for rb in list_runbooks(ROOT / "runbooks") if rb.read_only]
RUN_TIMEOUT_SECONDS = 300
# What the maintenance lock of an apply run writes; everything else is the cluster.
LOCK_KEYS = {"leases", "resource_version"}


def test_at_least_one_runbook_is_declared_read_only():
    assert [rb.name for rb in READ_ONLY] == ["cluster-health"]


@pytest.mark.parametrize("runbook", READ_ONLY, ids=[rb.name for rb in READ_ONLY])
def test_a_read_only_runbook_has_no_apply_and_changes_nothing(runbook, tmp_path):
    twin_dir, records = tmp_path / "twin", tmp_path / "records"
    create_twin(twin_dir, load_cluster(ROOT / "cluster.yaml"))
    before = twin_state.read(str(twin_dir))
    env = {**os.environ, "PATH": f"{twin_dir / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    argv = [sys.executable, "-m", "homeops", "run", runbook.name, "--twin", str(twin_dir), "--records", str(records)]

    refused = subprocess.run([*argv, "--apply"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=RUN_TIMEOUT_SECONDS, check=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip() == (f"homeops run: {runbook.name} is read-only: it changes nothing, so it has no "
                                      f"--apply; run it as `homeops run {runbook.name}`")
    assert not list(records.glob("*.ipynb")), "refused before anything ran"

    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    after = twin_state.read(str(twin_dir))
    changed = sorted(key for key in (before.keys() | after.keys()) - LOCK_KEYS if before.get(key) != after.get(key))
    assert changed == []
    (record,) = records.glob("*.ipynb")
    printed = [line for cell in json.loads(record.read_text())["cells"] for output in cell.get("outputs", [])
               for line in "".join(output.get("text", "")).splitlines()]
    assert printed, "the record holds no output: the run proves nothing"
    assert [line for line in gate_lines("\n".join(printed)) if line.startswith("RUN: ")] == []
    assert any(line.endswith("mode: read-only (this runbook changes nothing)") for line in printed)
    assert json.loads(record.read_text())["metadata"]["homeops"]["mode"] == "plan"
