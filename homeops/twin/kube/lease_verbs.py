"""`kubectl create -f`, `replace -f` and `delete` for Leases (the only objects the twin lets a
user write, like a narrowly scoped RBAC role)."""

from __future__ import annotations

import json
import sys

from homeops.twin import cluster, output
from homeops.twin.kube import leases, resources
from homeops.twin.failure import ToolFailure


def apply(parsed, twin_dir: str, current: dict, now: float) -> int:
    verb = parsed.positionals[0]
    source = parsed.value("filename")
    if source is None:
        raise ToolFailure("error: must specify one of -f and -k")
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            raise ToolFailure(f'error: the path "{source}" does not exist') from None
    gerund = "creating" if verb == "create" else "replacing"
    body, warnings = leases.parse_body(text, parsed.value("namespace"), gerund)
    for warning in warnings:
        output.write(sys.stderr, warning)
    with cluster.changing(twin_dir) as (live, _):
        saved = leases.create(live, body) if verb == "create" else leases.replace(live, body)
    output_format = parsed.value("output")
    name = saved["metadata"]["name"]
    if output_format == "json":
        output.write(sys.stdout, json.dumps(saved, indent=4))
    elif output_format == "name":
        output.write(sys.stdout, f"lease.coordination.k8s.io/{name}")
    else:
        output.write(sys.stdout, f"lease.coordination.k8s.io/{name} {verb}d")
    return 0


def delete(parsed, twin_dir: str, current: dict, now: float) -> int:
    words = parsed.positionals[1:]
    if not words:
        raise ToolFailure("error: You must provide one or more resources by argument or filename.")
    if "/" in words[0]:
        kind, names = resources.resolve_kind(words[0].split("/", 1)[0]), [w.split("/", 1)[1] for w in words]
    else:
        kind, names = resources.resolve_kind(words[0]), words[1:]
    if not names:
        raise ToolFailure("error: resource(s) were provided, but no name was specified")
    if kind.plural != "leases":
        # The twin's user may only change Leases this way, like a narrowly scoped RBAC role.
        scope = (
            f'in the namespace "{resources.namespace(parsed)}"' if kind.namespaced else "at the cluster scope"
        )
        raise ToolFailure(
            f'Error from server (Forbidden): {kind.resource} "{names[0]}" is forbidden: User "homeops" cannot delete '
            f'resource "{kind.plural}" in API group "{kind.group}" {scope}'
        )
    with cluster.changing(twin_dir) as (live, _):
        for name in names:
            output.write(
                sys.stdout,
                leases.delete(live, resources.namespace(parsed), name, parsed.switch("ignore-not-found")),
            )
    return 0
