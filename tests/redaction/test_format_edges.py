"""The formats at their edges: where a Secret's map ends, a value cut short, a refused match, a shortest token,
what of a PuTTY key is secret, a wrapped base64 key, an escaped webhook."""

from __future__ import annotations

import base64
import json

from homeops.redaction import LineRedactor, redact
from homeops.redaction.formats import unfinished
from tests.redaction.corpus import CASES, putty_key, wrap

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


def test_a_putty_key_loses_its_private_lines_only_and_keeps_its_mac_and_headers():
    # Private-MAC is an HMAC over the file keyed by the passphrase (PuTTY doc, appendix C): no secret.
    private = "nCXJ/fPPxqofirRPEjY0OnnTM9Vqwaqc/0XK8ww3YJEubR4sbIddRWGOTSNSSwvc\ndn+OS3AfVmuKZudEPDq3ZctwmUN1nP1Y"
    cleaned = redact(putty_key(private, mac="0123456789abcdef" * 4))
    assert cleaned == putty_key("[REDACTED putty-private-key]", mac="0123456789abcdef" * 4).replace(
        "Private-Lines: 1", "Private-Lines: 2")
    assert streamed(putty_key(private)) == redact(putty_key(private)).splitlines()


def test_a_putty_key_takes_as_many_lines_as_counted_and_no_more():
    text = "Private-Lines: 1\nnCXJ/fPPxqofirRPEjY0OnnTM9Vqwaqc\nAAAAB3NzaC1yc2EAAAADAQAB\n"
    assert redact(text) == "Private-Lines: 1\n[REDACTED putty-private-key]\nAAAAB3NzaC1yc2EAAAADAQAB\n"
    # Cut short before its count: the lines there are still go.
    assert redact("Private-Lines: 9\nnCXJ/fPPxqofirRPEjY0OnnTM9Vqwaqc") == "Private-Lines: 9\n[REDACTED putty-private-key]"


def test_a_slack_webhook_is_hidden_whole_with_or_without_escaped_slashes():
    url = "https://hooks.slack.com/services/T01ABCDEF/B02GHIJKL/Zq8wPr3vLx5tNy2KLm4pQ9rS"
    assert redact(f"api_url: {url}") == "api_url: [REDACTED slack-webhook]"
    escaped = '{"api_url": "' + url.replace("/", "\\/") + '"}'
    assert redact(escaped) == '{"api_url": "[REDACTED slack-webhook]"}'


def test_a_wrapped_base64_key_is_judged_whole_in_any_width_and_streamed_in_any_pieces():
    blob = FLUX_KEY_FILE.text
    for width in (64, 76):
        wrapped = wrap(blob, width)
        assert redact(f"{wrapped}\nnext") == "[REDACTED base64-age-secret-key]\nnext"
        assert redact(json.dumps({"value": wrapped})) == '{"value": "[REDACTED base64-age-secret-key]"}'
        printed: list[str] = []
        stream = LineRedactor(printed.append)
        for start in range(0, len(wrapped), 50):
            stream.write(wrapped[start:start + 50])
        stream.write("\nnext\n")
        assert printed == ["[REDACTED base64-age-secret-key]", "next"]


def test_a_wrapped_base64_value_that_is_not_a_key_is_left_alone():
    certificate = wrap(base64.b64encode(b"-----BEGIN CERTIFICATE-----\n" + b"MIIBszCCAVmgAwIBAgIUXYZ" * 20).decode(), 76)
    assert redact(certificate) == certificate


def test_a_key_folded_with_its_label_is_judged_from_the_label_on():
    # `fold -w 76` counts the label: the first line holds 64 characters of the value, the others 76.
    blob = FLUX_KEY_FILE.text
    for width in (64, 76, 80):
        folded = wrap(f"age.agekey: {blob}", width)
        assert redact(folded + "\ndone") == "age.agekey: [REDACTED base64-age-secret-key]\ndone", width
        assert redact(f"before\n{folded}") == "before\nage.agekey: [REDACTED base64-age-secret-key]", width


def test_a_line_longer_than_any_wrap_does_not_continue_into_the_next():
    blob = FLUX_KEY_FILE.text
    # 162 characters, no wrap width: the next line is not more of the same value, and neither
    # part says a key alone (the second starts mid-group, so it decodes to noise).
    head = "x" * 100 + " " + blob[:61]
    assert redact(f"{head}\n{blob[61:]}") == f"{head}\n{blob[61:]}"
    # The same first line at a wrap width does go on, the widest (80) included, wherever the line starts.
    for label in ("x" * 15, "before\n" + "x" * 15, "before\n" + "x" * 19, "\n" + "x" * 15, "\n" + "x" * 19,
                  "a\nb\n" + "x" * 15):
        assert redact(f"{label} {blob[:60]}\n{blob[60:]}") == f"{label} [REDACTED base64-age-secret-key]", label


def test_the_shortest_encoded_key_is_forty_characters_and_says_which_key_it_is():
    # 30 bytes: a PEM BEGIN line and the first bytes of the key, as a value cut short prints it.
    header = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nMI").decode()
    assert len(header) == 40
    assert redact(f"tls.key={header}") == "tls.key=[REDACTED base64-private-key]"


def test_a_base64_value_ends_at_its_padding_or_at_a_line_shorter_than_a_wrap():
    blob = FLUX_KEY_FILE.text
    padded = base64.b64encode(b"53 bytes end with one = of padding " + b"." * 18).decode()
    assert len(padded) == 72 and padded.endswith("=") and not padded.endswith("==")
    first = "x" * 3 + " " + padded  # 76 columns, but the value is over: the key below is judged alone
    assert redact(f"{first}\n{blob}") == f"{first}\n[REDACTED base64-age-secret-key]"
    plain = base64.b64encode(b"thirty bytes of an ordinary va").decode()  # 40 characters, no wrap width
    assert redact(f"{plain}\n{blob}") == f"{plain}\n[REDACTED base64-age-secret-key]"


def test_a_token_filling_a_wrap_width_after_a_label_keeps_the_line_open():
    token = "Zq8wPr3vLx5tNy2K" * 5  # 80 characters after `token: `
    assert unfinished(f"token: {token}") and unfinished(f"token: {token[:76]}")
    assert not unfinished(f"token: {token[:75]}") and not unfinished(f"token: {token}Q")


ENV_BLOCK = ("  - name: AWS_SECRET_ACCESS_KEY\n    value: >-\n      wJalrXUtnFEMI/K7MDENG\n\n      bPxRfiCYEXAMPLEKEY\n"
             "  - name: AWS_REGION\n    value: us-west-2\n")


def test_an_env_value_as_a_block_scalar_goes_whole_and_the_next_entry_stays():
    # YAML's block scalar: the value's lines are those indented deeper than `value:`, blank lines among them.
    expected = ("  - name: AWS_SECRET_ACCESS_KEY\n    value: >-\n      [REDACTED credential]\n"
                "  - name: AWS_REGION\n    value: us-west-2\n")
    assert redact(ENV_BLOCK) == expected
    assert streamed(ENV_BLOCK) == expected.split("\n")[:-1]
    assert redact(expected) == expected


def test_a_block_scalar_ends_at_a_sibling_key_and_its_indicator_may_carry_a_digit_and_a_comment():
    for indicator in ("|", "|-", "|+", ">", ">-", "|2", "|2-", "|-2", ">+ # folded, kept"):
        text = f"- name: GITHUB_TOKEN\n  value: {indicator}\n    Zq8wPr3vLx5tNy2K\n  valueFrom: null\nnext: 1"
        assert redact(text) == (f"- name: GITHUB_TOKEN\n  value: {indicator}\n    [REDACTED credential]\n"
                                "  valueFrom: null\nnext: 1"), indicator


def test_a_block_scalar_is_no_secret_under_an_ordinary_name_and_empty_is_nothing():
    motd = "- name: MOTD\n  value: |\n    welcome to home-ops\n- name: GITHUB_TOKEN\n  value: |-\n- name: X\n"
    assert redact(motd) == motd
    assert streamed(motd) == motd.split("\n")[:-1]


def test_a_credential_entry_right_after_a_block_is_read_as_its_own():
    text = ("- name: A_TOKEN\n  value: |\n    Zq8wPr3vLx5tNy2K\n- name: B_TOKEN\n  value: |\n    Lm4pQ9rS2tUvWx7Y\n"
            "- name: C_TOKEN\n  value: Hj3kL9mN2pQ5rS8t\n")
    expected = ("- name: A_TOKEN\n  value: |\n    [REDACTED credential]\n- name: B_TOKEN\n  value: |\n"
                "    [REDACTED credential]\n- name: C_TOKEN\n  value: [REDACTED credential]\n")
    assert redact(text) == expected
    assert streamed(text) == expected.split("\n")[:-1]


def test_a_block_already_named_by_another_format_keeps_its_name():
    # An age identity pasted as a block scalar is named by its own shape; a second pass must not rename it.
    text = f"- name: SOPS_AGE_KEY\n  value: |\n    {AGE_IDENTITY}\n- name: X\n"
    once = redact(text)
    assert once == "- name: SOPS_AGE_KEY\n  value: |\n    [REDACTED age-secret-key]\n- name: X\n"
    assert redact(once) == once


def test_a_labelled_block_scalar_goes_whole_and_what_follows_at_the_keys_depth_stays():
    text = ("auth:\n  description: |\n    not a secret\n  rootPassword: |-  # from the vault\n    Zq8wPr3vLx5tNy2K\n"
            "    Lm4pQ9rS2tUvWx7Y\n  user: admin\n- token: >\n    Hj3kL9mN2pQ5rS8t\n- name: loki\ntoken: |\n")
    assert redact(text) == (
        "auth:\n  description: |\n    not a secret\n  rootPassword: |-  # from the vault\n    [REDACTED credential]\n"
        "  user: admin\n- token: >\n    [REDACTED credential]\n- name: loki\ntoken: |\n")
    assert streamed(text) == redact(text).split("\n")[:-1]


def test_a_labelled_block_on_the_second_line_measures_its_own_indent_and_crlf_lines_are_held_too():
    text = "\n  rootPassword: |-\n    Zq8wPr3vLx5tNy2K\n  user: admin\n"
    assert redact(text) == "\n  rootPassword: |-\n    [REDACTED credential]\n  user: admin\n"
    crlf = "rootPassword: |-\r\n  Zq8wPr3vLx5tNy2K\r\nuser: admin\r\n"
    assert streamed(crlf) == ["rootPassword: |-\r", "  [REDACTED credential]\r", "user: admin\r"]
