"""The twin's `talosctl gen secrets`, `gen config` and `config endpoint|node`: files on the workstation.

They touch no node. The files are JSON (the fake tools load no YAML library): a bundle of made-up
secrets, and machine configurations made from it and from the patches' content, merged in the order
given (homeops.twin.talos.config_doc; each patch must exist, as talosctl requires).
"""

from __future__ import annotations

import json
import os

from homeops.twin import ids
from homeops.twin.args import Flag
from homeops.twin.failure import ToolFailure

GEN_FLAGS = [Flag("output-file"), Flag("with-secrets"), Flag("kubernetes-version"), Flag("install-image"),
             Flag("config-patch"), Flag("config-patch-control-plane"), Flag("config-patch-worker"),
             Flag("output-types", "t"), Flag("with-docs"), Flag("with-examples")]


def _write(path: str, data: dict, force: bool) -> None:
    if os.path.exists(path) and not force:
        raise ToolFailure(f'file "{path}" already exists, use --force to overwrite')
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")


def secrets_bundle() -> dict:
    """A bundle of made-up secrets, as `talosctl gen secrets` writes one (in JSON)."""
    return {
        "cluster": {"id": ids.hex_id(32), "secret": ids.hex_id(32)},
        "secrets": {"bootstraptoken": f"{ids.hex_id(6)}.{ids.hex_id(16)}", "secretboxencryptionsecret": ids.hex_id(32)},
        "certs": {"os": {"crt": ids.hex_id(40), "key": ids.hex_id(40)}},
    }


def gen(parsed, twin_dir: str) -> int:
    what = parsed.positionals[1:2]
    force = parsed.switch("force")
    if what == ["secrets"]:
        _write(parsed.value("output-file", "secrets.yaml"), secrets_bundle(), force)
        return 0
    if what == ["config"]:
        return _gen_config(parsed, force)
    raise ToolFailure(f"Error: the homeops twin's talosctl gen knows secrets and config, not {what}")


def _gen_config(parsed, force: bool) -> int:
    if len(parsed.positionals) != 4:
        raise ToolFailure(f"Error: accepts 2 arg(s), received {len(parsed.positionals) - 2}")
    name, endpoint = parsed.positionals[2:4]
    secrets = parsed.value("with-secrets")
    if not secrets or not os.path.isfile(secrets):
        raise ToolFailure(f"failed to load secrets bundle: open {secrets}: no such file or directory")
    kinds = (parsed.value("output-types") or "controlplane,worker,talosconfig").split(",")
    if len(kinds) != 1 or kinds[0] not in ("controlplane", "worker", "talosconfig"):
        raise ToolFailure("Error: the homeops twin's gen config writes one output type to one --output file")
    kind = kinds[0]
    target = parsed.value("output")
    if not target:
        raise ToolFailure("Error: the homeops twin's gen config needs --output")
    patches = parsed.all("config-patch") + parsed.all(
        "config-patch-control-plane" if kind == "controlplane" else "config-patch-worker")
    texts = []
    for patch in patches:
        path = patch.removeprefix("@")
        try:
            with open(path, encoding="utf-8") as handle:
                texts.append(handle.read())
        except OSError:
            raise ToolFailure(f"Error: open {path}: no such file or directory") from None
    if kind == "talosconfig":
        data = {"context": name, "contexts": {name: {"endpoints": [], "nodes": [], "ca": "twin", "crt": "twin",
                                                     "key": "twin"}}}
    else:
        from homeops.twin.talos import config_doc

        try:
            with open(secrets, encoding="utf-8") as handle:
                bundle = json.load(handle)
        except ValueError:
            raise ToolFailure(f"failed to load secrets bundle: {secrets}: not the twin's JSON bundle") from None
        try:
            data = config_doc.generate(kind, name, endpoint, parsed.value("install-image") or "", bundle, texts)
        except config_doc.PatchInvalid as exc:
            raise ToolFailure(f"Error: failed to apply config patch: {exc}") from None
    _write(target, data, force)
    return 0


def config(parsed, twin_dir: str) -> int:
    words = parsed.positionals[1:]
    path = parsed.value("talosconfig") or os.environ.get("TALOSCONFIG") or ""
    if words[:1] not in (["endpoint"], ["node"]):
        raise ToolFailure(f"Error: the homeops twin's talosctl config knows endpoint and node, not {words[:1]}")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        raise ToolFailure(f"error reading config: open {path}: no such file or directory") from None
    context = data["contexts"][data["context"]]
    context["endpoints" if words[0] == "endpoint" else "nodes"] = words[1:]
    _write(path, data, True)
    return 0
