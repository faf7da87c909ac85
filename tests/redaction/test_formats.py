"""Every format of the corpus is removed whole; ordinary cluster output is left exactly as it is."""

from __future__ import annotations

import json

import pytest

from homeops.redaction import redact
from tests.redaction.corpus import CASES, Case
from tests.redaction.ordinary import ORDINARY


def surviving(case: Case, text: str) -> list[str]:
    return sorted(piece for piece in case.pieces if piece in text)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_piece_of_a_secret_survives_and_a_marker_says_what_was_there(case: Case):
    cleaned = redact(case.text)
    assert surviving(case, cleaned) == []
    assert "[REDACTED " in cleaned


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_redacting_twice_changes_nothing_more(case: Case):
    once = redact(case.text)
    assert redact(once) == once


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_cluster_output_is_left_unchanged(name: str):
    assert redact(ORDINARY[name]) == ORDINARY[name]


def test_the_corpus_check_fails_on_a_partial_redaction():
    # What the corpus guards against: a marker over the first 20 characters, the rest left behind.
    case = next(c for c in CASES if c.name.startswith("age secret key"))
    body = case.bodies[0]
    partial = case.text.replace(body, "[REDACTED age-secret-key]" + body[20:])
    assert surviving(case, partial) != []


def test_colours_do_not_hide_a_secret_from_its_label():
    coloured = "\x1b[38;5;241mpassword\x1b[39m = \x1b[38;5;124m'Zq8wPr3vLx5tNy2K'\x1b[39m"
    assert "Zq8wPr3v" not in redact(coloured)
    assert redact(coloured) == "password = '[REDACTED credential]'"


def test_a_detector_match_is_widened_to_the_whole_token():
    # detect-secrets' JWT expression stops before the signature; the marker covers it too.
    jwt = ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmbHV4LXN5c3RlbSJ9."
           "c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1pdHNlbGY")
    assert redact(f"id {jwt} ok") == "id [REDACTED jwt] ok"


def test_a_label_written_as_html_is_still_a_label():
    html = "<pre>{&quot;token&quot;: &quot;Zq8wPr3vLx5tNy2K&quot;, &#39;password&#39;: &#39;Lm4pQ9rS2tUv&#39;}</pre>"
    assert redact(html) == ("<pre>{&quot;token&quot;: &quot;[REDACTED credential]&quot;, "
                            "&#39;password&#39;: &#39;[REDACTED credential]&#39;}</pre>")


def test_a_marker_is_named_after_the_most_telling_format():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmbHV4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    assert redact(f"Authorization: Bearer {jwt}") == "Authorization: Bearer [REDACTED jwt]"
    assert redact("Authorization: Bearer s3cr3tT0kenValue0123456789") == "Authorization: Bearer [REDACTED bearer-token]"
    assert redact("    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFB") == (
        "    client-key-data: [REDACTED kubeconfig-credential]")


def test_json_text_stays_json_when_a_secret_follows_an_escape():
    text = json.dumps({"log": "header\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\ntail"})
    assert json.loads(redact(text)) == {"log": "header\n[REDACTED private-key]\ntail"}
