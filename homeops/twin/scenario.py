"""The scenario file: how a twin starts (versions, reboot time) and what goes wrong (faults).

Read with homeops.safe_yaml, like cluster.yaml, so that every problem says
`FILE:LINE:COL: path: message`; this module is only used by `homeops twin create` and
`homeops rehearse`, never by the fake tools (which must not pay for PyYAML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homeops.safe_yaml.problems import DataPath, Problem, dotted, found
from homeops.safe_yaml.source import Source, read_file
from homeops.twin import versions

# fault -> where it applies: "node" (a node is required), "optional-node" (a node may be named),
# "cluster" (no node), "release" (a HelmRelease: `name:` and `namespace:` are required).
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
    "etcd-member-lost": "node",
    "control-plane-lost": "node",
    "etcd-nospace": "node",
    "cilium-unhealthy": "cluster",
    "helmrelease-stuck": "release",
    "helmrelease-failing": "release",
    "wipe-incomplete": "node",
    "config-cuts-off": "node",
}
# Faults that only make sense on a control-plane node (an etcd member).
CONTROL_PLANE_FAULTS = ("etcd-unhealthy", "etcd-member-lost", "control-plane-lost", "etcd-nospace")
KEYS = ("talos_version", "kubernetes_version", "reboot_seconds", "maintenance", "faults")
MAX_REBOOT_SECONDS = 600.0


class ScenarioInvalid(Exception):
    """The scenario file cannot be used; `problems` holds every `FILE:LINE:COL: path: message` at once."""

    def __init__(self, problems: list[Problem] | list[str]):
        self.problems = [str(p) for p in problems]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Fault:
    fault: str
    node: str | None = None
    # where the fault is declared (line, column, index in faults), for problems found later (an unknown node)
    line: int = 0
    column: int = 1
    index: int = 0
    release: str | None = None  # "NAMESPACE/NAME" of a HelmRelease, for the "release" faults


@dataclass(frozen=True)
class Scenario:
    talos_version: str | None = None
    kubernetes_version: str | None = None
    reboot_seconds: float = 1.0
    faults: tuple[Fault, ...] = ()
    # Nodes booted from the install image, unconfigured: "all", or names (with their (line, column)).
    maintenance: str | tuple[tuple[str, int, int], ...] = ()
    source: str = "(default scenario)"
    # (line, column) of each top-level key written, for problems found against the cluster
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def fault_names(self) -> list[str]:
        return [f.fault + (f"@{f.node or f.release}" if f.node or f.release else "") for f in self.faults]

    def maintenance_nodes(self, cluster) -> list[str]:
        """The names of the nodes that boot in maintenance mode, in cluster.yaml order."""
        if self.maintenance == "all":
            return [n.name for n in cluster.nodes]
        named = {name for name, _, _ in self.maintenance}
        return [n.name for n in cluster.nodes if n.name in named]

    def check_against(self, cluster) -> None:
        """Raise ScenarioInvalid when the scenario does not fit `cluster` (a homeops Cluster)."""
        problems = []

        def problem(fault: Fault, message: str) -> None:
            path = f"faults[{fault.index}]" + (".node" if fault.node is not None else "")
            problems.append(Problem(fault.line, fault.column, path, f"fault {fault.fault}: {message}", file=self.source,
                                    code="scenario"))

        names = [n.name for n in cluster.nodes]
        if self.maintenance != "all":
            for index, (name, line, column) in enumerate(self.maintenance):
                if name not in names:
                    problems.append(Problem(line, column, f"maintenance[{index}]",
                                            f"no node named {name!r} in cluster.yaml (nodes: {', '.join(names)})",
                                            file=self.source, code="scenario"))
        releases = [f for f in self.faults if f.release is not None]
        if releases:
            from homeops.rendering.inventory import rendered_twin_view

            rendered = [f"{r['namespace']}/{r['name']}" for r in rendered_twin_view(cluster)["helmreleases"]]
            for fault in releases:
                if fault.release not in rendered:
                    problems.append(Problem(fault.line, fault.column, f"faults[{fault.index}].name",
                                            f"fault {fault.fault}: no HelmRelease {fault.release} in kubernetes/ "
                                            f"(HelmReleases: {', '.join(rendered)})", file=self.source,
                                            code="scenario"))
        for fault in self.faults:
            if fault.node is None:
                continue
            if fault.node not in names:
                problem(fault, f"no node named {fault.node!r} in cluster.yaml (nodes: {', '.join(names)})")
                continue
            node = cluster.node(fault.node)
            if fault.fault in CONTROL_PLANE_FAULTS and node.role != "control-plane":
                problem(fault, f"{fault.node} is a worker and runs no etcd member; name a control-plane node")
            if fault.fault == "ceph-degraded" and node.osd_count == 0:
                problem(fault, f"{fault.node} has no Ceph OSD; name a node that has one")
        degraded = [f for f in self.faults if f.fault == "ceph-degraded"]
        if degraded and not cluster.ceph_hosts:
            problem(degraded[0], "the cluster has no Ceph OSD at all")
        talos = self.talos_version or cluster.versions.talos
        kubernetes = self.kubernetes_version or cluster.versions.kubernetes
        reason = versions.kubernetes_supported(talos, kubernetes)
        if reason:
            key = "kubernetes_version" if "kubernetes_version" in self.positions else "talos_version"
            line, column = self.positions.get(key, (1, 1))
            problems.append(Problem(line, column, key if key in self.positions else "",
                                    f"Talos {talos} cannot run Kubernetes {kubernetes}: {reason}", file=self.source,
                                    code="scenario"))
        if problems:
            raise ScenarioInvalid(problems)


def load_scenario(path: str | Path, cluster=None) -> Scenario:
    """Read and check a scenario file; with `cluster`, also check the node names it uses."""
    source = read_file(path, what="the scenario file", top_keys=KEYS)
    if [p.code for p in source.problems] == ["empty-file"]:
        return Scenario(source=source.file)
    scenario = _read(source)
    if cluster is not None:
        scenario.check_against(cluster)
    return scenario


class _Checker:
    """Every problem of one scenario file, each at the position of the value it is about."""

    def __init__(self, source: Source):
        self.source = source
        self.problems: list[Problem] = list(source.problems)

    def value(self, path: DataPath, message: str) -> None:
        self.problems.append(self.source.problem(path, message, "scenario"))

    def key(self, path: DataPath, message: str) -> None:
        line, column = self.source.key_position(path)
        self.problems.append(Problem(line, column, dotted(path), message, file=self.source.file, code="scenario"))


def _read(source: Source) -> Scenario:
    check = _Checker(source)
    if source.data is None:
        raise ScenarioInvalid(sorted(check.problems))
    values: dict[str, Any] = {}
    for key, value in source.data.items():
        if key not in KEYS:
            check.key((key,), f"unknown key {key!r} (known keys: {', '.join(KEYS)})")
        elif key in ("talos_version", "kubernetes_version"):
            values[key] = _version(value, key, check)
        elif key == "reboot_seconds":
            values[key] = _seconds(value, check)
        elif key == "maintenance":
            values[key] = _maintenance(value, check)
        else:
            values[key] = _faults(value, check)
    if check.problems:
        raise ScenarioInvalid(sorted(check.problems))
    values = {k: v for k, v in values.items() if v is not None}
    positions = {key: source.position((key,)) for key in source.data}
    return Scenario(source=source.file, positions=positions, **values)


def _version(value: object, key: str, check: _Checker) -> str | None:
    if isinstance(value, str) and value != value.strip():  # `$` in versions.parse accepts a final newline
        check.value((key,), f"{value!r} is not a version of the form vMAJOR.MINOR.PATCH (it has whitespace "
                    "or a line break around it: remove it)")
        return None
    if not isinstance(value, str) or versions.parse(value) is None or not value.startswith("v"):
        hint = f" (did you mean v{value}?)" if isinstance(value, str) and versions.parse("v" + value) else ""
        shown = repr(value) if isinstance(value, str) else found(value)
        check.value((key,), f"{shown} is not a version of the form vMAJOR.MINOR.PATCH{hint}")
        return None
    return value


def _seconds(value: object, check: _Checker) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_REBOOT_SECONDS:
        shown = repr(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else found(value)
        check.value(("reboot_seconds",),
                    f"{shown} must be a number of seconds above 0 and at most {MAX_REBOOT_SECONDS:g}")
        return None
    return float(value)


def _maintenance(value: object, check: _Checker) -> str | tuple[tuple[str, int, int], ...] | None:
    usage = "must be `all` or a list of node names"
    if value == "all":
        return "all"
    if not isinstance(value, list):
        check.value(("maintenance",), f"{usage}, found {found(value)}")
        return None
    names: list[tuple[str, int, int]] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, str):
            check.value(("maintenance", index), f"must be a node name, found {found(entry)}")
        elif any(entry == name for name, _, _ in names):
            check.value(("maintenance", index), f"{entry} is given twice")
        else:
            names.append((entry, *check.source.position(("maintenance", index))))
    return tuple(names)


def _faults(value: object, check: _Checker) -> tuple[Fault, ...] | None:
    if not isinstance(value, list):
        check.value(("faults",), f"must be a list of {{fault: NAME, node: NAME}}, found {found(value)}")
        return None
    faults: list[Fault] = []
    for index, entry in enumerate(value):
        fault = _fault(entry, ("faults", index), check, faults)
        if fault is not None:
            faults.append(fault)
    return tuple(faults)


def _fault(entry: object, path: DataPath, check: _Checker, earlier: list[Fault]) -> Fault | None:
    if not isinstance(entry, dict):
        check.value(path, f"each fault must be a mapping {{fault: NAME, node: NAME}}, found {found(entry)}")
        return None
    fields: dict[str, str] = {}
    for key, value in entry.items():
        if key not in ("fault", "node", "name", "namespace"):
            check.key((*path, key), f"unknown key {key!r} (a fault has fault, and node or name and namespace)")
        elif not isinstance(value, str):
            check.value((*path, key), f"must be a name, found {found(value)}")
        else:
            fields[key] = value
    name, target = fields.get("fault"), fields.get("node")
    if name is None:
        if "fault" not in entry:
            check.value(path, "entry without `fault` (known faults: " + ", ".join(FAULTS) + ")")
        return None
    if name not in FAULTS:
        check.value((*path, "fault"), f"unknown fault {name!r} (known faults: {', '.join(FAULTS)})")
        return None
    applies = FAULTS[name]
    if applies != "release":
        for key in ("name", "namespace"):
            if key in entry:
                check.key((*path, key), f"{name} names no HelmRelease: remove `{key}:`")
        if "name" in entry or "namespace" in entry:
            return None
    else:
        return _release_fault(name, entry, fields, path, check, earlier)
    if applies == "node" and target is None and "node" not in entry:
        check.value(path, f"{name} applies to one node: add `node: NAME`")
        return None
    if applies == "cluster" and target is not None:
        check.key((*path, "node"), f"{name} applies to the whole cluster: remove `node: {target}`")
        return None
    if "node" in entry and target is None:
        return None  # its node was reported above
    if any(f.fault == name and f.node == target for f in earlier):
        check.value(path, f"{name}" + (f" on {target}" if target else "") + " is given twice")
        return None
    line, column = check.source.position((*path, "node") if target else path)
    return Fault(name, target, line, column, path[1])


def _release_fault(name: str, entry: dict, fields: dict[str, str], path: DataPath, check: _Checker,
                   earlier: list[Fault]) -> Fault | None:
    if "node" in entry:
        check.key((*path, "node"), f"{name} applies to a HelmRelease: remove `node:`, give `name:` and `namespace:`")
    missing = [key for key in ("name", "namespace") if key not in entry]
    if missing:
        check.value(path, f"{name} applies to one HelmRelease: add " + " and ".join(f"`{k}: ...`" for k in missing))
    if "node" in entry or missing or "name" not in fields or "namespace" not in fields:
        return None
    release = f"{fields['namespace']}/{fields['name']}"
    if any(f.fault == name and f.release == release for f in earlier):
        check.value(path, f"{name} on {release} is given twice")
        return None
    line, column = check.source.position((*path, "name"))
    return Fault(name, None, line, column, path[1], release)
