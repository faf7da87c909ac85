"""`kubectl exec deploy/rook-ceph-tools -- ceph ...`: the Rook toolbox, and nothing but `ceph` in it."""

from __future__ import annotations

import sys

from homeops.twin import cluster, output
from homeops.twin.ceph import ceph
from homeops.twin.kube import resources
from homeops.twin.failure import ToolFailure

TOOLBOX = ("rook-ceph", "rook-ceph-tools")


def exec_command(parsed, twin_dir: str, current: dict, now: float) -> int:
    targets = parsed.positionals[1:]
    if not targets:
        raise ToolFailure(
            "error: expected 'exec POD_NAME COMMAND [ARG1] [ARG2] ... [ARGN]'.\n"
            "POD_NAME and COMMAND are required arguments for the exec command"
        )
    if parsed.rest is None:
        raise ToolFailure("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
    if not parsed.rest:
        raise ToolFailure("error: you must specify at least one command for the container")
    target = targets[0]
    kind, _, name = target.rpartition("/")
    namespace = resources.namespace(parsed)
    toolbox_deployed = (current.get("rook") or {}).get("toolbox", True)
    if (kind not in ("deploy", "deployment", "deployments", "deployment.apps") or (namespace, name) != TOOLBOX
            or not toolbox_deployed):
        resource = "deployments.apps" if kind.startswith("deploy") else "pods"
        raise ToolFailure(f'Error from server (NotFound): {resource} "{name or target}" not found')
    command = parsed.rest
    if command[0] != "ceph":
        raise ToolFailure(
            f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{command[0]}": '
            "executable file not found in $PATH: unknown\ncommand terminated with exit code 126",
            code=126,
        )
    words, output_format = _ceph_words(command[1:])
    changes = words[:2] in (["osd", "set"], ["osd", "unset"], ["osd", "set-group"], ["osd", "unset-group"],
                            ["osd", "out"], ["osd", "in"], ["osd", "purge"])
    try:
        if changes:
            with cluster.changing(twin_dir) as (live, moment):
                stdout, stderr = ceph.run(live, words, output_format, moment)
        else:
            stdout, stderr = ceph.run(current, words, output_format, now)
    except ceph.CephError as error:
        raise ToolFailure(
            f"{error}\ncommand terminated with exit code {error.code}", code=error.code, stdout=error.stdout
        ) from None
    output.write(sys.stdout, stdout)
    output.write(sys.stderr, stderr)
    return 0


def _ceph_words(args: list[str]) -> tuple[list[str], str | None]:
    """Split ceph's own `-f json` / `--format=json` from the command words."""
    words, output_format = [], None
    items = iter(args)
    for item in items:
        if item in ("-f", "--format"):
            output_format = next(items, None)
        elif item.startswith("--format="):
            output_format = item.split("=", 1)[1]
        elif item.startswith("-f") and len(item) > 2:
            output_format = item[2:]
        else:
            words.append(item)
    return words, output_format
