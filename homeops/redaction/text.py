"""Redacting one whole text: every span any format or detector finds, widened to the whole token.

A detector's match is where a secret was seen, not necessarily all of it (detect-secrets' JWT
expression stops before the signature): each span grows over the characters a token is made of,
and over the lines of a token wrapped at a fixed width, so no part of a secret is left beside its
marker. Overlapping spans become one marker.
"""

from __future__ import annotations

import re
from functools import lru_cache

from homeops.redaction import detectors
from homeops.redaction.formats import FORMATS, WRAP_WIDTHS, Span

# Colours may cut a label from its value (IPython colours a traceback's source lines), so a text
# with ANSI escapes is judged without them, and loses them when it holds a secret.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TOKEN_RIGHT = re.compile(r"(?:[A-Za-z0-9+/_.~-]|\\/|\\u[0-9A-Fa-f]{4})*={0,2}")
_TOKEN_LEFT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_.~-")
_CONTINUATION = re.compile(r"\r?\n([A-Za-z0-9+/_.=-]+)(?=\r?\n|\Z)")


# Records are saved again after every cell with the same metadata and earlier outputs, and a
# terminal repeats its lines: short texts are remembered.
_REMEMBERED_LENGTH = 4096


def redact(text: str) -> str:
    """`text` with every secret replaced by a marker such as `[REDACTED age-secret-key]`."""
    if not text:
        return text
    return _remembered(text) if len(text) <= _REMEMBERED_LENGTH else _redact(text)


@lru_cache(maxsize=2048)
def _remembered(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    if "\x1b[" in text:
        plain = _ANSI.sub("", text)
        found = find(plain)
        if found:
            return _replace(plain, found)
    return _replace(text, find(text))


def find(text: str) -> list[Span]:
    """Where the secrets of `text` are, merged and in order."""
    found = [span for fmt in FORMATS for span in fmt.spans(text)]
    found += detectors.spans(text)
    return _merged(sorted((_widened(text, span) for span in found), key=lambda s: (s[0], -s[1])))


def _widened(text: str, span: Span) -> Span:
    start, end, kind = span
    while start > 0:
        if start >= 2 and text[start - 2] == "\\":
            if text[start - 1] != "/":
                break  # `\n`, `\"`: an escape before the secret, not a part of it
            start -= 2  # `\/`: a slash a JSON encoder escaped inside the token
        elif text[start - 1] in _TOKEN_LEFT:
            start -= 1
        else:
            break
    end = _TOKEN_RIGHT.match(text, end).end()
    while _fills_its_line(text, start, end) and (more := _CONTINUATION.match(text, end)):
        end = more.end()
    return start, end, kind


def _fills_its_line(text: str, start: int, end: int) -> bool:
    """Whether the token ending at `end` fills its line to a wrap width, so it may go on in the next.

    The line is counted whole (`fold -w 76` counts a label before the token) or from where the
    token starts on it (`<pre>` before a token wrapped on its own).
    """
    line_start = text.rfind("\n", 0, end) + 1
    return end - line_start in WRAP_WIDTHS or end - max(start, line_start) in WRAP_WIDTHS


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end, kind in spans:
        if merged and start <= merged[-1][1]:
            first_start, first_end, first_kind = merged[-1]
            merged[-1] = (first_start, max(first_end, end), first_kind)
        else:
            merged.append((start, end, kind))
    return merged


def _replace(text: str, spans: list[Span]) -> str:
    pieces, position = [], 0
    for start, end, kind in spans:
        pieces += [text[position:start], f"[REDACTED {kind}]"]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
