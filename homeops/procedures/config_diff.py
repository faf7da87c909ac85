"""Reading what Talos says of a machine configuration: the dry run's verdict and diff, and the
configuration a node runs, without ever showing the secrets they carry.

`talosctl apply-config --dry-run` prints (stderr, siderolabs/talos v1.11.1
`internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go`, ApplyConfiguration and
generateDiff; fixture tests/tools/fixtures/upstream/talos-apply-config-dry-run.txt):

    Dry run summary:
    Applied configuration without a reboot (skipped in dry-run).
    Config diff:

    --- a
    +++ b
    @@ ...

or `No changes.` in place of the diff. The diff is of the whole configuration text with three lines
of context, so its lines can hold the machine token, CA keys, the cluster secret: `redacted_diff`
masks the value of every key that holds one in a Talos configuration (and of a block scalar under
it), then runs the text through homeops.redaction as everything printed does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from homeops.tools.process import ToolError

WITH_REBOOT = "Applied configuration with a reboot"
WITHOUT_REBOOT = "Applied configuration without a reboot"
STAGED = "Staged configuration to be applied after the next reboot"
NO_CHANGES = "No changes."
_SUMMARY = re.compile(r"Dry run summary:\n(?P<details>[^\n]*) \(skipped in dry-run\)\.\nConfig diff:\n\n(?P<diff>.*)\Z",
                      re.DOTALL)

# The keys of a v1alpha1 configuration whose values are secrets (machine.token, machine.ca.key,
# cluster.secret, cluster.token, secretboxEncryptionSecret, aescbcEncryptionSecret, the CAs' keys and,
# because a diff line is judged alone, the certificates beside them), and the cluster's id.
SECRET_KEYS = frozenset({"token", "key", "crt", "secret", "id", "secretboxEncryptionSecret",
                         "aescbcEncryptionSecret", "bootstrapToken", "password", "auth", "identityToken"})
MASK = "[REDACTED machine-config secret]"
_LINE = re.compile(r"^(?P<mark>[-+ ])(?P<indent>\s*)(?P<item>-\s+)?(?P<key>[A-Za-z][A-Za-z0-9]*):(?P<value>.*)$")


@dataclass(frozen=True)
class DryRun:
    reboot: bool  # Talos would reboot the node to apply it
    diff: str  # redacted; empty when nothing changes

    @property
    def changes(self) -> bool:
        return bool(self.diff)


def parse_dry_run(text: str, argv: Sequence[str]) -> DryRun:
    """The verdict and the (redacted) diff of `apply-config --dry-run`; an error that never shows `text`."""
    found = _SUMMARY.search(text)
    if not found or found["details"] not in (WITH_REBOOT, WITHOUT_REBOOT, STAGED):
        raise ToolError(list(argv), 0, f"printed no 'Dry run summary:' with a verdict and a config diff "
                                       f"({len(text)} characters, not shown: they may hold secrets)")
    diff = found["diff"].strip("\n")
    return DryRun(reboot=found["details"] == WITH_REBOOT, diff="" if diff == NO_CHANGES else redacted_diff(diff))


def redacted_diff(diff: str) -> str:
    """`diff` with the value of every secret-holding key masked, a block scalar under one included."""
    from homeops.redaction.text import redact

    lines, masked_below = [], None
    for line in diff.splitlines():
        content = line[1:]  # after the mark every diff line starts with (-, + or a space)
        depth = len(content) - len(content.lstrip(" "))
        if masked_below is not None:  # a hunk header (`@@`, no indent) ends it like any shallower line
            if content.strip() and depth > masked_below:
                lines.append(f"{line[:1]}{' ' * depth}{MASK}")
                continue
            masked_below = None
        found = _LINE.match(line)
        if found and found["key"] in SECRET_KEYS:
            value = found["value"].strip()
            lines.append(f"{found['mark']}{found['indent']}{found['item'] or ''}{found['key']}: {MASK}"
                         if value not in ("", "{}", "[]") else line)
            if value in ("", "|", ">", "|-", ">-"):
                masked_below = len(found["indent"]) + len(found["item"] or "")
            continue
        lines.append(line)
    return redact("\n".join(lines))


def configuration(text: str, what: str) -> dict:
    """A configuration document read from YAML (or the twin's JSON); ValueError naming `what`, never the text."""
    from homeops.safe_yaml import read_source

    source = read_source(text, what)
    if source.data is None or not isinstance(source.data, dict):
        raise ValueError(f"{what} is not a YAML mapping ({len(source.problems)} problem(s); not shown: it holds secrets)")
    return source.data


def running_configuration(resource_text: str, what: str) -> dict:
    """The `spec` of `talosctl get machineconfig -o yaml`: the configuration the node runs."""
    spec = configuration(resource_text, what).get("spec")
    if not isinstance(spec, dict):
        raise ValueError(f"{what} has no configuration under spec")
    return spec


def _at(config: dict, *path: str) -> Any:
    value: Any = config
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def machine_ca(config: dict) -> str:
    """machine.ca.crt: the certificate authority the node's Talos API trusts clients of (empty: none)."""
    value = _at(config, "machine", "ca", "crt")
    return value.strip() if isinstance(value, str) else ""


def same_ca(running: dict, generated: dict) -> bool:
    """Both name the same machine CA, and it is not empty: a configuration with another CA locks talosctl out."""
    ca = machine_ca(generated)
    return bool(ca) and ca == machine_ca(running)


def network_changes(running: dict, generated: dict) -> bool:
    """machine.network differs: a change that may cut the node off, to be tried before it is kept."""
    return _at(running, "machine", "network") != _at(generated, "machine", "network")
