"""`kubectl delete node NAME`: the Node object goes (kubectl: `node "NAME" deleted`). The machine
itself is untouched: a kubelet that still runs registers it again at its next heartbeat, which is
why node-remove resets the node first."""

from __future__ import annotations

import sys

from homeops.twin import cluster, nodes, output
from homeops.twin.failure import ToolFailure


def delete(parsed, twin_dir: str, current: dict, now: float) -> int:
    words = parsed.positionals[1:]
    names = [w.split("/", 1)[1] for w in words] if "/" in words[0] else words[1:]
    if not names:
        raise ToolFailure("error: resource(s) were provided, but no name was specified")
    with cluster.changing(twin_dir) as (live, _):
        missing = [n for n in names if (nodes.find(live, name=n) or {}).get("registered", True) is False
                   or nodes.find(live, name=n) is None]
        for name in names:
            if name in missing:
                continue
            node = nodes.find(live, name=name)
            node["registered"] = False
            node.pop("registered_at", None)
            live["resource_version"] += 1
    for name in names:
        if name not in missing:
            output.write(sys.stdout, f'node "{name}" deleted')
    if missing and not parsed.switch("ignore-not-found"):
        raise ToolFailure("\n".join(f'Error from server (NotFound): nodes "{n}" not found' for n in missing))
    return 0
