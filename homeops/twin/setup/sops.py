"""The twin's `sops`: --encrypt and --decrypt of a YAML file into `--output`, by the creation rules of `--config`.

The fake tools run without site-packages, so the files the twin writes (its `talosctl gen secrets`
bundle, these) are JSON, which is YAML too. Not encryption: each value becomes `ENC[AES256_GCM,data:BASE64,type:str]` with the value itself
in base64, so that --decrypt can give it back; what is checked is the shape (every value ENC[...],
a `sops:` block naming the age recipient of the rule that matches the file's name).
"""

from __future__ import annotations

import base64
import json
import re
import sys

from homeops.twin import output
from homeops.twin.args import Flag, UsageError, parse
from homeops.twin.failure import ToolFailure, answer

FLAGS = [Flag("config"), Flag("encrypt", "e", False), Flag("decrypt", "d", False), Flag("output"),
         Flag("filename-override")]
_ENC = re.compile(r"^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),type:str\]$")


def main(argv: list[str], twin_dir: str) -> int:
    return answer(_run, argv, twin_dir, not_a_twin="")


def _run(argv: list[str], twin_dir: str) -> int:
    try:
        parsed = parse(argv, FLAGS)
    except UsageError as exc:
        raise ToolFailure(f"Error: {exc}") from None
    if len(parsed.positionals) != 1:
        raise ToolFailure("Error: no file specified")
    source = parsed.positionals[0]
    try:
        with open(source, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ToolFailure(f"Error: cannot read {source}: {exc.strerror}") from None
    except ValueError:
        raise ToolFailure(f"Error: the homeops twin's sops reads only the JSON files the twin writes: {source}") from None
    if parsed.switch("encrypt"):
        name = parsed.value("filename-override") or source
        recipient = _recipient(parsed.value("config") or ".sops.yaml", name)
        result = encrypted(data, recipient)
    elif parsed.switch("decrypt"):
        if not isinstance(data, dict) or "sops" not in data:
            raise ToolFailure("Error: sops metadata not found")
        data.pop("sops")
        result = _map(data, lambda v: base64.b64decode(_ENC.match(v).group(1)).decode())
    else:
        raise ToolFailure("Error: the homeops twin's sops only encrypts and decrypts")
    text = json.dumps(result, indent=2) + "\n"
    target = parsed.value("output")
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        output.write(sys.stdout, text)
    return 0


def encrypted(data: dict, recipient: str) -> dict:
    """`data` as the twin's sops --encrypt writes it for `recipient`."""
    result = _map(data, lambda v: f"ENC[AES256_GCM,data:{base64.b64encode(str(v).encode()).decode()},type:str]")
    result["sops"] = {"age": [{"recipient": recipient, "enc": "-----BEGIN AGE ENCRYPTED FILE-----"}],
                      "version": "3.10.2"}
    return result


_RULE = re.compile(r"^\s*-?\s*(path_regex|age):\s*(\S+)\s*$")


def _recipient(config: str, name: str) -> str:
    """The age recipient of the first creation rule whose path_regex matches `name` (the rendered
    .sops.yaml: `- path_regex: ...` then `age: ...` in each rule)."""
    try:
        with open(config, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        raise ToolFailure(f"Error: config file not found: {config}") from None
    pattern = None
    for line in lines:
        found = _RULE.match(line)
        if not found:
            continue
        if found.group(1) == "path_regex":
            pattern = found.group(2)
        elif pattern is not None and re.search(pattern, name):
            return found.group(2)
    raise ToolFailure("error loading config: no matching creation rules found")


def _map(value, leaf):
    if isinstance(value, dict):
        return {k: _map(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(v, leaf) for v in value]
    return leaf(value)
