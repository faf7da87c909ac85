"""The streaming redactor holds an unfinished secret back, but never more than HOLD_LIMIT characters of it."""

from __future__ import annotations

import pytest

from homeops.redaction import LineRedactor, redact
from homeops.redaction.formats import unfinished
from homeops.redaction.stream import HOLD_LIMIT
from tests.redaction.corpus import BASE64, CASES, chars, putty_key, wrap

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


ENDED_FORMATS = {
    "private key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
    # A v2 MAC (40 hex digits): a v3 one fills 64 columns like a wrapped token, and holds one line more.
    "PuTTY key": putty_key("nCXJ/fPPxqofirRPEjY0OnnTM9Vqwaqc/0XK8ww3YJEubR4sbIddRWGOTSNSSwvc",
                           mac="0123456789abcdef0123456789abcdef01234567").rstrip("\n"),
    "JSON data map": '  "data": {\n    "ca.key": "c2VjcmV0LXZhbHVlLW9mLWEta2V5",\n    "x": "eA=="\n  },',
    "YAML data map": "data:\n  ca.key: c2VjcmV0LXZhbHVlLW9mLWEta2V5\n\n  x: eA==\nkind: Secret",
    # talos-backup's sample: a comment between the name and its value keeps the name held.
    "env value after its name": ("  - name: AWS_SECRET_ACCESS_KEY\n    # consider storing this as a secret.\n"
                                 "    value: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "env value after its name (kubectl -o json)": ('        "name": "GITHUB_TOKEN",\n'
                                                   '        "value": "Zq8wPr3vLx5tNy2KLm4pQ9rS"'),
    # A block scalar's lines are the value: held to the first line as shallow as `value:`.
    "env value as a block scalar": ("  - name: AWS_SECRET_ACCESS_KEY\n    value: |-\n      wJalrXUtnFEMI/K7MDENG\n\n"
                                    "      bPxRfiCYEXAMPLEKEY\n  - name: AWS_REGION"),
    # The same beside a credential-named key of its own: held to the first line as shallow as the key's line.
    "labelled block scalar": ("      rootPassword: |-\n        wJalrXUtnFEMI/K7MDENG\n\n        bPxRfiCYEXAMPLEKEY\n"
                              "      user: admin"),
    "labelled block scalar in a list item": "  - token: >\n      Zq8wPr3vLx5tNy2KLm4pQ9rS\n  - name: loki",
    "wrapped token": wrap(CASES[0].text.split("\n")[-1] * 3, 76),
}


@pytest.mark.parametrize("name", ENDED_FORMATS)
def test_lines_are_held_while_a_format_is_open_and_let_go_at_the_line_that_ends_it(name: str):
    text = ENDED_FORMATS[name]
    *inside, last = text.split("\n")
    printed: list[str] = []
    stream = LineRedactor(printed.append)
    stream.write("before\n")
    for line in inside:
        stream.write(line + "\n")
    assert printed == ["before"], "nothing of an open format is printed"
    stream.write(last + "\n")
    if name == "wrapped token":  # a short last line ends a wrapped token: it is part of it
        assert printed == ["before", redact(text)]
    else:
        assert printed == ["before", *redact(text).split("\n")], "the line that ends it lets everything go"
    stream.write("after\n")
    assert printed[-1] == "after", "and what follows comes out at once"


def test_a_whole_text_is_unfinished_exactly_where_the_stream_holds():
    for text in ENDED_FORMATS.values():
        lines = text.split("\n")
        assert [unfinished("\n".join(lines[:n])) for n in range(2, len(lines) + 1)] == [True] * (len(lines) - 2) + [False]


def test_an_env_name_is_held_for_one_line_and_only_a_credential_name_is():
    printed: list[str] = []
    stream = LineRedactor(printed.append)
    stream.write("- name: AWS_REGION\n- name: GITHUB_TOKEN\n")
    assert printed == ["- name: AWS_REGION"], "a credential name waits for the line after it"
    stream.write("  valueFrom:\n")
    assert printed == ["- name: AWS_REGION", "- name: GITHUB_TOKEN", "  valueFrom:"], "a reference is no value"
    stream.write("- name: DB_PASSWORD\n  value: Lm4pQ9rS2tUv\n")
    assert printed[-2:] == ["- name: DB_PASSWORD", "  value: [REDACTED credential]"]


def test_a_block_scalar_is_held_only_after_a_credential_name_and_only_while_it_goes_deeper():
    printed: list[str] = []
    stream = LineRedactor(printed.append)
    stream.write("- name: MOTD\n  value: |\n    welcome\n")
    assert printed == ["- name: MOTD", "  value: |", "    welcome"], "an ordinary name's block is not held"
    stream.write("- name: DB_PASSWORD\n  value: |+  # kept\n    Lm4pQ9rS2tUv\n\n")
    assert printed[3:] == [], "a credential's block is held, blank lines too"
    stream.write("  valueFrom: null\n")
    assert printed[3:] == ["- name: DB_PASSWORD", "  value: |+  # kept", "    [REDACTED credential]", "",
                           "  valueFrom: null"], "a line as shallow as value: ends it"


def test_a_stream_holds_nothing_before_a_name_and_reads_a_name_at_the_start_of_a_line():
    printed: list[str] = []
    stream = LineRedactor(printed.append)
    stream.write("# env of the job\n")
    assert printed == ["# env of the job"], "no name was read yet: a comment goes at once"
    stream.write("name: GITHUB_TOKEN\n")
    assert printed == ["# env of the job"], "a name in the line's first column is a name"
    stream.write("value: Zq8wPr3vLx5tNy2K\n")
    assert printed[1:] == ["name: GITHUB_TOKEN", "value: [REDACTED credential]"]


def test_a_labelled_block_scalar_is_held_only_under_a_credential_key_and_only_while_it_goes_deeper():
    printed: list[str] = []
    stream = LineRedactor(printed.append)
    stream.write("description: |\n  welcome\n")
    assert printed == ["description: |", "  welcome"], "an ordinary key's block is not held"
    stream.write("  db_password: |-\n    Lm4pQ9rS2tUv\n\n")
    assert printed[2:] == [], "a credential key's block is held, blank lines too"
    stream.write("  user: admin\n")
    assert printed[2:] == ["  db_password: |-", "    [REDACTED credential]", "", "  user: admin"], (
        "a line as shallow as the key's ends it")
