"""`kubectl get`: JSON (an object, or a List), names, and kubectl's tables."""

from __future__ import annotations

import json
import sys

from homeops.twin import output, table
from homeops.twin.flux import objects as flux_objects
from homeops.twin.kube import deployments, k8s, leases, resources
from homeops.twin.failure import ToolFailure


def get(parsed, twin_dir: str, current: dict, now: float) -> int:
    words = parsed.positionals[1:]
    if not words:
        raise ToolFailure(
            'error: You must specify the type of resource to get. Use "kubectl api-resources" for a complete list '
            "of supported resources."
        )
    if "/" in words[0]:
        pairs = [word.split("/", 1) for word in words]
        kind = resources.resolve_kind(pairs[0][0])
        names = [name for _, name in pairs]
    else:
        kind, names = resources.resolve_kind(words[0]), words[1:]
    all_namespaces = parsed.switch("all-namespaces")
    if names and all_namespaces:
        raise ToolFailure("error: a resource cannot be retrieved by name across all namespaces")
    namespace = resources.namespace(parsed)
    items = resources.objects(kind, current, now)
    if kind.namespaced and not all_namespaces:
        items = [item for item in items if item["metadata"]["namespace"] == namespace]
    selector = parsed.value("selector")
    if selector:
        wanted = dict(term.split("=", 1) for term in selector.split(",") if "=" in term)
        items = [item for item in items
                 if all((item["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]
    missing = []
    if names:
        by_name = {item["metadata"]["name"]: item for item in items}
        missing = [name for name in names if name not in by_name]
        items = [by_name[name] for name in names if name in by_name]
    output_format = parsed.value("output")
    if output_format == "json":
        if names and len(names) == 1:
            text = json.dumps(items[0], indent=4) + "\n" if items else ""
        else:
            text = json.dumps(k8s.as_list(items), indent=4) + "\n"
    elif output_format == "name":
        text = "".join(f"{kind.name_prefix}/{item['metadata']['name']}\n" for item in items)
    else:
        text = _table(kind, items, all_namespaces, now, current, wide=output_format == "wide") if items else ""
    output.write(sys.stdout, text)
    if missing and not parsed.switch("ignore-not-found"):
        raise ToolFailure(
            "\n".join(f'Error from server (NotFound): {kind.resource} "{name}" not found' for name in missing)
        )
    if not items and not names and output_format != "json":
        where = f" in {namespace} namespace" if kind.namespaced and not all_namespaces else ""
        output.write(sys.stderr, f"No resources found{where}.")
    return 0


def _table(
    kind: resources.Kind, items: list[dict], all_namespaces: bool, now: float, current: dict, wide: bool
) -> str:
    with_namespace = kind.namespaced and all_namespaces
    prefix = ["NAMESPACE"] if with_namespace else []
    if kind.plural == "nodes":
        by_name = {node["name"]: node for node in current["nodes"]}
        header = k8s.NODE_WIDE_HEADER if wide else k8s.NODE_HEADER
        rows = [k8s.node_row(by_name[item["metadata"]["name"]], now, wide, current.get("cni", True)) for item in items]
    elif kind.plural == "services":
        header = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
        rows = [k8s.service_row(item, with_namespace) for item in items]
    elif kind.plural in ("kustomizations", "helmreleases"):
        header = flux_objects.HEADER
        rows = [flux_objects.row(item, with_namespace) for item in items]
    elif kind.plural == "cephclusters":
        header = k8s.CEPH_CLUSTER_HEADER
        rows = [
            ([item["metadata"]["namespace"]] if with_namespace else []) + k8s.ceph_cluster_row(item) for item in items
        ]
    elif kind.plural == "pods":
        header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        rows = [([item["metadata"]["namespace"]] if with_namespace else [])
                + [item["metadata"]["name"], "1/1" if item["status"]["phase"] == "Running" else "0/1",
                   item["status"]["phase"], "0", "30d"] for item in items]
    elif kind.plural in ("namespaces", "secrets", "certificates", "persistentvolumes"):
        header = ["NAME"]
        rows = [([item["metadata"].get("namespace", "")] if with_namespace else []) + [item["metadata"]["name"]]
                for item in items]
    elif kind.plural == "daemonsets":
        header = ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]
        rows = [([item["metadata"]["namespace"]] if with_namespace else [])
                + [item["metadata"]["name"]] + [str(item["status"][k]) for k in (
                    "desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled",
                    "numberAvailable")] + ["<none>", "30d"] for item in items]
    elif kind.plural == "deployments":
        header = deployments.HEADER
        rows = [deployments.row(item, with_namespace) for item in items]
    else:
        header = leases.HEADER
        rows = [leases.row(item, with_namespace, now) for item in items]
    return table.aligned([prefix + header] + rows)
