"""The twin's `helm`: `list --output json` and `upgrade --install` of a release, against the twin's API."""

from __future__ import annotations

import json
import os
import sys

from homeops.twin import cluster, output
from homeops.twin.args import Flag, UsageError, parse
from homeops.twin.failure import ToolFailure, answer
from homeops.twin.kube import k8s
from homeops.twin.setup import progress

FLAGS = [Flag("namespace", "n"), Flag("filter", "f"), Flag("output", "o"), Flag("install", "i", False),
         Flag("repo"), Flag("version"), Flag("values"), Flag("wait", None, False), Flag("timeout"),
         Flag("kubeconfig")]


def main(argv: list[str], twin_dir: str) -> int:
    return answer(_run, argv, twin_dir, not_a_twin="Error: ")


def _run(argv: list[str], twin_dir: str) -> int:
    try:
        parsed = parse(argv, FLAGS)
    except UsageError as exc:
        raise ToolFailure(f"Error: {exc}") from None
    words = parsed.positionals
    current, now = cluster.observe(twin_dir)
    refused = k8s.api_refused(current, now)
    if words[:1] in (["list"], ["upgrade"]) and refused:
        raise ToolFailure(f"Error: Kubernetes cluster unreachable: {refused}")
    namespace = parsed.value("namespace") or "default"
    if words[:1] == ["list"]:
        releases = []
        for key, version in sorted(progress.of(current)["helm"].items()):
            release_namespace, name = key.split("/", 1)
            if release_namespace == namespace and parsed.value("filter", "^.*$").strip("^$") in (name, ".*"):
                releases.append({"name": name, "namespace": release_namespace, "revision": "1",
                                 "updated": "2026-01-01 00:00:00 +0000 UTC", "status": "deployed",
                                 "chart": f"{name}-{version}", "app_version": version})
        output.write(sys.stdout, json.dumps(releases))
        return 0
    if words[:1] == ["upgrade"] and parsed.switch("install") and len(words) == 3:
        values = parsed.value("values")
        if values and not os.path.isfile(values):
            raise ToolFailure(f"Error: open {values}: no such file or directory")
        with cluster.changing(twin_dir) as (state, _):
            progress.editable(state)["helm"][f"{namespace}/{words[1]}"] = parsed.value("version")
            if f"{namespace}/{words[1]}" == progress.CILIUM:
                state["cni"] = True  # the nodes' network: they turn Ready
        output.write(sys.stdout, f'Release "{words[1]}" has been upgraded. Happy Helming!\nNAME: {words[1]}\n'
                                 f"NAMESPACE: {namespace}\nSTATUS: deployed")
        return 0
    raise ToolFailure(f"Error: the homeops twin's helm does not know {' '.join(words)!r}")

