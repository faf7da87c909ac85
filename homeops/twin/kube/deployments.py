"""The twin's Deployments: the Rook operator, its toolbox and one `rook-ceph-osd-N` per OSD, as the
API server returns them, with `kubectl scale` and `kubectl delete deployment`.

Only what differs from the built cluster is stored, in `state["deployments"]` under `NS/NAME`:
`{"replicas": N, "scaled_at": T}` after a scale, `{"deleted": True}` after a delete. A Deployment
scaled to 0 has no pod: an OSD's goes down (Ceph marks it out after its down-out interval), and
while the operator has 0 replicas Rook's controllers do nothing (no new OSD, no noout handling),
as in Rook's "Ceph OSD Management" where the operator is stopped so it does not undo the removal.
"""

from __future__ import annotations

import sys

from homeops.twin import clock, output
from homeops.twin.failure import ToolFailure

NAMESPACE = "rook-ceph"
OPERATOR = "rook-ceph-operator"
TOOLBOX = "rook-ceph-tools"
OSD_PREFIX = "rook-ceph-osd-"


def _store(state: dict) -> dict:
    return state.get("deployments") or {}


def _key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def osd_name(osd: int) -> str:
    return f"{OSD_PREFIX}{osd}"


def _built(state: dict) -> list[tuple[str, str]]:
    """The Deployments the built cluster has, before any change: the operator, the toolbox (when
    deployed) and one per OSD that exists."""
    names = [OPERATOR]
    if (state.get("rook") or {}).get("toolbox", True):
        names.append(TOOLBOX)
    names += [osd_name(osd) for node in state["nodes"] for osd in node["osds"]]
    built = [(NAMESPACE, name) for name in names]
    # An OSD purged from Ceph keeps its Deployment until someone deletes it.
    kept = [tuple(key.split("/", 1)) for key, entry in _store(state).items() if entry.get("made")]
    return built + [key for key in kept if key not in built]


def exists(state: dict, namespace: str, name: str) -> bool:
    if (namespace, name) not in _built(state):
        return False
    return not _store(state).get(_key(namespace, name), {}).get("deleted")


def replicas(state: dict, namespace: str, name: str) -> int | None:
    """The Deployment's spec.replicas, or None when there is no such Deployment."""
    if not exists(state, namespace, name):
        return None
    return int(_store(state).get(_key(namespace, name), {}).get("replicas", 1))


def operator_running(state: dict) -> bool:
    """Whether Rook's operator runs: not while scaled to 0 (or deleted)."""
    return (replicas(state, NAMESPACE, OPERATOR) or 0) > 0


def running_since(state: dict) -> float:
    """When the operator was last scaled up (0.0: it has run since the cluster was built)."""
    entry = _store(state).get(_key(NAMESPACE, OPERATOR), {})
    return float(entry.get("scaled_at", 0.0)) if entry.get("replicas", 1) > 0 else 0.0


def osd_stopped_at(state: dict, osd: int) -> float | None:
    """When the OSD's Deployment was scaled to 0 (its pod gone), or None while it runs."""
    entry = _store(state).get(_key(NAMESPACE, osd_name(osd)), {})
    if entry.get("deleted") or entry.get("replicas", 1) == 0:
        return float(entry.get("scaled_at", 0.0))
    return None


def keep_purged_osd(state: dict, osd: int, host: str) -> None:
    entry = state.setdefault("deployments", {}).setdefault(_key(NAMESPACE, osd_name(osd)), {})
    if not entry.get("deleted"):
        entry.update(made=True, host=host)


def forget_osd(state: dict, osd: int) -> None:
    """A new OSD that takes a purged one's id gets a fresh Deployment (Rook makes it)."""
    _store(state).pop(_key(NAMESPACE, osd_name(osd)), None)


def objects(state: dict, now: float) -> list[dict]:
    from homeops.twin.kube import k8s  # k8s imports ceph, which reads this module

    made = clock.rfc3339(k8s.born(state))
    hosts = {osd: node for node in state["nodes"] for osd in node["osds"]}
    items = []
    for namespace, name in _built(state):
        wanted = replicas(state, namespace, name)
        if wanted is None:
            continue
        labels = {"app": name}
        if name.startswith(OSD_PREFIX):
            osd = int(name.removeprefix(OSD_PREFIX))
            node = hosts.get(osd)
            host = (node.get("crush_host") or node["name"]) if node else _store(state)[_key(namespace, name)]["host"]
            labels = {"app": "rook-ceph-osd", "ceph-osd-id": str(osd), "osd": str(osd),
                      "topology-location-host": host, "topology-location-root": "default"}
            # A purged OSD's pod cannot start again (its key is gone): never ready.
            ready = wanted if node and _osd_node_runs(state, node, now) else 0
        else:
            ready = wanted
        status: dict = {"observedGeneration": 2}
        if wanted:
            # The API server leaves zero counts out of a Deployment's status.
            status.update(replicas=wanted, updatedReplicas=wanted)
            if ready:
                status.update(readyReplicas=ready, availableReplicas=ready)
            else:
                status["unavailableReplicas"] = wanted
        items.append({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"creationTimestamp": made, "generation": 2, "labels": labels, "name": name,
                         "namespace": namespace, "resourceVersion": str(state["resource_version"])},
            "spec": {"replicas": wanted, "selector": {"matchLabels": labels}},
            "status": status,
        })
    return items


def _osd_node_runs(state: dict, node: dict, now: float) -> bool:
    from homeops.twin import nodes

    return nodes.phase(node, now) in (nodes.RUNNING, nodes.UPGRADING) and not node["drained"]


HEADER = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]


def row(item: dict, with_namespace: bool) -> list[str]:
    status = item["status"]
    wanted = item["spec"]["replicas"]
    cells = [item["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{wanted}",
             str(status.get("updatedReplicas", 0)), str(status.get("availableReplicas", 0)), "30d"]
    return ([item["metadata"]["namespace"]] if with_namespace else []) + cells


def _targets(parsed, verb: str) -> list[str]:
    words = parsed.positionals[1:]
    if not words:
        raise ToolFailure(f"error: You must provide one or more resources by argument or filename.")
    if "/" in words[0]:
        kinds = {word.split("/", 1)[0] for word in words}
        names = [word.split("/", 1)[1] for word in words]
    else:
        kinds, names = {words[0]}, words[1:]
    if not kinds <= {"deploy", "deployment", "deployments", "deployment.apps", "deployments.apps"}:
        raise ToolFailure(f'error: the twin can only {verb} deployments, not "{sorted(kinds)[0]}"')
    if not names:
        raise ToolFailure("error: resource(s) were provided, but no name was specified")
    return names


def scale(parsed, twin_dir: str, current: dict, now: float) -> int:
    """`kubectl scale deployment NAME -n NS --replicas=N`: kubectl's `deployment.apps/NAME scaled`."""
    from homeops.twin import cluster

    names = _targets(parsed, "scale")
    text = parsed.value("replicas")
    if text is None:
        raise ToolFailure('error: required flag(s) "replicas" not set')
    try:
        count = int(text)
    except ValueError:
        raise ToolFailure(f'error: invalid argument "{text}" for "--replicas" flag: strconv.ParseInt: '
                          f'parsing "{text}": invalid syntax') from None
    if count < 0:
        raise ToolFailure("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    namespace = parsed.value("namespace") or "default"
    with cluster.changing(twin_dir) as (live, moment):
        missing = [name for name in names if replicas(live, namespace, name) is None]
        if missing:
            raise ToolFailure(f'Error from server (NotFound): deployments.apps "{missing[0]}" not found')
        store = live.setdefault("deployments", {})
        for name in names:
            entry = store.setdefault(_key(namespace, name), {})
            if entry.get("replicas", 1) != count:
                entry.update(replicas=count, scaled_at=moment)
            live["resource_version"] += 1
    for name in names:
        output.write(sys.stdout, f"deployment.apps/{name} scaled")
    return 0


def delete(parsed, twin_dir: str, current: dict, now: float) -> int:
    """`kubectl -n NS delete deployment NAME`: kubectl's `deployment.apps "NAME" deleted`."""
    from homeops.twin import cluster

    names = _targets(parsed, "delete")
    namespace = parsed.value("namespace") or "default"
    with cluster.changing(twin_dir) as (live, moment):
        missing = [name for name in names if replicas(live, namespace, name) is None]
        if missing and not parsed.switch("ignore-not-found"):
            raise ToolFailure(f'Error from server (NotFound): deployments.apps "{missing[0]}" not found')
        store = live.setdefault("deployments", {})
        for name in names:
            if name in missing:
                continue
            entry = store.setdefault(_key(namespace, name), {})
            entry.setdefault("scaled_at", moment)
            entry.update(deleted=True)
            live["resource_version"] += 1
    for name in names:
        if name not in missing:
            output.write(sys.stdout, f'deployment.apps "{name}" deleted')
    return 0
