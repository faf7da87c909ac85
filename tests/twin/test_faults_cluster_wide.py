"""Faults that touch the whole cluster: a dead API server, and secrets leaking into outputs."""

from __future__ import annotations

import re

REFUSED = "The connection to the server 10.0.50.50:6443 was refused - did you specify the right host or port?"


def test_api_unreachable_fails_every_kubectl_call_like_a_dead_api_server(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: api-unreachable}]\n")
    calls = [
        ["get", "nodes", "-o", "json"],
        ["cordon", "worker-1"],
        ["-n", "kube-system", "get", "lease", "homeops-maintenance", "-o", "json"],
        ["-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "status", "-f", "json"],
    ]
    for argv in calls:
        done = twin.kubectl(*argv)
        assert (done.returncode, done.stdout, done.stderr.strip()) == (1, "", REFUSED), argv
    assert not any(n["unschedulable"] for n in twin.state()["nodes"])
    flux = twin.flux("reconcile", "kustomization", "flux-system", "--with-source")
    assert flux.returncode == 1 and "connect: connection refused" in flux.stderr
    check = twin.flux("check")
    assert check.returncode == 1 and check.stderr.startswith("✗ ")


def test_api_unreachable_still_rejects_an_unknown_command_first(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: api-unreachable}]\n")
    done = twin.kubectl("frob")
    assert done.stderr.strip() == 'error: unknown command "frob" for "kubectl"'


def test_leak_secret_puts_an_age_key_and_a_bearer_token_where_runbooks_read(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: leak-secret, node: worker-2}]\n")
    nodes = twin.kubectl("get", "nodes", "-o", "json").stdout
    assert re.search(r"Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+", nodes)
    kustomizations = twin.kubectl("get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A", "-o", "json").stdout
    assert re.search(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", kustomizations)
    assert "Bearer" in twin.kubectl("get", "node", "worker-2", "-o", "json").stdout
    assert "Bearer" not in twin.kubectl("get", "node", "worker-1", "-o", "json").stdout


def test_without_leak_secret_no_secret_appears(twin):
    outputs = (
        twin.kubectl("get", "nodes", "-o", "json").stdout
        + twin.kubectl("get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A", "-o", "json").stdout
    )
    assert "AGE-SECRET-KEY-1" not in outputs and "Bearer" not in outputs
