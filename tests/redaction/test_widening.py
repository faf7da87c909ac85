"""A span grows to the whole token it was found in, over escaped slashes and wrapped lines, never past an escape."""

from __future__ import annotations

from homeops.redaction import redact
from homeops.redaction.text import _widened
from tests.redaction.corpus import CASES, wrap
from tests.redaction.ordinary import ORDINARY

JWT_CASE = next(c for c in CASES if c.name == "JWT wrapped at 76 columns")
AGE_IDENTITY = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3MF9TZ"
# A WireGuard private key as an encoder that escapes `/` writes it (PHP, some JSON libraries).
ESCAPED_KEY = "Zm9vYmFy\\/Jz3Hs6GhHzS\\/Xh+TvE+gR26yL0bqYpdCfe="


def test_a_span_found_after_an_escaped_slash_grows_to_the_first_character_of_the_token():
    text = f'{{"PrivateKey":"{ESCAPED_KEY}"}}'
    start = text.index("Xh+")
    token = (text.index(ESCAPED_KEY), text.index(ESCAPED_KEY) + len(ESCAPED_KEY))
    assert _widened(text, (start, start + 4, "credential")) == (*token, "credential")


def test_a_token_that_begins_with_an_escaped_slash_keeps_it_and_nothing_before_it():
    text = '{"PrivateKey":"\\/Jz3Hs6GhHzS\\/Xh+TvE+gR26yL0bqYpdCfe="}'
    value = text.index("\\/Jz3")
    assert _widened(text, (value + 2, value + 6, "credential"))[:2] == (value, len(text) - 2)
    alone = "\\/Jz3Hs6GhHzS\\/Xh+TvE+gR26yL0bqYpdCfe="
    assert _widened(alone, (2, 6, "credential"))[:2] == (0, len(alone))


def test_a_span_one_character_into_a_token_takes_that_character_too():
    assert _widened(AGE_IDENTITY, (1, 20, "age-secret-key"))[:2] == (0, len(AGE_IDENTITY))


def test_an_escaped_line_break_before_a_token_stays_an_escape():
    text = '{"log": "id_token:\\neyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmbHV4In0.c2lnbmF0dXJl"}'
    start = text.index("eyJ")
    assert _widened(text, (start, start + 10, "jwt"))[:2] == (start, text.index('"}'))


def test_a_wrapped_token_is_followed_to_its_last_line_wherever_its_first_line_starts():
    token = JWT_CASE.text.split("\n", 1)[1].rsplit("\nend of token", 1)[0].replace("\n", "")
    # On its own lines, after a blank first line of the text:
    assert redact("\n" + wrap(token, 76) + "\nend of token") == "\n[REDACTED base64-json]\nend of token"
    # `fold -w 76` counting the label on the token's first line, first after a blank line, then after output:
    labelled = wrap(f"id_token: {token}", 76)
    assert redact("\n" + labelled + "\nend of token") == "\nid_token: [REDACTED base64-json]\nend of token"
    assert redact("login ok\n" + labelled + "\nend of token") == (
        "login ok\nid_token: [REDACTED base64-json]\nend of token")


def test_a_text_longer_than_the_memo_holds_is_redacted_too():
    nodes = ORDINARY["kubectl get nodes -o wide"] * 20
    assert len(nodes) > 4096
    assert redact(nodes + f"SOPS_AGE_KEY={AGE_IDENTITY}\n") == nodes + "SOPS_AGE_KEY=[REDACTED age-secret-key]\n"
