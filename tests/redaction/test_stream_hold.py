"""The streaming redactor holds an unfinished secret back, but never more than HOLD_LIMIT characters of it."""

from __future__ import annotations

from homeops.redaction import LineRedactor
from homeops.redaction.stream import HOLD_LIMIT
from tests.redaction.corpus import BASE64, CASES, chars

BEGIN = "-----BEGIN PRIVATE KEY-----"


def open_key(size: int) -> str:
    """A private key that never reaches its END line: `size` characters, line breaks counted."""
    body_lines, rest = divmod(size - len(BEGIN) - 1, 4096)
    lines = [BEGIN] + [chars(BASE64, 4095) for _ in range(body_lines)] + [chars(BASE64, rest - 1)]
    return "\n".join(lines) + "\n"


def test_an_unfinished_key_is_held_up_to_the_limit_and_let_go_redacted_past_it():
    printed: list[str] = []
    stream = LineRedactor(printed.append)
    key = open_key(HOLD_LIMIT)
    assert len(key) == HOLD_LIMIT

    stream.write(key)
    assert printed == [], "exactly HOLD_LIMIT characters are still held"
    stream.write("next line\n")
    assert printed == ["[REDACTED private-key]"], "one line more lets the held text go, redacted to its end"

    # The count starts again from nothing: a second key is held to the same limit.
    stream.write(open_key(HOLD_LIMIT))
    assert printed == ["[REDACTED private-key]"]
    stream.flush()
    assert printed == ["[REDACTED private-key]", "[REDACTED private-key]"]


def test_a_token_wrapped_on_its_own_after_a_label_is_held_to_its_last_line():
    # `print("token:", token)` of a token that `fold -w 76` wrapped: the first line is longer than 76.
    case = next(c for c in CASES if c.name.startswith("service-account token wrapped"))
    printed: list[str] = []
    stream = LineRedactor(printed.append)
    for line in f"token: {case.text}\n".splitlines(keepends=True):
        stream.write(line)
    assert printed == ["token: [REDACTED base64-json]", "done"]
    assert [piece for piece in case.pieces if piece in "\n".join(printed)] == []
