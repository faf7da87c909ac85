"""The runbook notebooks as committed: valid, clean, following the catalog's conventions."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from homeops.catalog import read_runbook

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted((ROOT / "runbooks").glob("*.ipynb"))
EXPECTED = {"cluster-health", "worker-upgrade", "control-plane-upgrade", "kubernetes-upgrade", "ceph-maintenance",
            "flux-reconcile", "bootstrap", "etcd-backup"}
EXPECTED |= {"cluster-shutdown", "cluster-startup"}
EXPECTED |= {"node-add"}
EXPECTED |= {"etcd-restore"}
EXPECTED |= {"osd-replace", "node-remove"}
EXPECTED |= {"apply-config"}
COMMON = {"config": "cluster.yaml", "apply": False, "wait_timeout": 900, "poll_interval": 10.0}
OWN = {
    "cluster-health": {},
    "worker-upgrade": {"nodes": "", "talos_version": ""},
    "control-plane-upgrade": {"nodes": "", "talos_version": "", "accept_two_member_etcd_risk": False},
    "kubernetes-upgrade": {"to": ""},
    "ceph-maintenance": {"node": "", "action": "enter"},
    "flux-reconcile": {"release": "", "method": "reset"},
    "bootstrap": {},
    "etcd-backup": {"destination": "backups", "keep": 7},
    "cluster-shutdown": {},
    "cluster-startup": {"resume_flux": False},
    "node-add": {"node": ""},
    "etcd-restore": {"snapshot": "newest", "identity": "", "why": "", "destination": "backups"},
    "osd-replace": {"osd": "", "disk": "", "failing_disk": False, "accept_degraded": False, "undo": False},
    "node-remove": {"node": "", "accept_degraded": False, "accept_two_member_etcd_risk": False},
    "apply-config": {"nodes": "", "try_seconds": 120, "accept_two_member_etcd_risk": False},
}


def test_every_runbook_of_the_issue_exists():
    assert {p.stem for p in RUNBOOKS} == EXPECTED


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.stem)
def test_valid_nbformat_4_without_outputs_or_papermill_metadata(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata.kernelspec.name == "python3"
    assert "papermill" not in notebook.metadata
    for cell in notebook.cells:
        assert "papermill" not in cell.metadata
        assert "injected-parameters" not in cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.stem)
def test_catalog_conventions_and_parameters(path):
    runbook = read_runbook(path)
    assert runbook.title and len(runbook.purpose) > 80
    # A read-only runbook has no plan or apply mode, so no `apply`; every other runbook has it.
    common = {k: v for k, v in COMMON.items() if not (runbook.read_only and k == "apply")}
    assert {p.name: p.default for p in runbook.parameters} == {**common, **OWN[path.stem]}
    assert runbook.takes_apply == (not runbook.read_only)
    assert all(p.help for p in runbook.parameters)
    assert runbook.steps and all(re.match(r"Step \d+: \S", s) for s in runbook.steps)
    cells = json.loads(path.read_text())["cells"]
    steps = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## Step")]
    for index in steps:  # each step explains itself, then its code follows
        assert cells[index + 1]["cell_type"] == "code"
        assert len("".join(cells[index]["source"])) > 100


def literal_values(data, found=None) -> set[str]:
    found = set() if found is None else found
    if isinstance(data, dict):
        for value in data.values():
            literal_values(value, found)
    elif isinstance(data, list):
        for value in data:
            literal_values(value, found)
    elif isinstance(data, str):
        try:
            ipaddress.ip_network(data, strict=False)
            found.add(data)
        except ValueError:
            if re.fullmatch(r"v\d+\.\d+\.\d+", data):
                found.add(data)
    return found


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.stem)
def test_markdown_names_no_address_or_version_of_cluster_yaml(path):
    literals = literal_values(yaml.safe_load((ROOT / "cluster.yaml").read_text()))
    assert "v1.11.1" in literals and "10.0.10.21" in literals  # the scan itself sees what it must
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            assert not [value for value in literals if value in text], text[:80]
