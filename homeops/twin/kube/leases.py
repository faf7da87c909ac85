"""coordination.k8s.io/v1 Leases: create, replace (honouring resourceVersion), get, delete,
with the API server's error texts as kubectl prints them."""

from __future__ import annotations

import json

from homeops.twin import clock, ids, table
from homeops.twin.failure import ToolFailure

RESOURCE = "leases.coordination.k8s.io"
_SPEC_FIELDS = (
    "holderIdentity",
    "leaseDurationSeconds",
    "acquireTime",
    "renewTime",
    "leaseTransitions",
    "strategy",
    "preferredHolder",
)
_TIME_FIELDS = ("acquireTime", "renewTime")


def key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def parse_body(text: str, namespace: str | None, verb: str) -> tuple[dict, list[str]]:
    """The Lease from stdin, checked and normalised like the API server does; also warnings."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise ToolFailure(f"error: error parsing STDIN: error converting YAML to JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ToolFailure('error: error validating "STDIN": error validating data: invalid object')
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if not kind or not api_version:
        missing = "kind" if not kind else "apiVersion"
        raise ToolFailure(f'error: error validating "STDIN": error validating data: {missing} not set')
    if (api_version, kind) != ("coordination.k8s.io/v1", "Lease"):
        raise ToolFailure(
            f'error: resource mapping not found for name: "{(body.get("metadata") or {}).get("name", "")}" '
            f'namespace: "" from "STDIN": no matches for kind "{kind}" in version "{api_version}"'
        )
    metadata = body.get("metadata") or {}
    name = metadata.get("name")
    if not name:
        raise ToolFailure('The Lease "" is invalid: metadata.name: Required value: name or generateName is required')
    body_namespace = metadata.get("namespace")
    if namespace and body_namespace and body_namespace != namespace:
        raise ToolFailure(
            f'error: the namespace from the provided object "{body_namespace}" does not match the namespace '
            f"\"{namespace}\". You must pass '--namespace={body_namespace}' to perform this operation."
        )
    metadata["namespace"] = body_namespace or namespace or "default"
    spec = body.get("spec") or {}
    warnings = [f'Warning: unknown field "spec.{field}"' for field in spec if field not in _SPEC_FIELDS]
    clean = {field: spec[field] for field in _SPEC_FIELDS if field in spec}
    for field in _TIME_FIELDS:
        if field in clean:
            try:
                clean[field] = clock.rfc3339_micro(clock.parse_rfc3339(clean[field]))
            except ValueError as exc:
                raise ToolFailure(
                    f'Error from server (BadRequest): error when {verb} "STDIN": Lease in version "v1" cannot be '
                    f"handled as a Lease: {exc}"
                ) from None
    duration = clean.get("leaseDurationSeconds")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0):
        raise ToolFailure(
            f'The Lease "{name}" is invalid: spec.leaseDurationSeconds: Invalid value: {json.dumps(duration)}: '
            "must be greater than 0"
        )
    body["spec"] = clean
    body["metadata"] = metadata
    return body, warnings


def _bump(state: dict) -> str:
    state["resource_version"] += 1
    return str(state["resource_version"])


def create(state: dict, body: dict) -> dict:
    metadata = body["metadata"]
    where = key(metadata["namespace"], metadata["name"])
    if where in state["leases"]:
        raise ToolFailure(
            'Error from server (AlreadyExists): error when creating "STDIN": '
            f'{RESOURCE} "{metadata["name"]}" already exists'
        )
    metadata.pop("resourceVersion", None)
    metadata["uid"] = ids.uuid4()
    metadata["creationTimestamp"] = clock.rfc3339(clock.now())
    metadata["resourceVersion"] = _bump(state)
    state["leases"][where] = body
    return body


def replace(state: dict, body: dict) -> dict:
    metadata = body["metadata"]
    name = metadata["name"]
    current = state["leases"].get(key(metadata["namespace"], name))
    if current is None:
        raise ToolFailure(f'Error from server (NotFound): error when replacing "STDIN": {RESOURCE} "{name}" not found')
    wanted = metadata.get("resourceVersion")
    if wanted is not None and str(wanted) != current["metadata"]["resourceVersion"]:
        raise ToolFailure(
            f'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on {RESOURCE} '
            f'"{name}": the object has been modified; please apply your changes to the latest version and try again'
        )
    metadata["uid"] = current["metadata"]["uid"]
    metadata["creationTimestamp"] = current["metadata"]["creationTimestamp"]
    metadata["resourceVersion"] = _bump(state)
    state["leases"][key(metadata["namespace"], name)] = body
    return body


def get(state: dict, namespace: str, name: str) -> dict:
    lease = state["leases"].get(key(namespace, name))
    if lease is None:
        raise ToolFailure(f'Error from server (NotFound): {RESOURCE} "{name}" not found')
    return lease


def in_namespace(state: dict, namespace: str | None) -> list[dict]:
    return [
        lease
        for where, lease in sorted(state["leases"].items())
        if namespace is None or where.startswith(namespace + "/")
    ]


def delete(state: dict, namespace: str, name: str, ignore_not_found: bool) -> str:
    if state["leases"].pop(key(namespace, name), None) is None:
        if ignore_not_found:
            return ""
        raise ToolFailure(f'Error from server (NotFound): {RESOURCE} "{name}" not found')
    _bump(state)
    return f'lease.coordination.k8s.io "{name}" deleted\n'


def row(lease: dict, with_namespace: bool, now: float) -> list[str]:
    metadata = lease["metadata"]
    created = clock.parse_rfc3339(metadata["creationTimestamp"])
    cells = [metadata["name"], lease["spec"].get("holderIdentity", ""), table.age(now - created)]
    return ([metadata["namespace"]] if with_namespace else []) + cells


HEADER = ["NAME", "HOLDER", "AGE"]
