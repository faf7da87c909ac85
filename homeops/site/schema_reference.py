"""The cluster.yaml reference, generated from the pydantic model so it cannot fall behind the schema.

Each row is one key path (`network.load_balancers[].address`), its type, whether it is required
(or its default) and the Field description the model carries.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from types import NoneType, UnionType

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from homeops.cluster import formats
from homeops.cluster.model import Cluster
from homeops.site.markdown import cell, code, table, text_with_code

# How the value formats of `homeops.cluster.formats` read in the reference; an alias missing here shows its name.
FORMAT_NAMES = {
    "Version": "version (vMAJOR.MINOR.PATCH)",
    "IPv4": "IPv4 address",
    "IPv4Network": "IPv4 CIDR",
    "DnsLabel": "DNS label",
    "DomainName": "domain name",
    "SchematicId": "schematic ID (64 hex characters)",
    "GitHubOwner": "GitHub account name",
    "GitHubRepository": "GitHub repository name",
    "GitBranch": "git branch name",
    "ImageRepository": "image repository",
    "MacAddress": "MAC address",
    "DevicePath": "device path (/dev/...)",
    "AgePublicKey": "age public key (age1...)",
    "ExtensionName": "extension name",
}


SCALAR_NAMES = {str: "string", int: "integer", bool: "boolean", float: "number"}


@dataclass(frozen=True)
class KeyRow:
    path: str
    type: str
    required: bool
    default: str
    description: str


def _format_aliases() -> list[tuple[object, str]]:
    return [
        (alias, FORMAT_NAMES.get(name, name))
        for name, alias in vars(formats).items()
        if typing.get_origin(alias) is typing.Annotated
    ]


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The nested model a field holds, directly or as the items of a tuple/list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _is_sequence(annotation: object) -> bool:
    return typing.get_origin(annotation) in (tuple, list)


def _describe_type(annotation: object, aliases: list[tuple[object, str]]) -> str:
    for alias, name in aliases:
        if annotation == alias:
            return name
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(code(a) for a in args)
    if origin in (typing.Union, UnionType):
        return " or ".join(_describe_type(a, aliases) for a in args if a is not NoneType)
    if origin is typing.Annotated:
        return _describe_type(args[0], aliases)
    if _is_sequence(annotation):
        return "list of " + _describe_type(args[0], aliases)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    if annotation in SCALAR_NAMES:
        return SCALAR_NAMES[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return ""
    default = field.get_default(call_default_factory=True)
    if default is None:
        return "unset"
    if default == ():
        return "empty list"
    if isinstance(default, BaseModel):
        # A section that may be left out: its keys below say their own defaults (a repr is no value
        # anyone could type into cluster.yaml).
        return "each key's own default"
    return "default " + code(default)


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0] if doc and doc.strip() else ""


def key_rows(model: type[BaseModel] = Cluster, prefix: str = "") -> list[KeyRow]:
    """Every key of `model`, depth first, in declaration order."""
    hints = typing.get_type_hints(model, include_extras=True)
    aliases = _format_aliases()
    rows: list[KeyRow] = []
    for name, field in model.model_fields.items():
        annotation = hints[name]
        path = f"{prefix}{name}"
        nested = _model_in(annotation)
        # A section without its own Field description is described by its model's docstring.
        description = field.description or (_first_line(nested.__doc__) if nested is not None else "")
        rows.append(KeyRow(path, _describe_type(annotation, aliases), field.is_required(), _default(field), description))
        if nested is not None:
            child_prefix = f"{path}[]." if _is_sequence(annotation) else f"{path}."
            rows += key_rows(nested, child_prefix)
    return rows


def cluster_yaml_reference(model: type[BaseModel] = Cluster) -> str:
    rows = [
        (code(r.path), cell(r.type) if "`" not in r.type else r.type, _required(r), text_with_code(r.description))
        for r in key_rows(model)
    ]
    # Four columns, the description last and free to wrap: with a fifth (Default apart from Required)
    # the description started past the right edge of a 1400 px window and needed a sideways scroll.
    return table(("Key", "Type", "Required", "Description"), rows)


def _required(row: KeyRow) -> str:
    return "required" if row.required else f"optional, {row.default}"
