"""The scenario file: how a twin starts (versions, reboot time) and what goes wrong (faults).

Read with PyYAML's composer so that every problem names its line; this module is only used by
`homeops twin create` and `homeops rehearse`, never by the fake tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from homeops.twin import versions

# fault -> where it applies: "node" (a node is required), "optional-node" (a node may be named),
# "cluster" (no node).
FAULTS: dict[str, str] = {
    "never-ready": "node",
    "drain-blocked": "node",
    "upgrade-error": "node",
    "ceph-degraded": "optional-node",
    "pgs-stuck": "cluster",
    "api-unreachable": "cluster",
    "flux-not-ready": "cluster",
    "etcd-unhealthy": "optional-node",
    "leak-secret": "optional-node",
    "upgrade-without-reboot": "node",
    "mon-down": "cluster",
    "osd-nearfull": "cluster",
}
KEYS = ("talos_version", "kubernetes_version", "reboot_seconds", "faults")
MAX_REBOOT_SECONDS = 600.0


class ScenarioInvalid(Exception):
    """The scenario file cannot be used; `problems` holds every `path:line: message` at once."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Fault:
    fault: str
    node: str | None = None
    line: int = 0  # where the fault is declared, for problems found later (an unknown node)


@dataclass(frozen=True)
class Scenario:
    talos_version: str | None = None
    kubernetes_version: str | None = None
    reboot_seconds: float = 1.0
    faults: tuple[Fault, ...] = ()
    source: str = "(default scenario)"

    def fault_names(self) -> list[str]:
        return [f.fault + (f"@{f.node}" if f.node else "") for f in self.faults]

    def check_against(self, cluster) -> None:
        """Raise ScenarioInvalid when the scenario does not fit `cluster` (a homeops Cluster)."""
        problems = []
        names = [n.name for n in cluster.nodes]
        for fault in self.faults:
            where = f"{self.source}:{fault.line}: fault {fault.fault}"
            if fault.node is None:
                continue
            if fault.node not in names:
                problems.append(f"{where}: no node named {fault.node!r} in cluster.yaml (nodes: {', '.join(names)})")
                continue
            node = cluster.node(fault.node)
            if fault.fault == "etcd-unhealthy" and node.role != "control-plane":
                problems.append(f"{where}: {fault.node} is a worker and runs no etcd member; name a control-plane node")
            if fault.fault == "ceph-degraded" and node.osd_count == 0:
                problems.append(f"{where}: {fault.node} has no Ceph OSD; name a node that has one")
        if self.faults and any(f.fault == "ceph-degraded" for f in self.faults) and not cluster.ceph_hosts:
            problems.append(f"{self.source}: fault ceph-degraded: the cluster has no Ceph OSD at all")
        talos = self.talos_version or cluster.versions.talos
        kubernetes = self.kubernetes_version or cluster.versions.kubernetes
        reason = versions.kubernetes_supported(talos, kubernetes)
        if reason:
            problems.append(f"{self.source}: Talos {talos} cannot run Kubernetes {kubernetes}: {reason}")
        if problems:
            raise ScenarioInvalid(problems)


def load_scenario(path: str | Path, cluster=None) -> Scenario:
    """Read and check a scenario file; with `cluster`, also check the node names it uses."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioInvalid([f"{path}: cannot read the scenario file: {exc.strerror or exc}"]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioInvalid([f"{path}:{line}: not valid YAML: {problem}"]) from None
    scenario = _read(root, str(path))
    if cluster is not None:
        scenario.check_against(cluster)
    return scenario


def _read(root: yaml.Node | None, source: str) -> Scenario:
    if root is None:
        return Scenario(source=source)
    problems: list[str] = []

    def problem(node: yaml.Node, message: str) -> None:
        problems.append(f"{source}:{node.start_mark.line + 1}: {message}")

    if not isinstance(root, yaml.MappingNode):
        problem(root, "the scenario must be a mapping of " + ", ".join(KEYS))
        raise ScenarioInvalid(problems)
    values: dict = {}
    for key_node, value_node in root.value:
        key = key_node.value
        if key in values:
            problem(key_node, f"{key} is given twice")
        elif key not in KEYS:
            problem(key_node, f"unknown key {key!r} (known keys: {', '.join(KEYS)})")
        elif key in ("talos_version", "kubernetes_version"):
            values[key] = _version(value_node, key, problem)
        elif key == "reboot_seconds":
            values[key] = _seconds(value_node, problem)
        else:
            values[key] = _faults(value_node, problem)
    if problems:
        raise ScenarioInvalid(problems)
    values = {k: v for k, v in values.items() if v is not None}
    return Scenario(source=source, **values)


def _construct(node: yaml.Node):
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _version(node: yaml.Node, key: str, problem) -> str | None:
    value = _construct(node)
    if not isinstance(value, str) or versions.parse(value) is None or not value.startswith("v"):
        hint = f" (did you mean v{value}?)" if isinstance(value, str) and versions.parse("v" + value) else ""
        problem(node, f"{key}: {value!r} is not a version of the form vMAJOR.MINOR.PATCH{hint}")
        return None
    return value


def _seconds(node: yaml.Node, problem) -> float | None:
    value = _construct(node)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_REBOOT_SECONDS:
        problem(
            node, f"reboot_seconds: {value!r} must be a number of seconds above 0 and at most {MAX_REBOOT_SECONDS:g}"
        )
        return None
    return float(value)


def _faults(node: yaml.Node, problem) -> tuple[Fault, ...] | None:
    if not isinstance(node, yaml.SequenceNode):
        problem(node, "faults: must be a list of {fault: NAME, node: NAME}")
        return None
    faults = []
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            problem(item, "faults: each entry must be a mapping {fault: NAME, node: NAME}")
            continue
        entry = {}
        for key_node, value_node in item.value:
            if key_node.value not in ("fault", "node"):
                problem(key_node, f"faults: unknown key {key_node.value!r} (an entry has fault and node)")
                continue
            value = _construct(value_node)
            if not isinstance(value, str):
                problem(value_node, f"faults: {key_node.value} must be a name, got {value!r}")
                continue
            entry[key_node.value] = value
        name, target = entry.get("fault"), entry.get("node")
        line = item.start_mark.line + 1
        if name is None:
            if "fault" not in [k.value for k, _ in item.value]:
                problem(item, "faults: entry without `fault` (known faults: " + ", ".join(FAULTS) + ")")
            continue
        if name not in FAULTS:
            problem(item, f"faults: unknown fault {name!r} (known faults: {', '.join(FAULTS)})")
            continue
        applies = FAULTS[name]
        if applies == "node" and target is None:
            problem(item, f"faults: {name} applies to one node: add `node: NAME`")
            continue
        if applies == "cluster" and target is not None:
            problem(item, f"faults: {name} applies to the whole cluster: remove `node: {target}`")
            continue
        if any(f.fault == name and f.node == target for f in faults):
            problem(item, f"faults: {name}" + (f" on {target}" if target else "") + " is given twice")
            continue
        faults.append(Fault(name, target, line))
    return tuple(faults)
