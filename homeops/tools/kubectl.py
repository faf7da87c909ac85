"""kubectl: nodes, cordon/uncordon/drain, Services, and the JSON of any resource list."""

from __future__ import annotations

import re
from typing import Sequence

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.decode import ToolOutputInvalid, json_object
from homeops.tools.shapes import DaemonSetStatus, LoadBalancerService, NodeStatus, OsdPod

READ_TIMEOUT = 30.0  # seconds for one read against the API server; it answers in well under a second
CHANGE_TIMEOUT = 60.0
DRAIN_MARGIN = 30.0  # kubectl needs a moment beyond its own --timeout to report and exit

CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
_TALOS_IMAGE = re.compile(r"^Talos \((v[^)]+)\)")


def _read_argv(args: Sequence[str], timeout: float) -> list[str]:
    # The API server gives up before the process timeout does, so a dead API gives kubectl's own message.
    return ["kubectl", *args, f"--request-timeout={max(int(timeout) - 5, 1)}s"]


def get_json(args: Sequence[str], *, timeout: float = READ_TIMEOUT) -> dict:
    argv = _read_argv([*args, "-o", "json"], timeout)
    return json_object(process.run(argv, timeout=timeout).stdout, argv)


def items(args: Sequence[str], *, timeout: float = READ_TIMEOUT) -> list[dict]:
    argv = _read_argv([*args, "-o", "json"], timeout)
    document = json_object(process.run(argv, timeout=timeout).stdout, argv)
    found = document.get("items")
    if not isinstance(found, list):
        raise ToolOutputInvalid(argv, str(document)[:200], "a Kubernetes List with .items")
    return found


def parse_node(obj: dict) -> NodeStatus:
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    info = status.get("nodeInfo") or {}
    ready = next(
        (c.get("status", "Unknown") for c in status.get("conditions") or [] if c.get("type") == "Ready"), "Unknown"
    )
    internal_ip = next(
        (a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), None
    )
    os_image = info.get("osImage", "")
    talos = _TALOS_IMAGE.match(os_image)
    labels = metadata.get("labels") or {}
    return NodeStatus(
        name=metadata.get("name", ""),
        role="control-plane" if CONTROL_PLANE_LABEL in labels else "worker",
        ready=ready,
        unschedulable=bool((obj.get("spec") or {}).get("unschedulable", False)),
        internal_ip=internal_ip,
        kubelet_version=info.get("kubeletVersion", ""),
        os_image=os_image,
        talos_version=talos.group(1) if talos else None,
        boot_id=info.get("bootID", ""),
    )


def parse_nodes(document: dict) -> list[NodeStatus]:
    return [parse_node(item) for item in document.get("items") or []]


def nodes(*, timeout: float = READ_TIMEOUT) -> list[NodeStatus]:
    return [parse_node(item) for item in items(["get", "nodes"], timeout=timeout)]


def node(name: str, *, timeout: float = READ_TIMEOUT) -> NodeStatus:
    return parse_node(get_json(["get", "node", name], timeout=timeout))


def cordon(gate: Gate, name: str, *, why: str = "") -> None:
    gate.change(["kubectl", "cordon", name], timeout=CHANGE_TIMEOUT, why=why, about=name, unsure="may be cordoned")


def uncordon(gate: Gate, name: str, *, why: str = "") -> None:
    gate.change(["kubectl", "uncordon", name], timeout=CHANGE_TIMEOUT, why=why, about=name,
                unsure="may still be cordoned")


def drain(gate: Gate, name: str, *, timeout: float, why: str = "") -> None:
    """Evict every pod but DaemonSets'; kubectl gives up after `timeout` seconds (a PDB may refuse forever)."""
    gate.change(
        ["kubectl", "drain", name, "--ignore-daemonsets", "--delete-emptydir-data", f"--timeout={_seconds(timeout)}"],
        timeout=timeout + DRAIN_MARGIN,
        why=why,
        about=name,
        unsure="may be cordoned and partly drained",
    )


def parse_load_balancers(document: dict) -> list[LoadBalancerService]:
    found = []
    for item in document.get("items") or []:
        if (item.get("spec") or {}).get("type") != "LoadBalancer":
            continue
        metadata = item.get("metadata") or {}
        ingress = ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        found.append(
            LoadBalancerService(
                namespace=metadata.get("namespace", ""),
                name=metadata.get("name", ""),
                addresses=tuple(i["ip"] for i in ingress if i.get("ip")),
            )
        )
    return found


def load_balancers(*, timeout: float = READ_TIMEOUT) -> list[LoadBalancerService]:
    return parse_load_balancers({"items": items(["get", "services", "-A"], timeout=timeout)})


OSD_POD_SELECTOR = "app=rook-ceph-osd"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def parse_osd_pods(document: dict) -> list[OsdPod]:
    found = []
    for item in document.get("items") or []:
        labels = (item.get("metadata") or {}).get("labels") or {}
        spec = item.get("spec") or {}
        osd = labels.get("ceph-osd-id", "")
        if not osd.isdigit():
            continue
        node = spec.get("nodeName") or (spec.get("nodeSelector") or {}).get(HOSTNAME_LABEL, "")
        found.append(OsdPod(int(osd), node, labels.get("topology-location-host", "")))
    return found


def osd_pods(*, timeout: float = READ_TIMEOUT) -> list[OsdPod]:
    """Where Rook runs each OSD: its `rook-ceph-osd` pods in the rook-ceph namespace."""
    return parse_osd_pods({"items": items(["-n", "rook-ceph", "get", "pods", "-l", OSD_POD_SELECTOR],
                                          timeout=timeout)})


def parse_daemonset(obj: dict) -> DaemonSetStatus:
    metadata, status = obj.get("metadata") or {}, obj.get("status") or {}

    def number(key: str) -> int:
        value = status.get(key, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    generation = metadata.get("generation")
    observed = status.get("observedGeneration")
    return DaemonSetStatus(metadata.get("namespace", ""), metadata.get("name", ""),
                           number("desiredNumberScheduled"), number("numberReady"), number("updatedNumberScheduled"),
                           number("numberAvailable"),
                           generation if isinstance(generation, int) else None,
                           observed if isinstance(observed, int) else None)


def daemonset(namespace: str, name: str, *, timeout: float = READ_TIMEOUT) -> DaemonSetStatus:
    return parse_daemonset(get_json(["-n", namespace, "get", "daemonsets.apps", name], timeout=timeout))


def _seconds(value: float) -> str:
    """A Go duration in seconds, as kubectl and talosctl read them: 900 -> "900s", 0.5 -> "0.5s"."""
    return f"{value:g}s"


def exists(args: Sequence[str], *, timeout: float = READ_TIMEOUT) -> bool:
    """`kubectl get ... -o name --ignore-not-found`: a name printed, or nothing; never the object's
    data (a Secret's included)."""
    argv = _read_argv([*args, "-o", "name", "--ignore-not-found"], timeout)
    return bool(process.run(argv, timeout=timeout).stdout.strip())


def apply_server_side(gate: Gate, source: str, *, why: str = "") -> None:
    gate.change(["kubectl", "apply", "--server-side", "-f", source], timeout=CHANGE_TIMEOUT * 2, why=why)


def create_namespace(gate: Gate, name: str, *, why: str = "") -> None:
    gate.change(["kubectl", "create", "namespace", name], timeout=CHANGE_TIMEOUT, why=why)


def create_secret_from_file(gate: Gate, namespace: str, name: str, key: str, path: str, *, why: str = "") -> None:
    """A generic Secret holding the file at `path` under `key`: the value is read by kubectl, never on a
    command line."""
    gate.change(["kubectl", "-n", namespace, "create", "secret", "generic", name, f"--from-file={key}={path}"],
                timeout=CHANGE_TIMEOUT, why=why)
