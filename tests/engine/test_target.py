"""Every run says first what it runs against: the twin, or the cluster its tools are configured for,
read offline from the kubeconfig and talosconfig (names and addresses only, never a secret)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine_support import COMMAND_TIMEOUT, homeops_argv
from homeops.runner import target

ROOT = Path(__file__).resolve().parents[2]
KEY = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZXlrZXlrZXlrZXlrZXlrZXlrZXlrZXlrZXk="
TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMzQ1Njc4OTAifQ.eyJzdWIiOiJzeXN0ZW06YWRtaW4ifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
KUBECONFIG = f"""apiVersion: v1
kind: Config
current-context: admin@home
clusters:
  - name: other
    cluster: {{server: "https://192.0.2.99:6443"}}
  - name: home
    cluster: {{server: "https://192.0.2.10:6443", certificate-authority-data: {KEY}}}
contexts:
  - name: admin@home
    context: {{cluster: home, user: admin}}
users:
  - name: admin
    user: {{client-key-data: {KEY}, token: {TOKEN}}}
"""
TALOSCONFIG = f"""context: home
contexts:
  home:
    endpoints: [192.0.2.11, 192.0.2.12]
    nodes: [192.0.2.11]
    ca: {KEY}
    crt: {KEY}
    key: {KEY}
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(KUBECONFIG)
    (tmp_path / ".talos").mkdir()
    (tmp_path / ".talos" / "config").write_text(TALOSCONFIG)
    return tmp_path


def test_the_cluster_is_named_by_its_contexts_api_server_and_endpoints_and_no_secret(home: Path):
    said = target.describe({"HOME": str(home), "PATH": "/nonexistent"})
    assert said == (f"the cluster: kubectl context admin@home, API server https://192.0.2.10:6443 "
                    f"({home}/.kube/config); talosctl context home, endpoints 192.0.2.11, 192.0.2.12 "
                    f"({home}/.talos/config)")
    assert KEY[:16] not in said and TOKEN[:16] not in said


def test_kubeconfig_and_talosconfig_from_the_environment_win_and_missing_files_are_said(home: Path, tmp_path: Path):
    other = tmp_path / "other.yaml"
    other.write_text(KUBECONFIG.replace("current-context: admin@home", "current-context: elsewhere")
                     .replace("name: admin@home", "name: elsewhere").replace("cluster: home,", "cluster: other,"))
    said = target.describe({"HOME": str(home), "PATH": "/nonexistent", "KUBECONFIG": f"{other}{os.pathsep}{home}/.kube/config",
                            "TALOSCONFIG": str(tmp_path / "none")})
    assert said.startswith("the cluster: kubectl context elsewhere, API server https://192.0.2.99:6443 "
                           f"({other}, {home}/.kube/config); talosctl: no readable talosconfig ({tmp_path}/none)")
    assert target.describe({"HOME": str(tmp_path / "nobody"), "PATH": "/nonexistent"}) == (
        f"the cluster: kubectl: no readable kubeconfig ({tmp_path}/nobody/.kube/config); "
        f"talosctl: no readable talosconfig ({tmp_path}/nobody/.talos/config)")


def test_a_twin_first_on_path_is_named_even_without_homeops_twin(tmp_path: Path, cluster_file: Path):
    from homeops import load_cluster
    from homeops.twin import create

    twin = create(tmp_path / "twin", load_cluster(cluster_file))
    said = target.describe({"PATH": f"{twin / 'bin'}{os.pathsep}/usr/bin"})
    assert said == f"the twin in {twin.resolve()} (its kubectl, talosctl and flux first on PATH), not the cluster"


def test_the_cli_and_the_notebook_say_the_target_first(home: Path, tmp_path: Path, cluster_file: Path):
    # Stand-ins for the real tools, which must not be reached: each refuses, as an unreachable API does.
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("kubectl", "talosctl", "flux"):
        (tools / tool).write_text("#!/bin/sh\necho 'connection refused' >&2\nexit 1\n")
        (tools / tool).chmod(0o755)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("HOMEOPS_", "KUBECONFIG", "TALOSCONFIG"))},
           "HOME": str(home), "PATH": f"{tools}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin"}
    done = subprocess.run(homeops_argv(cluster_file, "run", "flux-reconcile", "--records", str(tmp_path / "records"),
                                       "--runbooks", str(ROOT / "runbooks")),
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    lines = done.stdout.splitlines()
    named = "kubectl context admin@home, API server https://192.0.2.10:6443"
    assert lines[0].startswith(f"running flux-reconcile (plan) against the cluster: {named} "), lines[0]
    assert "endpoints 192.0.2.11, 192.0.2.12" in lines[0]
    first_said = next(line.strip() for line in lines[1:] if "\u25b8" not in line)
    assert first_said.split(" ", 1)[1].startswith(f"target: the cluster: {named} "), lines
    assert KEY[:16] not in done.stdout + done.stderr and TOKEN[:16] not in done.stdout + done.stderr
