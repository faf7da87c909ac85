"""Validators for rendered objects: the CRD schemas of the pinned releases (schemas/, sources in
schemas/sources.json) through jsonschema, and the core kinds through kubernetes-validate.

An object field no schema declares is an error here, as `kubectl apply --validate=strict` (and
Flux's server-side apply with field validation) would report it: a CRD's structural schema prunes
unknown fields silently, which would hide a typo in a rendered file.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate

SCHEMAS = Path(__file__).parent / "schemas"


@lru_cache(maxsize=None)
def sources() -> dict[tuple[str, str], dict]:
    return {(entry["apiVersion"], entry["kind"]): entry for entry in json.loads((SCHEMAS / "sources.json").read_text())}


def _closed(schema: object) -> object:
    """The schema with every object that lists its properties closed to others."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if ("properties" in closed and "additionalProperties" not in closed
            and not closed.get("x-kubernetes-preserve-unknown-fields")):
        closed["additionalProperties"] = False
    return closed


@lru_cache(maxsize=None)
def crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    entry = sources()[(api_version, kind)]
    schema = _closed(json.loads((SCHEMAS / entry["file"]).read_text()))
    return jsonschema.Draft7Validator(schema)


def crd_schema(api_version: str, kind: str) -> dict:
    return _closed(json.loads((SCHEMAS / sources()[(api_version, kind)]["file"]).read_text()))


def is_crd_kind(api_version: str, kind: str) -> bool:
    return (api_version, kind) in sources()


def crd_errors(document: dict) -> list[str]:
    validator = crd_validator(document["apiVersion"], document["kind"])
    return [f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in validator.iter_errors(document)]


def core_errors(document: dict, kubernetes_version: str) -> list[str]:
    try:
        kubernetes_validate.validate(document, kubernetes_version.lstrip("v"), strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(str(p) for p in exc.path) or '(root)'}: {exc.message}"]
    return []
