"""The twin's `talosctl`: version, get (machinestatus, disks, links), apply-config, upgrade,
upgrade-k8s, etcd, health, bootstrap, kubeconfig, service, reset and wipe disk.

Per-node failures are printed the way talosctl's multi-node client does (`1 error occurred:` and
`* IP: rpc error: ...`). A rebooting node's Talos API refuses connections.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import zlib

from homeops.twin import clock, cluster, nodes, output, table
from homeops.twin.args import Flag, UsageError, parse, reject_unexpected
from homeops.twin.failure import ToolFailure, answer
from homeops.twin.talos import api, resources

GLOBAL_FLAGS = [Flag("nodes", "n"), Flag("endpoints", "e"), Flag("talosconfig"), Flag("context"), Flag("cluster")]
COMMAND_FLAGS = {
    "version": [Flag("json", None, False), Flag("short", None, False), Flag("client", None, False),
                Flag("insecure", "i", False)],
    "get": [Flag("output", "o"), Flag("namespace"), Flag("insecure", "i", False)],
    "apply-config": [
        Flag("file", "f"),
        Flag("insecure", "i", False),
        Flag("mode", "m"),
        Flag("dry-run", None, False),
        Flag("config-patch", "p"),
        Flag("cert-fingerprint"),
        Flag("timeout"),
    ],
    "upgrade": [
        Flag("image", "i"),
        Flag("timeout"),
        Flag("force", "f", False),
        Flag("wait", None, False),
        Flag("stage", "s", False),
        Flag("reboot-mode", "m"),
        Flag("debug", None, False),
        Flag("preserve", "p", False),
        Flag("insecure", None, False),
    ],
    "upgrade-k8s": [
        Flag("to"),
        Flag("from"),
        Flag("dry-run", None, False),
        Flag("upgrade-kubelet", None, False),
        Flag("pre-pull-images", None, False),
        Flag("endpoint"),
    ],
    "etcd": [],
    # the workstation's files (homeops.twin.setup.talos_files)
    "gen": [Flag("output-file"), Flag("with-secrets"), Flag("kubernetes-version"), Flag("install-image"),
            Flag("config-patch"), Flag("config-patch-control-plane"), Flag("config-patch-worker"),
            Flag("output-types", "t"), Flag("with-docs"), Flag("with-examples"), Flag("output", "o"),
            Flag("force", "f", False)],
    "config": [],
    "bootstrap": [Flag("recover-from"), Flag("recover-skip-hash-check", None, False)],
    "kubeconfig": [Flag("force", "f", False), Flag("merge", "m", False), Flag("force-context-name")],
    "service": [],
    "cp": [],
    "copy": [],
    "reset": [
        Flag("graceful", None, False),
        Flag("reboot", None, False),
        Flag("insecure", None, False),
        Flag("system-labels-to-wipe"),
        Flag("user-disks-to-wipe"),
        Flag("wipe-mode"),
        Flag("wait", None, False),
        Flag("timeout"),
        Flag("debug", None, False),
    ],
    "wipe": [Flag("method"), Flag("drop-partition", None, False), Flag("skip-volume-check", None, False),
             Flag("skip-secondary-check", None, False), Flag("insecure", "i", False)],
    "shutdown": [Flag("force", None, False), Flag("wait", None, False), Flag("timeout"), Flag("debug", None, False)],
    "health": [
        Flag("wait-timeout"),
        Flag("server", None, False),
        Flag("control-plane-nodes"),
        Flag("worker-nodes"),
        Flag("init-node"),
        Flag("k8s-endpoint"),
        Flag("run-e2e", None, False),
    ],
}


LOCAL = ("version", "get")
HANDLERS = {
    "apply-config": ("homeops.twin.talos.install", "apply_config"),
    "upgrade": ("homeops.twin.talos.upgrade", "upgrade"),
    "upgrade-k8s": ("homeops.twin.talos.kubernetes", "upgrade_k8s"),
    "etcd": ("homeops.twin.talos.etcd_commands", "etcd_command"),
    "health": ("homeops.twin.talos.health", "health"),
    "bootstrap": ("homeops.twin.talos.bootstrap", "bootstrap"),
    "kubeconfig": ("homeops.twin.talos.bootstrap", "kubeconfig"),
    "service": ("homeops.twin.talos.service", "service"),
    "reset": ("homeops.twin.talos.reset", "reset"),
    "wipe": ("homeops.twin.talos.wipe", "wipe"),
    "shutdown": ("homeops.twin.talos.shutdown", "shutdown"),
    "cp": ("homeops.twin.talos.copy", "copy"),
    "copy": ("homeops.twin.talos.copy", "copy"),
    "gen": ("homeops.twin.setup.talos_files", "gen"),
    "config": ("homeops.twin.setup.talos_files", "config"),
}

MACHINE_STATUS = {"machinestatus", "machinestatuses", "ms", "machinestatuses.runtime.talos.dev"}


def main(argv: list[str], twin_dir: str) -> int:
    return answer(_run, argv, twin_dir)


def _run(argv: list[str], twin_dir: str) -> int:
    all_flags = {flag.name: flag for flags in COMMAND_FLAGS.values() for flag in flags}
    command = None
    try:
        # Each command has its own flags, as in talosctl's cobra tree: `-i` is upgrade's --image
        # but get's --insecure, `-f` upgrade's --force but apply-config's --file.
        named = _command_word(argv)
        known = COMMAND_FLAGS[named] if named in COMMAND_FLAGS else list(all_flags.values())
        parsed = parse(argv, GLOBAL_FLAGS + known)
        if not parsed.positionals:
            output.write(
                sys.stdout,
                "A CLI for out-of-band management of Kubernetes nodes created by Talos (homeops twin)\n\n"
                "Usage:\n  talosctl [command]",
            )
            return 0
        command = parsed.positionals[0]
        if command not in COMMAND_FLAGS:
            raise ToolFailure(f'Error: unknown command "{command}" for "talosctl"\nRun \'talosctl --help\' for usage.')
        reject_unexpected(parsed, {f.name for f in GLOBAL_FLAGS + COMMAND_FLAGS[command]})
        if command in LOCAL:
            handler = {"version": _version, "get": _get}[command]
        else:
            # Only the command's own module is imported: every call is a new process.
            module, function = HANDLERS[command]
            handler = getattr(importlib.import_module(module), function)
        return handler(parsed, twin_dir)
    except UsageError as exc:
        raise ToolFailure(
            f"Error: {exc}\nRun 'talosctl {command or ''} --help' for usage.".replace("  ", " ")
        ) from None


def _command_word(argv: list[str]) -> str | None:
    """The first word that is neither a flag nor a global flag's value."""
    takes_value = {f"--{f.name}" for f in GLOBAL_FLAGS} | {f"-{f.short}" for f in GLOBAL_FLAGS if f.short}
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item == "--":
            return None
        elif item.startswith("-"):
            skip = item in takes_value
        else:
            return item
    return None


def _sha(version: str) -> str:
    return f"{zlib.crc32(version.encode()):08x}"[:7]


def _version(parsed, twin_dir: str) -> int:
    current, now = cluster.observe(twin_dir)
    client = api.client_version(current)
    if parsed.switch("client"):
        output.write(
            sys.stdout, f"Client:\n\tTag:         {client}\n\tSHA:         {_sha(client)}\n\tOS/Arch:     linux/amd64"
        )
        return 0
    addresses = api.addresses(parsed)
    errors, lines = [], []
    if not parsed.switch("json"):
        lines.append(
            f"Client:\n\tTag:         {client}\n\tSHA:         {_sha(client)}\n\tOS/Arch:     linux/amd64\nServer:"
        )
    for address in addresses:
        node, error = api.reach(current, address, now, parsed.switch("insecure"))
        if error:
            errors.append((address, api.dial_timeouts(current, address, error)))
            continue
        tag = nodes.talos_version(node, now)
        if parsed.switch("json"):
            lines.append(
                json.dumps(
                    {
                        "metadata": {"hostname": address},
                        "version": {
                            "tag": tag,
                            "sha": _sha(tag),
                            "built": "",
                            "goVersion": "go1.24.6",
                            "os": "linux",
                            "arch": "amd64",
                        },
                        "platform": {"name": "metal", "mode": "metal"},
                        "features": {"rbac": True},
                    },
                    separators=(",", ":"),
                )
            )
        else:
            lines.append(
                f"\tNODE:        {address}\n\tTag:         {tag}\n\tSHA:         {_sha(tag)}\n"
                "\tOS/Arch:     linux/amd64\n\tEnabled:     RBAC"
            )
    time.sleep(api.dial_seconds(current, errors))
    output.write(sys.stdout, "\n".join(lines))
    if errors:
        raise ToolFailure("error getting version: " + api.node_errors(errors))
    return 0


def machine_status(current: dict, node: dict, now: float) -> dict:
    phase = nodes.phase(node, now)
    ready = phase == nodes.RUNNING
    unmet = [] if ready else [{"name": "nodeReady", "reason": f'node "{node["name"]}" is not ready'}]
    if phase == nodes.UPGRADING:
        unmet = []
    return {
        "node": node["address"],
        "metadata": {
            "namespace": "runtime",
            "type": "MachineStatuses.runtime.talos.dev",
            "id": "machine",
            "version": 4 + 3 * node["boots"],
            "owner": "runtime.MachineStatusController",
            "phase": "running",
            "created": clock.rfc3339(node["ready_since"]),
            "updated": clock.rfc3339(node["ready_since"]),
        },
        "spec": {
            "stage": phase,
            "status": {"ready": phase in (nodes.RUNNING, nodes.UPGRADING), "unmetConditions": unmet},
        },
    }


def _get(parsed, twin_dir: str) -> int:
    words = parsed.positionals[1:]
    if not words:
        raise ToolFailure("Error: accepts between 1 and 2 arg(s), received 0")
    output_format = parsed.value("output", "table")
    if output_format not in ("json", "table", "yaml"):
        raise ToolFailure(f'error: output format "{output_format}" is not supported')
    kind = resources.kind_of(words[0])
    if kind:
        return _get_resources(parsed, twin_dir, kind, words[1:], output_format)
    if words[0].lower() not in MACHINE_STATUS:
        raise ToolFailure(f"error: resource type {words[0]!r} is not registered")
    addresses = api.addresses(parsed)
    if output_format == "yaml":
        raise ToolFailure('error: output format "yaml" is not supported by the homeops twin (use -o json)')
    current, now = cluster.observe(twin_dir)
    errors, documents, rows = [], [], [["NODE", "NAMESPACE", "TYPE", "ID", "VERSION", "STAGE", "READY"]]
    for address in addresses:
        node, error = api.reach(current, address, now, parsed.switch("insecure"))
        if error:
            errors.append((address, error))
            continue
        status = machine_status(current, node, now)
        # talosctl -o json writes each resource as an indented JSON document, one after another.
        documents.append(json.dumps(status, indent=4))
        rows.append(
            [
                address,
                "runtime",
                "MachineStatus",
                "machine",
                str(status["metadata"]["version"]),
                status["spec"]["stage"],
                str(status["spec"]["status"]["ready"]).lower(),
            ]
        )
    output.write(
        sys.stdout, "\n".join(documents) if output_format == "json" else (table.aligned(rows) if len(rows) > 1 else "")
    )
    if errors:
        raise ToolFailure(api.node_errors(errors))
    return 0


def _get_resources(parsed, twin_dir: str, kind: str, ids: list[str], output_format: str) -> int:
    """`get disks|links|machineconfig [ID]`: every node's resources, as talosctl's table, JSON or YAML."""
    addresses = api.addresses(parsed)
    current, now = cluster.observe(twin_dir)
    errors, documents = [], []
    kind_name, namespace, short, columns = resources.NAMES[kind]
    rows = [["NODE", "NAMESPACE", "TYPE", "ID", "VERSION", *columns]]
    for address in addresses:
        node, error = api.reach(current, address, now, parsed.switch("insecure"))
        if error:
            errors.append((address, error))
            continue
        found = [r for r in resources.of(kind, node, current) if not ids or r["metadata"]["id"] == ids[0]]
        if ids and not found:
            missing = f"resource {kind_name}({namespace}/{ids[0]}@undefined) doesn't exist"
            errors.append((address, f"rpc error: code = NotFound desc = {missing}"))
        for resource in found:
            meta = resource["metadata"]
            rows.append([address, meta["namespace"], short, meta["id"], str(meta["version"]),
                         *resources.row(kind, resource)])
            documents.append(resources.as_json(address, resource) if output_format == "json"
                             else resources.as_yaml(address, resource))
    if output_format == "table":
        output.write(sys.stdout, table.aligned(rows) if len(rows) > 1 else "")
    elif output_format == "json":
        output.write(sys.stdout, "\n".join(documents))
    else:
        output.write(sys.stdout, "---\n".join(documents))
    if errors:
        raise ToolFailure(api.node_errors(errors))
    return 0
