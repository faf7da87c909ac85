"""Remove secrets from text before it is printed or saved.

Each pattern replaces the secret (not its label) with a marker such as `[REDACTED age-secret-key]`,
so a reader still sees what was there. Public material (age public keys `age1...`, certificates,
CA data of a kubeconfig) is left alone: only what grants access is removed.
"""

from __future__ import annotations

import re
from typing import Callable

_PEM_KEY = re.compile(
    # Also matches blocks whose newlines were escaped (`\n` inside a JSON string), and a block cut
    # off before its END line (a truncated output still must not leak the key).
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*\Z)",
    re.DOTALL,
)
_AGE_SECRET_KEY = re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Real tokens are long; requiring 8 characters keeps prose such as "Bearer tokens are..." intact.
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)(?=[A-Za-z0-9._~+/=-]{8,})[A-Za-z0-9._~+/-]+=*")
_KUBECONFIG_VALUE = re.compile(
    r"""(?P<label>(?<![\w-])["']?(?:client-key-data|client-certificate-data|token|id-token|refresh-token"""
    r"""|access-token|password|client-secret)["']?[ \t]*[:=][ \t]*["']?)(?!\[REDACTED)(?P<value>[^\s"',}\]]+)"""
)
# kubectl and talosctl take credentials as flags too: `--token=X`, `--token X`, `--password X`.
_CREDENTIAL_FLAG = re.compile(
    r"""(?P<label>(?<![\w-])--(?:token|password|client-secret)(?:=|[ \t]+)["']?)(?!\[REDACTED)(?P<value>[^\s"']+)"""
)
# talosconfig holds `ca:`, `crt:` and `key:` as base64-encoded PEM, which always starts with
# "LS0t" (base64 of "---"). Other values under those common names (`key: noout`, an age public
# key after "public key:") are ordinary text and stay.
_TALOSCONFIG_VALUE = re.compile(
    r"""(?P<label>(?<![\w-])"?(?:ca|crt|key)"?[ \t]*:[ \t]*"?)(?P<value>LS0t[A-Za-z0-9+/]*={0,2})"""
)

_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_PEM_KEY, lambda m: "[REDACTED private-key]"),
    (_AGE_SECRET_KEY, lambda m: "[REDACTED age-secret-key]"),
    (_JWT, lambda m: "[REDACTED jwt]"),
    (_BEARER, lambda m: f"{m.group(1)}{m.group(2)}[REDACTED bearer-token]"),
    (_KUBECONFIG_VALUE, lambda m: f"{m.group('label')}[REDACTED kubeconfig-credential]"),
    (_CREDENTIAL_FLAG, lambda m: f"{m.group('label')}[REDACTED credential-flag]"),
    (_TALOSCONFIG_VALUE, lambda m: f"{m.group('label')}[REDACTED talosconfig-key-data]"),
)

_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")


def redact(text: str) -> str:
    """`text` with every secret replaced by a marker."""
    for pattern, marker in _RULES:
        text = pattern.sub(marker, text)
    return text


def redact_tree(value: object) -> object:
    """A copy of a JSON value (a notebook) with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        if _is_multiline_text(value):
            # nbformat stores a multi-line string as its lines: a PEM key spans several of them,
            # so the lines are redacted together and split again.
            return redact("".join(value)).splitlines(keepends=True)
        return [redact_tree(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_tree(item) for key, item in value.items()}
    return value


def _is_multiline_text(items: list) -> bool:
    return (
        len(items) > 1
        and all(isinstance(item, str) for item in items)
        and all(item.endswith("\n") for item in items[:-1])
    )


class LineRedactor:
    """Redacts a stream that arrives in arbitrary chunks, one complete line at a time.

    A PEM key spans lines, so a line-by-line pass alone would print its body: after a BEGIN line
    without its END, every line is held back until the END line arrives.
    """

    def __init__(self, emit: Callable[[str], None]):
        self._emit = emit
        self._pending = ""
        self._inside_key = False

    def write(self, chunk: str) -> None:
        self._pending += chunk
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line)

    def flush(self) -> None:
        if self._pending:
            self._line(self._pending)
            self._pending = ""
        self._inside_key = False

    def _line(self, line: str) -> None:
        if self._inside_key:
            end = _PEM_END.search(line)
            if end is None:
                return
            self._inside_key = False
            line = line[end.end():]
            if not line.strip():
                return
        begin = _PEM_BEGIN.search(line)
        if begin is not None and _PEM_END.search(line, begin.end()) is None:
            self._inside_key = True
            self._emit(redact(line[: begin.start()]) + "[REDACTED private-key]")
            return
        self._emit(redact(line))
