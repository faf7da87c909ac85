"""The objects the bootstrap makes before Flux (Namespaces, the sops-age Secret, CRDs applied by URL)
and the Certificates Flux brings, as the twin's kubectl serves and makes them."""

from __future__ import annotations

import os
import sys

from homeops.twin import clock, cluster, output
from homeops.twin.failure import ToolFailure
from homeops.twin.setup import progress


def namespaces(state: dict) -> list[dict]:
    names = set(progress.of(state)["namespaces"])
    if progress.flux_bootstrapped(state):
        names |= {r["namespace"] for r in state.get("rendered", {}).get("helmreleases", [])}
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}, "status": {"phase": "Active"}}
            for name in sorted(names)]


def secrets(state: dict) -> list[dict]:
    # The data never enters the twin's state: kubectl -o json shows the key with an empty value.
    return [{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"namespace": key.split("/", 1)[0], "name": key.split("/", 1)[1]},
             "data": {"age.agekey": ""}} for key in progress.of(state)["secrets"]]


def certificates(state: dict) -> list[dict]:
    ready = progress.flux_ready(state)
    items = []
    for entry in state.get("rendered", {}).get("certificates", []):
        condition = ({"type": "Ready", "status": "True", "reason": "Ready",
                      "message": "Certificate is up to date and has not expired"} if ready else
                     {"type": "Ready", "status": "False", "reason": "DoesNotExist",
                      "message": "Issuing certificate as Secret does not exist"})
        condition["lastTransitionTime"] = clock.rfc3339(state["created"])
        items.append({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                      "metadata": {"namespace": entry["namespace"], "name": entry["name"]},
                      "status": {"conditions": [condition]}})
    return items


def create(parsed, twin_dir: str, current: dict, now: float) -> int:
    """`kubectl create namespace NAME`, `kubectl -n NS create secret generic NAME --from-file=KEY=PATH`."""
    words = parsed.positionals[1:]
    if words[:1] in (["namespace"], ["ns"]) and len(words) == 2:
        with cluster.changing(twin_dir) as (state, _):
            setup = progress.editable(state)
            if words[1] in setup["namespaces"]:
                raise ToolFailure(f'Error from server (AlreadyExists): namespaces "{words[1]}" already exists')
            setup["namespaces"].append(words[1])
        output.write(sys.stdout, f"namespace/{words[1]} created")
        return 0
    if words[:2] == ["secret", "generic"] and len(words) == 3:
        namespace = parsed.value("namespace") or "default"
        for source in parsed.all("from-file"):
            path = source.split("=", 1)[-1]
            if not os.path.isfile(path):
                raise ToolFailure(f"error: error reading {path}: no such file or directory")
        key = f"{namespace}/{words[2]}"
        with cluster.changing(twin_dir) as (state, _):
            setup = progress.editable(state)
            if namespace not in setup["namespaces"]:
                raise ToolFailure(f'error: failed to create secret namespaces "{namespace}" not found')
            if key in setup["secrets"]:
                raise ToolFailure(f'error: failed to create secret secrets "{words[2]}" already exists')
            setup["secrets"].append(key)
        output.write(sys.stdout, f"secret/{words[2]} created")
        return 0
    raise ToolFailure(f"error: the homeops twin's kubectl create does not make {' '.join(words)!r}")


def apply(parsed, twin_dir: str, current: dict, now: float) -> int:
    """`kubectl apply --server-side -f URL` (the Gateway API CRDs): noted, nothing else."""
    source = parsed.value("filename")
    if not source or not parsed.switch("server-side"):
        raise ToolFailure("error: the homeops twin's kubectl apply takes --server-side -f URL")
    with cluster.changing(twin_dir) as (state, _):
        applied = progress.editable(state)["applied"]
        if source not in applied:
            applied.append(source)
    output.write(sys.stdout, "customresourcedefinition.apiextensions.k8s.io/gateways.gateway.networking.k8s.io "
                             "serverside-applied")
    return 0
