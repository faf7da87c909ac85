"""Read cluster.yaml into the model: safe_yaml (data, positions) -> model (formats) -> rules (relations).

`check_cluster` reports every problem of a file at once and never raises for a bad file;
`load_cluster` is what the docs and the runbooks call: the model, or `ClusterInvalid`.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from homeops.cluster import rules
from homeops.cluster import component_support
from homeops.cluster.model import Cluster, LoadBalancer, Network, Node, Secrets, Talos, Versions
from homeops import collector
from homeops.safe_yaml.problems import DataPath, Problem, dotted, found
from homeops.safe_yaml.source import Source, read_file, read_source

class ClusterInvalid(Exception):
    """cluster.yaml cannot be used; `problems` holds every reason at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# What the top level of cluster.yaml holds, for the message when it is not a mapping.
TOP_KEYS = tuple(Cluster.model_fields)


@dataclass(frozen=True)
class Checked:
    """The outcome of checking one file: the model when it has no error, and every problem."""

    file: str
    cluster: Cluster | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)


def load_cluster(path: str | Path = "cluster.yaml") -> Cluster:
    """The cluster described by `path`; raises `ClusterInvalid` with every error (warnings do not raise)."""
    checked = check_cluster(path)
    if checked.cluster is None:
        raise ClusterInvalid(list(checked.errors))
    return checked.cluster


def check_cluster(path: str | Path = "cluster.yaml") -> Checked:
    """Check the file at `path`; messages name it as given (`cluster.yaml:12:14: ...`)."""
    with collector.paused():  # the model and the facts are as many objects again as the document
        return _check(read_file(path, top_keys=TOP_KEYS))


def check_text(text: str, file: str = "cluster.yaml") -> Checked:
    with collector.paused():
        return _check(read_source(text, file, top_keys=TOP_KEYS))


def _check(source: Source) -> Checked:
    file = source.file
    problems = list(source.problems)
    cluster = None
    if source.data is not None:
        try:
            cluster = Cluster.model_validate(source.data)
            facts = _facts_from_cluster(cluster, source)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            problems += [_field_problem(error, source) for error in errors]
            facts = _facts_from_data(source, {tuple(e["loc"]) for e in errors})
        problems += rules.check(facts)
    problems.sort()
    if any(p.is_error for p in problems):
        cluster = None
    return Checked(file, cluster, tuple(problems))


# --- pydantic's errors, as problems at the position of the value -----------------------------

_EXPECTED = {
    "model_type": "a mapping", "model_attributes_type": "a mapping", "dict_type": "a mapping",
    "tuple_type": "a list", "list_type": "a list",
    "string_type": "a string", "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "bool_type": "a boolean", "float_type": "a number",
}


def _field_problem(error: dict[str, Any], source: Source) -> Problem:
    loc: DataPath = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        parent = loc[:-1]
        where = f" from {dotted(parent)}" if parent else ""
        description = _field_description(loc)
        message = f"required key {loc[-1]!r} is missing{where}"
        if description:  # the descriptions are Markdown for the docs
            message += f" ({description.rstrip('.').replace('`', '')})"
        return _problem_at(source.key_position(parent), loc, message, "missing-key", source)
    if kind == "extra_forbidden":
        return _problem_at(source.key_position(loc), loc, _unknown_key_message(loc), "unknown-key", source)
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        model = _model_at(loc)
        if model is not None:
            expected += " with the keys " + ", ".join(_required_keys(model))
        hint = " (quote it)" if kind == "string_type" and isinstance(error["input"], (int, float)) else ""
        return _problem_at(source.position(loc), loc, f"expected {expected}, found {found(error['input'])}{hint}",
                           "wrong-type", source)
    if kind == "literal_error":
        expected = error["ctx"]["expected"]
        message = f"must be {expected}, found {found(error['input'])}"
        if isinstance(error["input"], str):
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
            close = difflib.get_close_matches(error["input"], choices, n=1, cutoff=0.5)
            message += f" (did you mean {close[0]!r}?)" if close else ""
        return _problem_at(source.position(loc), loc, message, "role" if loc[-1] == "role" else "wrong-value", source)
    if kind == "greater_than_equal":
        return _problem_at(source.position(loc), loc, f"must be {error['ctx']['ge']} or more, found "
                           f"{found(error['input'])}", "out-of-range", source)
    if kind == "less_than_equal":
        return _problem_at(source.position(loc), loc, f"must be {error['ctx']['le']} or less, found "
                           f"{found(error['input'])}", "out-of-range", source)
    # The formats raise their own error types ("version", "cidr-host-bits"...) with a full message.
    return _problem_at(source.position(loc), loc, error["msg"], kind, source)


def _problem_at(position: tuple[int, int], loc: DataPath, message: str, code: str, source: Source) -> Problem:
    return Problem(position[0], position[1], dotted(loc), message, file=source.file, code=code)


def _unknown_key_message(loc: DataPath) -> str:
    key = loc[-1]
    model = _model_at(loc[:-1])
    valid = list(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    where = f" in {dotted(loc[:-1])}" if loc[:-1] else ""
    if close:
        return f"unknown key {key!r}{where} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r}{where} (valid keys: {', '.join(valid)})"


def _required_keys(model: type[BaseModel]) -> list[str]:
    return [name for name, field in model.model_fields.items() if field.is_required()]


def _field_description(loc: DataPath) -> str | None:
    model = _model_at(loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model is not None else None
    return field.description if field is not None else None


def _model_at(loc: DataPath) -> type[BaseModel] | None:
    """The model class that describes the value at `loc`, if that value is a mapping of the model."""
    annotation: Any = Cluster
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            args = typing.get_args(annotation)
            if typing.get_origin(annotation) not in (tuple, list) or not args:
                return None
            annotation = args[0]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and part in annotation.model_fields:
            annotation = annotation.model_fields[part].annotation
        else:
            return None
    annotation = _unwrap(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    # Optional[X] -> X; Annotated[X, ...] -> X
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _unwrap(options[0])
    return annotation


# --- what the rules may rely on ----------------------------------------------------------------


def _facts_from_cluster(cluster: Cluster, source: Source) -> rules.Facts:
    network = cluster.network
    return rules.Facts(
        file=source.file,
        locate=source.position,
        node_cidr=network.node_cidr,
        pod_cidr=network.pod_cidr,
        service_cidr=network.service_cidr,
        control_plane_vip=network.control_plane_vip,
        talos_version=cluster.versions.talos,
        kubernetes_version=cluster.versions.kubernetes,
        nodes=tuple(rules.NodeFacts(i, n.name, n.role, n.address, n.osd_count) for i, n in enumerate(cluster.nodes)),
        roles_known=True,
        load_balancers=tuple(
            rules.LoadBalancerFacts(i, lb.name, lb.address) for i, lb in enumerate(network.load_balancers)
        ),
        component_versions=tuple(
            (key, getattr(cluster.versions, key)) for key in component_support.COMPONENTS
            if getattr(cluster.versions, key) is not None
        ),
        zfs_localpv_version=cluster.versions.zfs_localpv,
        schematic_id=cluster.talos.schematic_id,
        extensions=cluster.talos.extensions,
        s3_backups=cluster.backups is not None,
        age_public_key="absent" if cluster.secrets.age_public_key is None else "set",
    )


_FAILED = object()  # a field that is absent, or was reported as a problem


@lru_cache(maxsize=None)
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    return TypeAdapter(model.model_fields[name].rebuild_annotation())


def _parsed(model: type[BaseModel], mapping: object, path: DataPath, name: str, failed: set[DataPath]) -> Any:
    """The typed value of one field, or _FAILED when it is absent or had a problem of its own."""
    if not isinstance(mapping, dict):
        return _FAILED
    if name not in mapping:
        field = model.model_fields[name]
        return _FAILED if field.is_required() else field.default
    if (*path, name) in failed:
        return _FAILED
    try:
        return _adapter(model, name).validate_python(mapping[name])
    except ValidationError:
        return _FAILED


def _known(value: Any) -> Any:
    return None if value is _FAILED else value


def _facts_from_data(source: Source, error_locs: set[DataPath]) -> rules.Facts:
    """Facts from a file that did not validate: every field that passed its own check, and no other."""
    failed = {loc[:end] for loc in error_locs for end in range(1, len(loc) + 1)}
    data = source.data or {}
    network = data.get("network")
    versions = data.get("versions")
    nodes, roles_known = _node_facts(data.get("nodes"), failed)
    load_balancers = ()
    raw_lbs = network.get("load_balancers") if isinstance(network, dict) else None
    if isinstance(raw_lbs, list):
        load_balancers = tuple(
            rules.LoadBalancerFacts(
                i,
                _known(_parsed(LoadBalancer, item, ("network", "load_balancers", i), "name", failed)),
                _known(_parsed(LoadBalancer, item, ("network", "load_balancers", i), "address", failed)),
            )
            for i, item in enumerate(raw_lbs)
        )

    def network_field(name: str) -> Any:
        return _known(_parsed(Network, network, ("network",), name, failed))

    def version(name: str) -> Any:
        return _known(_parsed(Versions, versions, ("versions",), name, failed))

    talos = data.get("talos")
    extensions = _parsed(Talos, talos, ("talos",), "extensions", failed)
    backups = data.get("backups")
    secrets = data.get("secrets")
    age_key = _parsed(Secrets, secrets, ("secrets",), "age_public_key", failed) if secrets is not None else None

    return rules.Facts(
        file=source.file,
        locate=source.position,
        node_cidr=network_field("node_cidr"),
        pod_cidr=network_field("pod_cidr"),
        service_cidr=network_field("service_cidr"),
        control_plane_vip=network_field("control_plane_vip"),
        talos_version=version("talos"),
        kubernetes_version=version("kubernetes"),
        nodes=nodes,
        roles_known=roles_known,
        load_balancers=load_balancers,
        component_versions=tuple(
            (key, version(key)) for key in component_support.COMPONENTS if version(key) is not None
        ),
        zfs_localpv_version=version("zfs_localpv"),
        schematic_id=_known(_parsed(Talos, talos, ("talos",), "schematic_id", failed)),
        extensions=None if extensions is _FAILED else extensions,
        s3_backups=isinstance(backups, dict) and backups.get("s3") is not None,
        age_public_key="unknown" if age_key is _FAILED else ("absent" if age_key is None else "set"),
    )


def _node_facts(raw_nodes: object, failed: set[DataPath]) -> tuple[tuple[rules.NodeFacts, ...], bool]:
    if not isinstance(raw_nodes, list):
        return (), False
    facts = []
    roles_known = True
    for i, item in enumerate(raw_nodes):
        path = ("nodes", i)
        role = _parsed(Node, item, path, "role", failed)
        osds = _parsed(Node, item, path, "osds", failed)
        if role is _FAILED or osds is _FAILED:
            roles_known = False
            osd_count = None
        else:
            # the model's own default rule (1 OSD on a worker), on the two fields that parsed
            osd_count = Node.model_construct(role=role, osds=osds).osd_count
        facts.append(rules.NodeFacts(
            i,
            _known(_parsed(Node, item, path, "name", failed)),
            _known(role),
            _known(_parsed(Node, item, path, "address", failed)),
            osd_count,
        ))
    return tuple(facts), roles_known
