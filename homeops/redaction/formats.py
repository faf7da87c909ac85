"""The secret formats of this stack that a general scanner does not know, each with its upstream source.

A format finds spans: (start, end, kind) of what must go, never its label, so a reader of a record
still sees that a token was there. Public material (age recipients `age1...`, certificates inside
PEM blocks, `PublicKey =` of WireGuard) is left alone: only what grants access is removed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

Span = tuple[int, int, str]

# A line break inside the text, or one escaped inside a JSON string.
_BREAK = r"(?:\r?\n|\\n)"


@dataclass(frozen=True)
class Pattern:
    """A format told by a regular expression: the secret is its group `secret`, or the whole match."""

    kind: str
    expression: str
    source: str
    flags: int = 0
    valid: Callable[[str], bool] | None = None

    @cached_property
    def regex(self) -> re.Pattern[str]:
        # Compiled on first use, not at import: a site build that never redacts does not pay for it.
        return re.compile(self.expression, self.flags)

    def spans(self, text: str) -> Iterator[Span]:
        group = "secret" if "secret" in self.regex.groupindex else 0
        position = 0
        while (match := self.regex.search(text, position)) is not None:
            start, end = match.span(group)
            if start < end and (self.valid is None or self.valid(match.group(group))):
                yield start, end, self.kind
                position = match.end()
            else:
                # What the validator refuses may hold the start of what it accepts: in
                # `Bearer Bearer <token>` (a client that added the prefix twice) the refused
                # `Bearer Bearer` must not swallow the header that follows.
                position = match.start() + 1


# -- values beside a label ---------------------------------------------------------------------

# The last word of a key that holds a credential: `CLOUDFLARE_API_TOKEN`, `aescbcEncryptionSecret`,
# `bootstraptoken`, `age.agekey`, `PrivateKey` (WireGuard), `aws_secret_access_key`, `TunnelSecret`,
# `auth` (base64 user:password in a dockerconfigjson).
# A key must end with one of them: `tokens: 5`, `secretName:`, `--token-ttl` and `key: noout` stay.
_CREDENTIAL_WORD = (
    r"(?:password|passwd|passphrase|secret|token|auth|api[_.-]?key"
    r"|(?:private|secret|access|auth|account|client|encryption|signing|master|age)[_.-]?key)"
)
# A quote, one escaped inside a JSON string, or one written as HTML (an nbconvert page, text/html output).
_QUOTE = r"(?:\\?[\"']|&quot;|&#3[49];|&#x2[27];)"
# Only how a key ends matters, so the expression starts at the word (fast to find) and ignores
# what comes before it.
_NAME = rf"{_CREDENTIAL_WORD}(?:{_QUOTE})?[ \t]*"
# An escaped `\/` or `\uXXXX` belongs to a value that a JSON encoder wrote.
_ESCAPE = r"\\/|\\u[0-9A-Fa-f]{4}"
# A value's first and last character; a value never starts a nested map or list (`"token": {...}`).
_EDGE = rf"(?:{_ESCAPE}|[^\s\"'\\,;{{}}\[\]])"
_INSIDE = rf"(?:{_ESCAPE}|[^\n\"'\\,}}\]])"
_NOT_SECRET = re.compile(r"(?i)(?:true|false|null|none|nil|yes|no|~|<none>|\*+|\d{1,5}|\$\{[^}]*\}?|[|>][-+]?)")


def _is_value(value: str) -> bool:
    return _NOT_SECRET.fullmatch(value) is None


@dataclass(frozen=True)
class Labelled:
    """A value beside a label whose key ends with a credential word, in the three ways it is written.

    One scan finds the labels; each is then read quoted (`"token": "..."`, `PASSWORD='...'`), as a
    YAML `key: value` running to the end of its line (a value may hold spaces; flow punctuation
    `,`, `}`, `]` ends it), or as `KEY=value` running to the next blank (env files, wg-quick).
    """

    kind: str = "credential"
    source: str = ("the assignment forms detect-secrets' KeywordDetector looks for; YAML (Talos machine config, "
                   "secrets.yaml, kubeconfig), env files, wg-quick PrivateKey =, cloudflared TUNNEL_TOKEN=")

    def spans(self, text: str) -> Iterator[Span]:
        for label in _LABEL.finditer(text):
            for form in _LABELLED_FORMS:
                value = form.match(text, label.start())
                if value is not None:
                    if _is_value(value.group("secret")):
                        yield value.start("secret"), value.end("secret"), self.kind
                    break


_LABEL = re.compile(rf"{_NAME}(?::=|:|=)", re.IGNORECASE)
_LABELLED_FORMS = tuple(re.compile(form, re.IGNORECASE) for form in (
    rf"{_NAME}(?::=|:|=)[ \t]*(?P<q>{_QUOTE})(?!\[REDACTED)(?P<secret>(?:(?!(?P=q))[^\n])+?)(?=(?P=q))",
    rf"{_NAME}:[ \t]*(?!\[REDACTED)(?P<secret>{_EDGE}(?:{_INSIDE}*{_EDGE})?)",
    rf"{_NAME}:?=[ \t]*(?!\[REDACTED)(?P<secret>{_EDGE}+)",
))
LABELLED = Labelled()

KUBECONFIG = Pattern(
    "kubeconfig-credential",
    r"""(?<![\w-])(?:\\?["'])?(?:client-key-data|client-certificate-data|id-token|refresh-token|access-token"""
    r"""|client-secret)(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?(?!\[REDACTED)(?P<secret>[^\s"'\\,}\]]+)""",
    "kubeconfig users[].user and auth-provider config (kubernetes/client-go tools/clientcmd/api/v1/types.go)",
)
CREDENTIAL_FLAG = Pattern(
    "credential-flag",
    r"""(?<![\w-])--(?:[a-z0-9]+-)*(?:token|password|passphrase|secret)(?:=|[ \t]+)["']?(?!\[REDACTED)"""
    r"""(?P<secret>[^\s"']+)""",
    "kubectl --token/--password, cloudflared tunnel run --token, flux --password",
)

# -- formats told by their own shape -----------------------------------------------------------

PRIVATE_KEY = Pattern(
    "private-key",
    # PEM, OpenSSH, PGP (`PRIVATE KEY BLOCK`) and SSH2 (`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`);
    # also with newlines escaped inside a JSON string, and a block cut off before its END line
    # (a truncated output still must not leak the key).
    r"-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}"
    r"(?:.*?-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}|.*\Z)",
    "RFC 7468 (PEM), openssh PROTOCOL.key, RFC 4880 section 6.2 (PGP armor), RFC 4716 (SSH2)",
    re.DOTALL,
)
PUTTY_PRIVATE_LINES = Pattern(
    "putty-private-key",
    rf"Private-Lines:[ \t]*\d+[ \t]*{_BREAK}(?P<secret>(?:[A-Za-z0-9+/=]+{_BREAK})*[A-Za-z0-9+/=]+)",
    "PuTTY's key format (putty/doc/ppk.but: Private-Lines, Private-MAC)",
)
PUTTY_MAC = Pattern("putty-private-key", r"Private-MAC:[ \t]*(?P<secret>[0-9A-Fa-f]{16,})",
                     "PuTTY's key format (putty/doc/ppk.but)")
AGE_SECRET_KEY = Pattern(
    "age-secret-key", r"AGE-(?:PLUGIN-[A-Z0-9-]+-|SECRET-KEY-)1[0-9A-Z]+",
    "age's identity encoding (C2SP age.md: Bech32 HRP AGE-SECRET-KEY-)",
)
JWT = Pattern(
    "jwt", r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", "RFC 7519 compact serialization",
)
# base64 of a JSON object (`{"` is `eyJ`): Cloudflare tunnel tokens ({"a","t","s"}), dockerconfigjson.
# 32 characters at least: a lone JWT header such as `eyJhbGciOiJIUzI1NiJ9` is not a secret.
BASE64_JSON = Pattern(
    "base64-json", r"(?<![A-Za-z0-9+/_-])eyJ[A-Za-z0-9+/_-]{29,}={0,2}",
    "cloudflared connection.TunnelToken (JSON a/t/s, base64); Kubernetes .dockerconfigjson",
)


# A base64 token long enough to carry a key. What it says is judged as a whole: the secret may sit
# anywhere in it, at any of the three byte offsets base64 writes differently (age-keygen's file
# puts its `# created` and `# public key` lines before the identity, a combined PEM its
# certificates before the key).
_BASE64_TOKEN = r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}"


def _decoded(token: str) -> str:
    """What a base64 token says, as far as its whole 4-character groups go (a value cut short too).

    Every such prefix of a `_BASE64_TOKEN` decodes; what it says may be binary, which only has to
    be searchable for the shapes of a key.
    """
    return base64.b64decode(token[: len(token) // 4 * 4]).decode(errors="replace")


def _says_private_key(token: str) -> bool:
    return _PEM_BEGIN.search(_decoded(token)) is not None


def _says_age_identity(token: str) -> bool:
    return AGE_SECRET_KEY.regex.search(_decoded(token)) is not None


BASE64_PRIVATE_KEY = Pattern(
    "base64-private-key", _BASE64_TOKEN,
    "a PEM private key base64-encoded, as kubeconfig client-key-data and Secret tls.key carry it",
    valid=_says_private_key,
)
BASE64_AGE_SECRET_KEY = Pattern(
    "base64-age-secret-key", _BASE64_TOKEN,
    "an age identity base64-encoded, as `kubectl get secret sops-age -o jsonpath='{.data.age\\.agekey}'` prints "
    "it (fluxcd/flux2 docs guides/mozilla-sops.md: the Secret holds the whole age-keygen file)",
    valid=_says_age_identity,
)
# talosconfig `ca:`, `crt:`, `key:` and machine config CA `key:` hold base64 PEM ("LS0t" is "---").
TALOSCONFIG = Pattern(
    "talosconfig-key-data",
    r"""(?<![\w-])(?:\\?")?(?:ca|crt|key)(?:\\?")?[ \t]*:[ \t]*(?:\\?")?(?P<secret>LS0t[A-Za-z0-9+/]*={0,2})""",
    "talosconfig contexts.*.{ca,crt,key}; machine config machine.ca.key (siderolabs/talos pkg/machinery/config)",
)
CEPH_KEY = Pattern(
    "ceph-key", r"(?<![A-Za-z0-9+/])AQ[A-Za-z0-9+/]{36}==",
    "Ceph CryptoKey encoding (ceph src/auth/Crypto.cc: type, created, length, 16-byte secret; base64)",
)
BOOTSTRAP_TOKEN = Pattern(
    "bootstrap-token", r"(?<![\w.-])[a-z0-9]{6}\.[a-z0-9]{16}(?![\w.-])",
    "Kubernetes bootstrap token [a-z0-9]{6}.[a-z0-9]{16}; Talos machine.token and trustdinfo.token "
    "(siderolabs/talos pkg/machinery/config/generate/secrets/bundle.go genToken(6, 16))",
)
GITHUB_FINE_GRAINED = Pattern(
    "github-token", r"\bgithub_pat_[A-Za-z0-9_]{22,}",
    "GitHub fine-grained personal access tokens (github_pat_); detect-secrets knows only ghp_/gho_/...",
)


def _looks_like_a_credential(token: str) -> bool:
    # Real credentials mix classes of characters; prose ("Bearer authentication") does not.
    return len(token) >= 8 and bool(re.search(r"[0-9+/=]|.[A-Z]", token))


BEARER = Pattern(
    "bearer-token", r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9._~+/-]+=*)",
    "RFC 6750 section 2.1 (Authorization: Bearer)", valid=_looks_like_a_credential,
)
BASIC = Pattern(
    "basic-auth", r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]+={0,2})",
    "RFC 7617 (Authorization: Basic base64(user:password))", valid=_looks_like_a_credential,
)


# -- Secret data (any key) ---------------------------------------------------------------------

def _is_base64(value: str) -> bool:
    # Whole 4-character groups of the alphabet, padded at most twice at the end: Python decodes
    # every such value, so the shape is the whole test.
    return len(value) % 4 == 0 and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value) is not None


_YAML_DATA = re.compile(r"(?m)^(?P<indent>[ \t]*)(?P<name>data|stringData|binaryData):[ \t]*$")
_YAML_LINE = re.compile(
    r"(?P<indent>[ \t]*)(?:[^\s:#][^:\n]*:[ \t]+(?P<q>[\"']?)(?P<value>[^\n]*?)(?P=q)[ \t]*|[^\n]*)(?=\n|\Z)")


@dataclass(frozen=True)
class SecretData:
    """Every value of a Secret's `data:` (base64) or `stringData:` map, whatever its key.

    `age.agekey` of Flux's sops-age Secret, `tls.key`, `password`, a key nobody predicted: the key
    tells nothing, the place does. A ConfigMap's `data:` shares the name; its values are only hidden
    when they are well-formed base64, which ordinary settings rarely are.
    """

    kind: str = "secret-data"
    source: str = "Kubernetes core/v1 Secret (data: base64 values, stringData: plain values)"

    def spans(self, text: str) -> Iterator[Span]:
        yield from self._yaml(text)
        yield from self._json(text)

    def _yaml(self, text: str) -> Iterator[Span]:
        for header in _YAML_DATA.finditer(text):
            depth, plain = len(header.group("indent")), header.group("name") == "stringData"
            for entry in _lines(text, header.end() + 1):
                if not entry.group().strip():
                    continue
                if len(entry.group("indent")) <= depth:
                    break
                value = entry.group("value")
                if value and (plain or _is_base64(value)) and not value.startswith("[REDACTED"):
                    yield entry.start("value"), entry.end("value"), self.kind

    def _json(self, text: str) -> Iterator[Span]:
        for block in _JSON_DATA.finditer(text):
            plain = block.group("name") == "stringData"
            quote = re.escape(block.group("q"))
            entries = re.compile(rf"{quote}[^\"\\]*{quote}\s*:\s*{quote}(?P<value>[^\"\\]*){quote}")
            for entry in entries.finditer(block.group("body")):
                value = entry.group("value")
                if value and (plain or _is_base64(value)) and not value.startswith("[REDACTED"):
                    start = block.start("body") + entry.start("value")
                    yield start, start + len(value), self.kind


_JSON_DATA = re.compile(r"(?P<q>\\?\")(?P<name>data|stringData|binaryData)(?P=q)\s*:\s*\{(?P<body>[^{}]*)\}")


def _lines(text: str, position: int) -> Iterator[re.Match[str]]:
    """Each line from `position` on, as a `key: value` entry (`value` None when the line is not one)."""
    while position < len(text):
        entry = _YAML_LINE.match(text, position)
        yield entry
        position = entry.end() + 1


SECRET_DATA = SecretData()

# In this order a marker is named when two formats find the same span: by the file it is in
# (kubeconfig, talosconfig), then by its own shape (a JWT after `Bearer` is a JWT), then by its label.
FORMATS: tuple[Pattern | SecretData | Labelled, ...] = (
    PRIVATE_KEY, PUTTY_PRIVATE_LINES, PUTTY_MAC, AGE_SECRET_KEY, TALOSCONFIG, KUBECONFIG, CREDENTIAL_FLAG,
    JWT, BEARER, BASIC, BASE64_JSON, BASE64_PRIVATE_KEY, BASE64_AGE_SECRET_KEY, CEPH_KEY, BOOTSTRAP_TOKEN,
    GITHUB_FINE_GRAINED, SECRET_DATA, LABELLED,
)

# -- formats that span lines -------------------------------------------------------------------

# The widths base64 and tokens are wrapped at: PEM bodies (64), MIME and `base64` (76), a terminal (80).
# A token filling a line of one of these widths may go on in the next line.
WRAP_WIDTHS = frozenset({64, 76, 80})

_PEM_BEGIN = re.compile(r"-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}")
_PEM_END = re.compile(r"-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}")
_PUTTY_BEGIN = re.compile(r"PuTTY-User-Key-File-\d+:")
_PUTTY_END = re.compile(r"Private-MAC:")
_JSON_DATA_OPEN = re.compile(r"(?P<q>\\?\")(?:data|stringData|binaryData)(?P=q)\s*:\s*\{[^{}]*\Z")
_TRAILING_TOKEN = re.compile(r"[A-Za-z0-9+/_.=-]{16,}\Z")


def unfinished(text: str) -> bool:
    """Whether `text` ends inside a format that spans lines, so what follows may still belong to it.

    A streaming redactor holds lines back while this is true: the body of a private key, the
    entries of a Secret's `data:`, the next line of a wrapped token.
    """
    return (
        _opened(text, _PEM_BEGIN, _PEM_END)
        or _opened(text, _PUTTY_BEGIN, _PUTTY_END)
        or _JSON_DATA_OPEN.search(text) is not None
        or _yaml_data_open(text)
        or _wrapped_token_open(text)
    )


def _opened(text: str, begin: re.Pattern[str], end: re.Pattern[str]) -> bool:
    last = None
    for last in begin.finditer(text):
        pass
    return last is not None and end.search(text, last.end()) is None


def _yaml_data_open(text: str) -> bool:
    last = None
    for last in _YAML_DATA.finditer(text):
        pass
    if last is None:
        return False
    depth = len(last.group("indent"))
    return all(len(line.group("indent")) > depth for line in _lines(text, last.end() + 1) if line.group().strip())


def _wrapped_token_open(text: str) -> bool:
    # As `text._fills_its_line` counts it: the whole line (`fold -w 76` counts a label before the
    # token) or the token alone (`print("token:", token)` of a token wrapped on its own).
    line = text[text.rfind("\n") + 1:]
    token = _TRAILING_TOKEN.search(line)
    return token is not None and (len(line) in WRAP_WIDTHS or len(token.group()) in WRAP_WIDTHS)
