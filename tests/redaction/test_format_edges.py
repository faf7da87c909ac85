"""The formats at their edges: where a Secret's map ends, a value cut short, a refused match, a shortest token."""

from __future__ import annotations

import base64

from homeops.redaction import LineRedactor, redact
from tests.redaction.corpus import CASES

FLUX_KEY_FILE = next(c for c in CASES if c.name.startswith("Flux sops-age key file"))
AGE_IDENTITY = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3MF9TZ"
VALUE = "c2VjcmV0LXZhbHVlLW9mLWEta2V5"  # base64, as every value of a Secret's data: is


def streamed(text: str) -> list[str]:
    lines: list[str] = []
    stream = LineRedactor(lines.append)
    stream.write(text)
    stream.flush()
    return lines


def test_a_refused_match_does_not_hide_the_header_after_it():
    # A client that adds the prefix to a value that already has it sends `Bearer Bearer <token>`.
    assert redact("Authorization: Bearer Bearer s3cr3tT0kenValue0123") == (
        "Authorization: Bearer Bearer [REDACTED bearer-token]")


def test_a_credential_of_eight_characters_is_long_enough():
    # base64("flux:q") is eight characters: the shortest value the header rules treat as a credential.
    assert redact("Authorization: Basic Zmx1eDpx") == "Authorization: Basic [REDACTED basic-auth]"
    assert redact("Authorization: Bearer Zq8wPr3v") == "Authorization: Bearer [REDACTED bearer-token]"


def test_a_base64_value_cut_short_is_judged_by_what_it_holds_so_far():
    blob = FLUX_KEY_FILE.text
    for cut in (1, 2, 3):
        cleaned = redact(f"age.agekey={blob[:-cut]} (truncated)")
        assert cleaned == "age.agekey=[REDACTED base64-age-secret-key] (truncated)"


def test_a_base64_certificate_alone_is_not_a_key():
    certificate = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXYZ\n-----END CERTIFICATE-----\n")
    assert redact(certificate.decode()) == certificate.decode()


def test_string_data_is_hidden_whatever_its_form_and_the_map_ends_at_the_next_key_as_shallow():
    manifest = ("kind: Secret\nstringData:\n  url: https://alerts.example.com/hook/Zq8wPr3vLx5t\n"
                "type: Opaque\nmetadata:\n  name: alertmanager\n")
    assert redact(manifest) == ("kind: Secret\nstringData:\n  url: [REDACTED secret-data]\n"
                                "type: Opaque\nmetadata:\n  name: alertmanager\n")


def test_a_blank_line_inside_a_data_map_does_not_end_it():
    manifest = f"data:\n  first: {VALUE}\n\n  second: {VALUE[::-1]}\nkind: Secret\n"
    assert redact(manifest) == "data:\n  first: [REDACTED secret-data]\n\n  second: [REDACTED secret-data]\nkind: Secret\n"


def test_a_data_map_indented_by_one_space_is_still_a_map():
    manifest = f"data:\n first: {VALUE}\n second: {VALUE[::-1]}\nkind: Secret\n"
    expected = "data:\n first: [REDACTED secret-data]\n second: [REDACTED secret-data]\nkind: Secret"
    assert redact(manifest) == expected + "\n"
    assert streamed(manifest) == expected.split("\n")


def test_a_value_another_format_already_named_keeps_its_name():
    yaml_form = f"stringData:\n  age.agekey: {AGE_IDENTITY}\n"
    json_form = f'{{"stringData": {{"age.agekey": "{AGE_IDENTITY}"}}}}'
    assert redact(yaml_form) == "stringData:\n  age.agekey: [REDACTED age-secret-key]\n"
    assert redact(json_form) == '{"stringData": {"age.agekey": "[REDACTED age-secret-key]"}}'
    assert redact(redact(yaml_form)) == redact(yaml_form)
    assert redact(redact(json_form)) == redact(json_form)


def test_json_string_data_is_hidden_even_when_it_is_not_base64():
    manifest = '{"kind": "Secret", "stringData": {"url": "https://alerts.example.com/hook/Zq8wPr3vLx5t"}}'
    assert redact(manifest) == '{"kind": "Secret", "stringData": {"url": "[REDACTED secret-data]"}}'
