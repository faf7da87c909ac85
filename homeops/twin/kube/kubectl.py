"""The twin's `kubectl`: the verbs and resources the runbooks use, with kubectl's output and errors.

Verbs: get, cordon, uncordon, drain, create -f, replace -f, delete (leases, deployments, nodes), scale
(deployments), exec (the Rook toolbox's `ceph`), version. Resources: nodes, services, Flux Kustomizations and HelmReleases,
CephClusters, Leases, Deployments, PersistentVolumes. Every call but `version --client` fails as against a dead API server
under the `api-unreachable` fault.
"""

from __future__ import annotations

import sys

from homeops.twin import cluster, output, versions
from homeops.twin.kube import deployments, get, k8s, lease_verbs, node_delete, node_verbs, toolbox
from homeops.twin.args import Flag, UsageError, parse, reject_unexpected
from homeops.twin.failure import ToolFailure, answer
from homeops.twin.setup import kube_objects

GLOBAL_FLAGS = [Flag("namespace", "n"), Flag("request-timeout"), Flag("kubeconfig"), Flag("context"), Flag("v", "v")]
VERB_FLAGS = {
    "get": [Flag("output", "o"), Flag("all-namespaces", "A", False), Flag("ignore-not-found", None, False),
            Flag("selector", "l")],
    "cordon": [],
    "uncordon": [],
    "drain": [
        Flag("ignore-daemonsets", None, False),
        Flag("delete-emptydir-data", None, False),
        Flag("force", None, False),
        Flag("timeout"),
        Flag("grace-period"),
        Flag("disable-eviction", None, False),
    ],
    "create": [Flag("filename", "f"), Flag("output", "o"), Flag("from-file")],
    "apply": [Flag("filename", "f"), Flag("server-side", None, False)],
    "replace": [Flag("filename", "f"), Flag("output", "o")],
    "delete": [Flag("ignore-not-found", None, False), Flag("wait", None, False), Flag("timeout"), Flag("grace-period")],
    "exec": [Flag("stdin", "i", False), Flag("tty", "t", False), Flag("container", "c")],
    "version": [Flag("client", None, False), Flag("output", "o")],
    "scale": [Flag("replicas"), Flag("current-replicas"), Flag("timeout")],
}


OUTPUT_FORMATS = ("json", "name", "wide")


def main(argv: list[str], twin_dir: str) -> int:
    return answer(_run, argv, twin_dir)


def _run(argv: list[str], twin_dir: str) -> int:
    all_flags = {flag.name: flag for flags in VERB_FLAGS.values() for flag in flags}
    verb = None
    try:
        parsed = parse(argv, GLOBAL_FLAGS + list(all_flags.values()))
        if not parsed.positionals:
            output.write(
                sys.stdout,
                "kubectl controls the Kubernetes cluster manager (homeops twin).\n\n"
                "Usage:\n  kubectl [flags] [options]",
            )
            return 0
        verb = parsed.positionals[0]
        if verb not in VERB_FLAGS:
            raise ToolFailure(f'error: unknown command "{verb}" for "kubectl"')
        reject_unexpected(parsed, {f.name for f in GLOBAL_FLAGS + VERB_FLAGS[verb]})
        output_format = parsed.value("output")
        if output_format is not None and output_format not in OUTPUT_FORMATS:
            raise ToolFailure(
                "error: unable to match a printer suitable for the output format "
                f'"{output_format}", allowed formats are: ' + ",".join(OUTPUT_FORMATS)
            )
        if verb == "version":
            return _version(parsed, twin_dir)
        current, now = cluster.observe(twin_dir)
        refused = k8s.api_refused(current, now)
        if refused:
            _note_outage(twin_dir, now, argv)
            raise ToolFailure(refused)
        if verb == "create" and parsed.positionals[1:2] in (["namespace"], ["ns"], ["secret"]):
            return kube_objects.create(parsed, twin_dir, current, now)
        handler = {
            "apply": kube_objects.apply,
            "get": get.get,
            "cordon": node_verbs.cordon,
            "uncordon": node_verbs.cordon,
            "drain": node_verbs.drain,
            "create": lease_verbs.apply,
            "replace": lease_verbs.apply,
            "delete": _deleter(parsed),
            "scale": deployments.scale,
            "exec": toolbox.exec_command,
        }[verb]
        return handler(parsed, twin_dir, current, now)
    except UsageError as exc:
        verb = verb or next((word for word in argv if word in VERB_FLAGS), None)
        help_for = f"kubectl {verb} --help" if verb else "kubectl --help"
        raise ToolFailure(f"error: {exc}\nSee '{help_for}' for usage.") from None


def _deleter(parsed):
    """Leases, Deployments and Nodes are what the twin lets a user delete."""
    kind = (parsed.positionals[1:2] or [""])[0].split("/", 1)[0]
    if kind in ("deploy", "deployment", "deployments", "deployment.apps", "deployments.apps"):
        return deployments.delete
    if kind in ("node", "nodes", "no"):
        return node_delete.delete
    return lease_verbs.delete


def _note_outage(twin_dir: str, now: float, argv: list[str]) -> None:
    """Every refused call, one line in DIR/api-refusals.log: what drills read to know the API was down."""
    import os

    with open(os.path.join(twin_dir, "api-refusals.log"), "a", encoding="utf-8") as log:
        log.write(f"{now:.3f} kubectl {' '.join(argv)}\n")


def _version(parsed, twin_dir: str) -> int:
    current, now = cluster.observe(twin_dir)
    client = current["versions"].get("kubernetes", "v1.34.1")
    lines = [f"Client Version: {client}", "Kustomize Version: v5.7.1"]
    if not parsed.switch("client"):
        refused = k8s.api_refused(current, now)
        if refused:
            output.write(sys.stdout, "\n".join(lines))
            raise ToolFailure(refused)
        server = min((n["kubelet_version"] for n in current["nodes"]), key=lambda v: versions.parse(v) or (0, 0, 0))
        lines.append(f"Server Version: {server}")
    output.write(sys.stdout, "\n".join(lines))
    return 0
