"""The twin's machine configuration documents: made from the rendered patches, printed as Talos prints them.

The fake tools run without site-packages (no PyYAML), so the rendered patches are read by a small
reader of the block YAML the templates write: mappings, sequences (of scalars or of mappings),
comments, quoted and plain scalars, `[]` and `{}`. That is all `templates/talos/` uses; anything
else is refused, naming the line, as `talosctl gen config` refuses a broken patch.

A configuration is a dict in the order Talos's v1alpha1 encoder writes it (version, debug,
persist, machine, cluster); patches merge into it as Talos's strategic merge does for these
shapes: mappings key by key, sequences appended. `dump` prints it as the encoder does without
comments (yaml.v3, indent 4), and `diff` is `configdiff.DiffToString`'s unified diff of the two
texts (siderolabs/talos v1.11.1 `pkg/machinery/config/configdiff/configdiff.go`: `--- a`, `+++ b`,
hunks with 3 lines of context).
"""

from __future__ import annotations

import difflib
import re

_KEY = re.compile(r"^(?P<key>[A-Za-z0-9_.\-/]+):(?:\s+(?P<value>.*))?$")


class PatchInvalid(ValueError):
    """A patch the twin's reader cannot read (the message names the line)."""


def _strip_comment(line: str) -> str:
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index].rstrip()
    return line.rstrip()


def scalar(text: str):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~", ""):
        return None
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text


def read_patch(text: str, name: str = "patch") -> dict:
    """The mapping a rendered patch holds."""
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        content = _strip_comment(raw)
        if content.strip() and content.strip() != "---":
            lines.append((number, len(content) - len(content.lstrip(" ")), content.strip()))
    if not lines:
        return {}
    value, end = _block(lines, 0, lines[0][1], name)
    if end != len(lines) or not isinstance(value, dict):
        number = lines[min(end, len(lines) - 1)][0]
        raise PatchInvalid(f"{name}:{number}: not a mapping the homeops twin can read")
    return value


def _block(lines: list, at: int, indent: int, name: str):
    if lines[at][2].startswith("- ") or lines[at][2] == "-":
        return _sequence(lines, at, indent, name)
    return _mapping(lines, at, indent, name)


def _mapping(lines: list, at: int, indent: int, name: str) -> tuple[dict, int]:
    found: dict = {}
    while at < len(lines) and lines[at][1] == indent and not lines[at][2].startswith("-"):
        number, _, content = lines[at]
        match = _KEY.match(content)
        if not match:
            raise PatchInvalid(f"{name}:{number}: {content!r} is not `key: value`")
        at += 1
        if match["value"] is not None and match["value"] != "":
            found[match["key"]] = scalar(match["value"])
        elif at < len(lines) and (lines[at][1] > indent or (lines[at][1] == indent and lines[at][2].startswith("- "))):
            found[match["key"]], at = _block(lines, at, lines[at][1], name)
        else:
            found[match["key"]] = None
    return found, at


def _sequence(lines: list, at: int, indent: int, name: str) -> tuple[list, int]:
    items = []
    while at < len(lines) and lines[at][1] == indent and lines[at][2].startswith("-"):
        number, _, content = lines[at]
        rest = content[1:].strip()
        if not rest:
            raise PatchInvalid(f"{name}:{number}: an empty sequence item")
        if _KEY.match(rest) and not rest.startswith(("'", '"')):
            # `- key: value` opens a mapping whose other keys sit under `key`.
            inner = indent + 2 + (len(content[1:]) - len(content[1:].lstrip(" ")) - 1)
            lines[at] = (number, inner, rest)
            item, at = _mapping(lines, at, inner, name)
            items.append(item)
        else:
            items.append(scalar(rest))
            at += 1
    return items, at


def merge(base: dict, patch: dict) -> dict:
    """`patch` merged into a copy of `base`: mappings key by key, sequences appended."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = merged[key] + value
        else:
            merged[key] = value
    return merged


def generate(kind: str, cluster_name: str, endpoint: str, install_image: str, bundle: dict,
             patches: list[str]) -> dict:
    """A node's configuration as the twin's `talosctl gen config` makes it: the secrets of `bundle`
    (the twin's `gen secrets` shape) and the patches' texts, merged in the order given."""
    certs, secrets, ids = bundle.get("certs") or {}, bundle.get("secrets") or {}, bundle.get("cluster") or {}
    os_ca = dict((certs.get("os") or {}))
    machine = {"type": kind, "token": secrets.get("bootstraptoken", ""),
               "ca": {"crt": os_ca.get("crt", "")} if kind == "worker" else
               {"crt": os_ca.get("crt", ""), "key": os_ca.get("key", "")},
               "certSANs": [], "install": {"image": install_image}}
    cluster = {"id": ids.get("id", ""), "secret": ids.get("secret", ""),
               "controlPlane": {"endpoint": endpoint}, "clusterName": cluster_name}
    if kind == "controlplane":
        cluster["secretboxEncryptionSecret"] = secrets.get("secretboxencryptionsecret", "")
    config = {"version": "v1alpha1", "debug": False, "persist": True, "machine": machine, "cluster": cluster}
    for index, text in enumerate(patches):
        config = merge(config, read_patch(text, f"patch {index + 1}"))
    return config


_PLAIN_UNSAFE = re.compile(r"^(|true|false|yes|no|on|off|null|~|[-+]?[0-9]+(\.[0-9]*)?|[-+]?\.[0-9]+|.*: .*|.*#.*|[\[\]{}&*!|>'\"%@`].*)$",
                           re.IGNORECASE)


def _scalar_text(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return f'"{text}"' if _PLAIN_UNSAFE.match(text) else text


def dump(config: dict) -> str:
    """The configuration as Talos's encoder prints it without comments (indent 4)."""
    return "".join(_lines(config, 0))


def _lines(mapping: dict, indent: int, first_prefix: str | None = None) -> list[str]:
    out = []
    for position, (key, value) in enumerate(mapping.items()):
        pad = " " * indent
        if position == 0 and first_prefix is not None:
            pad = first_prefix
        if isinstance(value, dict) and value:
            out.append(f"{pad}{key}:\n")
            out.extend(_lines(value, indent + 4))
        elif isinstance(value, list) and value:
            out.append(f"{pad}{key}:\n")
            for item in value:
                item_pad = " " * (indent + 4)
                if isinstance(item, dict) and item:
                    out.extend(_lines(item, indent + 6, first_prefix=f"{item_pad}- "))
                else:
                    out.append(f"{item_pad}- {_scalar_text(item)}\n")
        elif isinstance(value, (dict, list)):
            out.append(f"{pad}{key}: {'{}' if isinstance(value, dict) else '[]'}\n")
        else:
            out.append(f"{pad}{key}: {_scalar_text(value)}\n")
    return out


def diff(old: dict, new: dict) -> str:
    """configdiff.DiffToString of the two configurations: empty when they print the same."""
    lines = list(difflib.unified_diff(dump(old).splitlines(keepends=True), dump(new).splitlines(keepends=True),
                                      "a", "b", n=3))
    if not lines:
        return ""
    # difflib ends its two header lines with the newline of lineterm; Talos writes `--- a\n+++ b\n` too.
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
