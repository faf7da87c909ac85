"""Every wrapper that changes the cluster takes the gate, and nothing else starts a process for a change."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

from homeops.tools import ceph, flux, helm, kubectl, talosctl, workstation

ROOT = Path(__file__).resolve().parents[2]

CHANGES = [
    kubectl.cordon, kubectl.uncordon, kubectl.drain,
    ceph.set_flag, ceph.unset_flag, ceph.set_group, ceph.unset_group,
    talosctl.upgrade, talosctl.upgrade_k8s, talosctl.etcd_snapshot,
    flux.reconcile,
    # the bootstrap's: the cluster's first changes, and files on the workstation that plan mode only shows
    talosctl.apply_config_insecure, talosctl.bootstrap, talosctl.kubeconfig, talosctl.gen_secrets,
    talosctl.gen_config, talosctl.config_endpoints, kubectl.apply_server_side, kubectl.create_namespace,
    kubectl.create_secret_from_file, helm.upgrade_install, flux.bootstrap_github,
    workstation.sops_encrypt, workstation.sops_decrypt,
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda f: f"{f.__module__.rsplit('.', 1)[1]}.{f.__name__}")
def test_a_change_takes_the_gate_first(change):
    first = next(iter(inspect.signature(change).parameters.values()))
    assert first.name == "gate" and first.annotation in ("Gate", "homeops.gate.Gate")


def test_procedures_never_start_a_process_themselves():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "homeops" / "procedures").glob("*.py")
        if re.search(r"\bprocess\.run\b|\bsubprocess\b|\bos\.system\b", path.read_text())
    ]
    assert offenders == []


def test_runbook_code_cells_reach_the_cluster_only_through_homeops():
    notebooks = sorted((ROOT / "runbooks").glob("*.ipynb"))
    assert notebooks, "no runbook found"
    for path in notebooks:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                assert not re.search(r"subprocess|os\.system|process\.run|^\s*!", source, re.M), (path.name, source)
