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
            if (block := _LABELLED_BLOCK.match(text, label.start())) is not None:
                # `password: |-`: the value is the block scalar's lines, deeper than the key's own line.
                yield from _block_span(text, _key_depth(text, label.start()), block.end(), self.kind)
                continue
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


def _key_depth(text: str, at: int) -> int:
    # The indent of the line holding the key at `at`, a sequence's `- ` counted as indent (as YAML does).
    line_start = text.rfind("\n", 0, at) + 1
    return _KEY_INDENT.match(text, line_start).end() - line_start


_KEY_INDENT = re.compile(r"[ \t]*(?:-[ \t]+)*")

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


@dataclass(frozen=True)
class PuttyPrivateLines:
    """The private lines of a PuTTY key file: as many lines as its `Private-Lines:` header counts.

    Only those lines grant access. `Private-MAC:` is an HMAC of the file (the private part in clear
    among it) keyed by the passphrase, or by an empty key when the file is not encrypted: without
    the private lines it tells nothing of the key or the passphrase, and it stays with its label, as
    the headers and the public lines do.
    """

    kind: str = "putty-private-key"
    source: str = ("PuTTY's key format (putty doc/pubkeyfmt.but, appendix C 'PPK file format': Private-Lines, "
                   "Private-MAC, an HMAC over the private plaintext)")

    def spans(self, text: str) -> Iterator[Span]:
        for header in _PUTTY_PRIVATE_HEADER.finditer(text):
            end = position = header.end()
            for _ in range(int(header.group("count"))):
                line = _PUTTY_LINE.match(text, position)
                if line is None:
                    break  # fewer lines than counted (a file cut short): those there are go
                end, position = line.end("line"), line.end()
            if end > header.end():
                yield header.end(), end, self.kind


_PUTTY_PRIVATE_HEADER = re.compile(rf"Private-Lines:[ \t]*(?P<count>\d{{1,6}})[ \t]*{_BREAK}")
# One line of base64, whole: the header after the last line (`Private-MAC: ...`) is never one.
_PUTTY_LINE = re.compile(rf"(?P<line>[A-Za-z0-9+/=]+)(?:{_BREAK}|\Z)")
PUTTY_PRIVATE_LINES = PuttyPrivateLines()

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


# A base64 token long enough to carry a key, on one line or wrapped (`base64` wraps at 76, PEM
# writers at 64). What it says is judged as a whole: the secret may sit anywhere in it, at any of
# the three byte offsets base64 writes differently, and on any of its lines (age-keygen's file puts
# its `# created` and `# public key` lines before the identity, a combined PEM its certificates
# before the key), cut across two lines at any character.
_BASE64_START = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{16,}={0,2}")
_BASE64_NEXT_LINE = re.compile(rf"(?:{_BREAK})(?P<line>[A-Za-z0-9+/]+={{0,2}})(?![A-Za-z0-9+/=])")
_BASE64_MIN = 40
_BREAKS = re.compile(_BREAK)


@dataclass(frozen=True)
class EncodedKey:
    """A private key (PEM) or an age identity, base64-encoded: a Secret value printed alone.

    kubeconfig client-key-data and a Secret's tls.key carry a PEM key this way; `kubectl get secret
    sops-age -o jsonpath='{.data.age\\.agekey}'` prints the whole age-keygen file this way (fluxcd/flux2
    docs guides/mozilla-sops.md), and `| base64` prints it again wrapped at 76 columns.
    """

    source: str = ("a PEM private key or an age identity base64-encoded (kubeconfig client-key-data, Secret "
                   "tls.key, Flux's sops-age age.agekey), on one line or wrapped at 64/76/80 columns")

    def spans(self, text: str) -> Iterator[Span]:
        for start, end in _base64_tokens(text):
            said = _decoded(text[start:end])
            if _PEM_BEGIN.search(said):
                yield start, end, "base64-private-key"
            elif AGE_SECRET_KEY.regex.search(said):
                yield start, end, "base64-age-secret-key"


def _base64_tokens(text: str) -> Iterator[tuple[int, int]]:
    """Each base64 token of `_BASE64_MIN` characters or more, with the lines it goes on in when wrapped."""
    position = 0
    while (first := _BASE64_START.search(text, position)) is not None:
        start, end = first.span()
        filled = end - start in WRAP_WIDTHS or _line_width(text, end) in WRAP_WIDTHS
        while filled and text[end - 1] != "=" and (line := _BASE64_NEXT_LINE.match(text, end)) is not None:
            end, filled = line.end(), len(line.group("line")) in WRAP_WIDTHS
        if len(_BREAKS.sub("", text[start:end])) >= _BASE64_MIN:
            yield start, end
        position = end


def _line_width(text: str, end: int) -> int | None:
    """How long the line ending at `end` is, when it is no longer than a wrap width (None otherwise).

    Looked for within that width only: a long unbroken line holding many tokens stays linear.
    """
    widest = max(WRAP_WIDTHS)
    line_start = text.rfind("\n", max(0, end - widest - 1), end) + 1
    if line_start == 0 and end > widest:
        return None  # no line break within reach: the line is longer than any wrap
    return end - line_start


def _decoded(token: str) -> str:
    """What a base64 token says, its line breaks left out, as far as its whole 4-character groups go.

    Every such prefix decodes (a value cut short too); what it says may be binary, which only has
    to be searchable for the shapes of a key.
    """
    token = _BREAKS.sub("", token)
    return base64.b64decode(token[: len(token) // 4 * 4]).decode(errors="replace")


ENCODED_KEY = EncodedKey()
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
# The whole URL is the credential (whoever has it can post); a JSON encoder may write each `/` as `\/`.
SLACK_WEBHOOK = Pattern(
    "slack-webhook",
    r"https?:(?:\\?/){2}hooks\.slack\.com(?:\\?/)services(?:\\?/)T[A-Za-z0-9_]+(?:\\?/)B[A-Za-z0-9_]+(?:\\?/)[A-Za-z0-9_]+",
    "Slack incoming webhooks (docs.slack.dev messaging/sending-messages-using-incoming-webhooks; Alertmanager "
    "slack_configs api_url), as detect-secrets' SlackDetector matches them, and with `\\/` escapes",
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


# -- a container's env var whose name is a credential word ------------------------------------

# `name:` then `value:` of one env entry: on the next line (YAML, `kubectl -o json`, a `\n`-escaped
# string), past comment and blank lines (talos-backup's sample comments between them), or after a
# comma on the same line (compact JSON, YAML flow `{name: ..., value: ...}`). The name ends with a
# credential word as a label's key must (`AWS_SECRET_ACCESS_KEY`, `GITHUB_TOKEN`; not `AWS_REGION`).
_ENV_NAME = (rf"(?<![\w.-])name(?:{_QUOTE})?[ \t]*:[ \t]*(?:{_QUOTE})?[\w.-]*?{_CREDENTIAL_WORD}"
             rf"(?:{_QUOTE})?[ \t]*")
_ENV_BETWEEN = rf"(?:,(?:[ \t]*{_BREAK})?|{_BREAK})(?:[ \t]*(?:#(?:(?!{_BREAK})[^\n])*)?{_BREAK})*[ \t]*"
# A YAML block scalar's header (YAML 1.2.2 section 8.1.1: `|` or `>`, a chomping `-`/`+` and an
# indentation digit in either order, a comment): its value is on the lines after it.
_BLOCK_HEADER = r"[|>](?:[1-9][-+]?|[-+][1-9]?)?[ \t]*(?:#[^\n]*)?"
# A credential-named key opening a block scalar (`password: |-`): its value is on the lines after it.
_LABELLED_BLOCK = re.compile(rf"{_NAME}:[ \t]*{_BLOCK_HEADER}(?=\r?\n|\Z)", re.IGNORECASE)
_ENV_VALUE = re.compile(
    rf"{_ENV_NAME}{_ENV_BETWEEN}(?P<key>)(?:{_QUOTE})?value(?:{_QUOTE})?[ \t]*:[ \t]*"
    rf"(?:(?P<block>{_BLOCK_HEADER})(?=\r?\n|\Z)"
    rf"|(?P<q>{_QUOTE})(?!\[REDACTED)(?P<quoted>(?:(?!(?P=q))[^\n])+?)(?=(?P=q))"
    rf"|(?!\[REDACTED)(?P<plain>{_EDGE}(?:{_INSIDE}*{_EDGE})?))",
    re.IGNORECASE)
_MARKER = re.compile(r"\[REDACTED [a-z0-9-]+\]")


@dataclass(frozen=True)
class EnvVar:
    """The value of a container's env entry whose name is a credential word, written on its own key.

    `- name: AWS_SECRET_ACCESS_KEY` / `value: ...` puts the label in one key and the secret in
    another, so no label sits beside the value. `valueFrom:` (a reference to a Secret) is no value.
    A YAML block scalar (`value: |-`, `>`, `|2`...) puts the value on the lines after it: they go
    as one marker, up to the first line as shallow as `value:` (the next entry stays).
    """

    kind: str = "credential"
    source: str = ("Kubernetes core/v1 EnvVar{Name, Value, ValueFrom} (kubernetes/api core/v1 types.go), as YAML, "
                   "kubectl -o json and compact JSON; siderolabs/talos-backup cronjob.sample.yaml@9ccc125b env")

    def spans(self, text: str) -> Iterator[Span]:
        for entry in _ENV_VALUE.finditer(text):
            if entry.group("block") is not None:
                yield from self._block(text, entry)
                continue
            group = "quoted" if entry.group("quoted") is not None else "plain"
            if _is_value(entry.group(group)):
                yield entry.start(group), entry.end(group), self.kind

    def _block(self, text: str, entry: re.Match[str]) -> Iterator[Span]:
        # The block is every line after its header that is blank or indented deeper than `value:`;
        # the first line as shallow (the next `- name:`, a sibling `valueFrom:`) is not part of it.
        depth = entry.start("key") - (text.rfind("\n", 0, entry.start("key")) + 1)
        yield from _block_span(text, depth, entry.end(), self.kind)


def _block_span(text: str, depth: int, after: int, kind: str) -> Iterator[Span]:
    """The lines of a block scalar whose header ends at `after`: every line after it that is blank or
    indented deeper than `depth`, as one span (none when empty or already a marker)."""
    start = end = None
    for line in _BLOCK_LINE.finditer(text, after):
        content = line.group("content")
        if not content:
            continue
        if len(line.group("indent")) <= depth:
            break
        start = line.start("content") if start is None else start
        end = line.end("content")
    if start is not None and _MARKER.fullmatch(text, start, end) is None:
        yield start, end, kind


# One line after a block's header: its indent, and what it holds up to trailing blanks (empty on a blank line).
_BLOCK_LINE = re.compile(r"\n(?P<indent>[ \t]*)(?P<content>(?:[^\n]*\S)?)[^\S\n]*(?=\n|\Z)")
ENV_VAR = EnvVar()

# In this order a marker is named when two formats find the same span: by the file it is in
# (kubeconfig, talosconfig), then by its own shape (a JWT after `Bearer` is a JWT), then by its label.
FORMATS: tuple[Pattern | PuttyPrivateLines | EncodedKey | SecretData | EnvVar | Labelled, ...] = (
    PRIVATE_KEY, PUTTY_PRIVATE_LINES, AGE_SECRET_KEY, TALOSCONFIG, KUBECONFIG, CREDENTIAL_FLAG,
    JWT, BEARER, BASIC, BASE64_JSON, ENCODED_KEY, CEPH_KEY, BOOTSTRAP_TOKEN,
    GITHUB_FINE_GRAINED, SLACK_WEBHOOK, SECRET_DATA, ENV_VAR, LABELLED,
)

# -- formats that span lines -------------------------------------------------------------------

# The widths base64 and tokens are wrapped at: PEM bodies (64), MIME and `base64` (76), a terminal (80).
# A token filling a line of one of these widths may go on in the next line.
WRAP_WIDTHS = frozenset({64, 76, 80})

_PEM_BEGIN = re.compile(r"-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}")
_PEM_END = re.compile(r"-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}")
_PUTTY_BEGIN = re.compile(r"PuTTY-User-Key-File-\d+:")
_PUTTY_END = re.compile(r"Private-MAC:")
# The opening of a JSON `data` map (as `kubectl -o json` and `json.dumps(indent=...)` write it, on one line).
_JSON_DATA_OPENER = re.compile(r"(?P<q>\\?\")(?:data|stringData|binaryData)(?P=q)\s*:\s*\{")
_BRACE = re.compile(r"[{}]")
_YAML_DATA_LINE = re.compile(r"(?P<indent>[ \t]*)(?:data|stringData|binaryData):[ \t]*")
_INDENT = re.compile(r"[ \t]*")
_TRAILING_TOKEN = re.compile(r"[A-Za-z0-9+/_.=-]{16,}\Z")
# A line ending with an env entry's credential name (`- name: GITHUB_TOKEN`, `"name": "...KEY",`): its
# value comes on a later line. Looked for in the line's last characters only, as a token at its end.
_ENV_NAME_AT_END = re.compile(rf"{_ENV_NAME},?[ \t]*\Z", re.IGNORECASE)
_ENV_NAME_REACH = 256
_COMMENT_OR_BLANK = re.compile(r"[ \t]*(?:#.*)?")
_LABELLED_BLOCK_AT_END = re.compile(rf"{_NAME}:[ \t]*{_BLOCK_HEADER}\Z", re.IGNORECASE)
# The `value:` line of that entry when it opens a block scalar: the value is on the lines after it.
_ENV_BLOCK_OPENER = re.compile(rf"(?P<indent>[ \t]*)(?:{_QUOTE})?value(?:{_QUOTE})?[ \t]*:[ \t]*{_BLOCK_HEADER}",
                               re.IGNORECASE)


class OpenFormats:
    """Whether the lines read so far end inside a format that spans lines, told one line at a time.

    A streaming redactor holds lines back while `feed` says so: the body of a private key, the
    entries of a Secret's `data:`, the next line of a wrapped token. Each line is read once, so
    holding n lines costs n, not n squared (a 256 KiB key, 4,000 lines, took 7 s rejoined and
    rescanned at every line).
    """

    def __init__(self) -> None:
        self._pem = self._putty = self._json_data = False
        self._yaml_depth: int | None = None  # the indent of an open `data:` map's header
        self._env_name = False  # an env entry's credential name was read, its value not yet
        self._env_block: int | None = None  # the indent of the `value:` of an open block scalar
        self._labelled_block: int | None = None  # the indent of an open `password: |-` block's key line

    def feed(self, line: str) -> bool:
        """Reads the next line (without its line break); whether what was read is still unfinished."""
        self._pem = _still_open(line, self._pem, _PEM_BEGIN, _PEM_END)
        self._putty = _still_open(line, self._putty, _PUTTY_BEGIN, _PUTTY_END)
        self._json_data = _json_data_open(line, self._json_data)
        self._yaml_depth = _yaml_depth(line, self._yaml_depth)
        self._env_block = _env_block_depth(line, self._env_block, self._env_name)
        self._env_name = _env_name_open(line, self._env_name)
        self._labelled_block = _labelled_block_depth(line, self._labelled_block)
        return (self._pem or self._putty or self._json_data or self._yaml_depth is not None
                or self._env_name or self._env_block is not None or self._labelled_block is not None
                or _wrapped_token_open(line))


def unfinished(text: str) -> bool:
    """Whether `text` ends inside a format that spans lines, so what follows may still belong to it."""
    formats = OpenFormats()
    for line in text.split("\n"):
        still_open = formats.feed(line)
    return still_open


def _still_open(line: str, was_open: bool, begin: re.Pattern[str], end: re.Pattern[str]) -> bool:
    # The last marker of the line decides; a line without one changes nothing.
    marks = [(m.start(), True) for m in begin.finditer(line)] + [(m.start(), False) for m in end.finditer(line)]
    return max(marks)[1] if marks else was_open


def _json_data_open(line: str, was_open: bool) -> bool:
    # Open from `"data": {` until the next brace, either way: a nested object is no Secret's map.
    opener = None
    for opener in _JSON_DATA_OPENER.finditer(line):
        pass
    if opener is not None:
        return _BRACE.search(line, opener.end()) is None
    return was_open and _BRACE.search(line) is None


def _yaml_depth(line: str, depth: int | None) -> int | None:
    # Open from a `data:` header until a line that is not blank and not indented deeper than it.
    if (header := _YAML_DATA_LINE.fullmatch(line)) is not None:
        return len(header.group("indent"))
    return _yaml_depth_after(line, depth)


def _yaml_depth_after(line: str, depth: int | None) -> int | None:
    # A map or block open at `depth` ends at a line that is not blank and not indented deeper.
    if depth is not None and line.strip() and len(_INDENT.match(line).group()) <= depth:
        return None
    return depth


def _env_name_open(line: str, was_open: bool) -> bool:
    # Open from a line ending with a credential env name, through comment and blank lines, to the
    # next line: that line holds the value (or not) and closes it, unless it ends with such a name itself.
    if was_open and _COMMENT_OR_BLANK.fullmatch(line):
        return True
    return _ENV_NAME_AT_END.search(line, max(0, len(line) - _ENV_NAME_REACH)) is not None


def _env_block_depth(line: str, depth: int | None, after_name: bool) -> int | None:
    # Open from a block scalar's `value:` header right after a credential name, as `_yaml_depth` is
    # from `data:`: until a line that is not blank and not indented deeper than `value:`.
    if after_name and (header := _ENV_BLOCK_OPENER.fullmatch(line.rstrip())) is not None:
        return len(header.group("indent"))
    return _yaml_depth_after(line, depth)


def _labelled_block_depth(line: str, depth: int | None) -> int | None:
    # Open from a line ending with a credential-named key's block header, as `_yaml_depth` is from
    # `data:`: until a line that is not blank and not indented deeper than that key's line.
    if _LABELLED_BLOCK_AT_END.search(line.rstrip()) is not None:
        return len(_KEY_INDENT.match(line).group())
    return _yaml_depth_after(line, depth)


def _wrapped_token_open(line: str) -> bool:
    # As `text._fills_its_line` counts it: the whole line (`fold -w 76` counts a label before the
    # token) or the token alone (`print("token:", token)` of a token wrapped on its own). Only the
    # widest wrap and one character more can matter: a longer token or line fills none, and
    # searching a whole long line for a token at its end took time squared in its length.
    token = _TRAILING_TOKEN.search(line, max(0, len(line) - max(WRAP_WIDTHS) - 1))
    return token is not None and (len(line) in WRAP_WIDTHS or len(token.group()) in WRAP_WIDTHS)
