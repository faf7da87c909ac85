"""Each secret pattern is removed, whole, and look-alikes that are not secrets stay (the corpus: tests/redaction)."""

from __future__ import annotations

import json

import pytest

from homeops.redaction import LineRedactor, redact, redact_tree

AGE_SECRET = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3MF9TZ"
AGE_PUBLIC = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
PEM_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
PEM = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----"
JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXZhbHVlLWhlcmU"
KEY_DATA = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB"


@pytest.mark.parametrize(
    ("text", "secret", "marker"),
    [
        (f"SOPS_AGE_KEY={AGE_SECRET}", AGE_SECRET, "[REDACTED age-secret-key]"),
        (f"key:\n{PEM}\nafter", PEM_BODY, "[REDACTED private-key]"),
        (f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----", PEM_BODY,
         "[REDACTED private-key]"),
        (json.dumps({"key": PEM}), PEM_BODY, "[REDACTED private-key]"),  # newlines escaped as \n
        (f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n(output cut)", PEM_BODY, "[REDACTED private-key]"),
        (f"Authorization: Bearer {KEY_DATA[:32]}", KEY_DATA[:32], "Bearer [REDACTED bearer-token]"),
        (f"curl -H 'authorization: bearer abc123def456ghi789'", "abc123def456ghi789", "bearer [REDACTED bearer-token]"),
        (f"token is {JWT} ok", JWT, "[REDACTED jwt]"),
        (f"    client-key-data: {KEY_DATA}", KEY_DATA, "client-key-data: [REDACTED kubeconfig-credential]"),
        (f"    client-certificate-data: {KEY_DATA}", KEY_DATA,
         "client-certificate-data: [REDACTED kubeconfig-credential]"),
        (f'{{"client-key-data": "{KEY_DATA}"}}', KEY_DATA, '"client-key-data": "[REDACTED kubeconfig-credential]"'),
        ("    token: 0123456789abcdef.fedcba9876543210", "0123456789abcdef.fedcba9876543210",
         "token: [REDACTED credential]"),
        ("nodes=token: 'sekrit-value-123456'", "sekrit-value-123456", "token: '[REDACTED credential]"),
        ("    password: hunter2-but-longer", "hunter2-but-longer", "password: [REDACTED credential]"),
        ("      access-token: ya29.a0AfH6SMB", "ya29.a0AfH6SMB", "access-token: [REDACTED kubeconfig-credential]"),
        ("kubectl --token=s3cr3t-t0ken get nodes", "s3cr3t-t0ken", "--token=[REDACTED credential-flag]"),
        ("kubectl --token s3cr3t-t0ken get nodes", "s3cr3t-t0ken", "--token [REDACTED credential-flag]"),
        ("talosctl --password 'pa55w0rd' get members", "pa55w0rd", "--password '[REDACTED credential-flag]"),
        (f"    ca: {KEY_DATA}", KEY_DATA, "ca: [REDACTED talosconfig-key-data]"),
        (f"    crt: {KEY_DATA}", KEY_DATA, "crt: [REDACTED talosconfig-key-data]"),
        (f"    key: {KEY_DATA}==", KEY_DATA, "key: [REDACTED talosconfig-key-data]"),
    ],
)
def test_each_kind_of_secret_is_replaced_by_a_marker_naming_it(text: str, secret: str, marker: str):
    cleaned = redact(text)
    assert pieces_left(secret, cleaned) == [], "not even part of the secret stays"
    assert marker in cleaned


def pieces_left(secret: str, text: str) -> list[str]:
    """Every 8-character piece of `secret` still in `text`: a partial redaction leaves some."""
    return [secret[i:i + 8] for i in range(len(secret) - 7) if secret[i:i + 8] in text]


def test_a_redaction_of_only_the_first_characters_is_caught():
    partial = "[REDACTED age-secret-key]" + AGE_SECRET[20:]
    assert pieces_left(AGE_SECRET, partial) != []


@pytest.mark.parametrize(
    "text",
    [
        f"recipient: {AGE_PUBLIC}",  # an age public key is meant to be shared
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXYZ\n-----END CERTIFICATE-----",  # certificates are public
        "Bearer tokens are redacted before anything is saved",  # prose about bearer tokens
        "eyJhbGciOiJIUzI1NiJ9 alone is a header, not a token",
        "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",  # the CA is public
        "key: noout",  # ordinary YAML keys with short values
        f"public key: {AGE_PUBLIC}",
        "    ca: QmFzZTY0IHRoYXQgaXMgbm90IGEgUEVNIGJsb2Nr",
        "    key: app.kubernetes.io/name",
        'token: ""',
        "tokens: 5",
        "ceph osd set-group noout worker-1",
        "passwords: 3 rotated",
        "--token-ttl 24h",
    ],
)
def test_what_is_not_a_secret_is_left_unchanged(text: str):
    assert redact(text) == text


def test_redacting_twice_changes_nothing_more():
    once = redact(f"Authorization: Bearer {JWT}\ntoken: {KEY_DATA}\n{AGE_SECRET}")
    assert redact(once) == once


def test_a_notebook_tree_is_redacted_in_every_string_and_keeps_its_shape():
    notebook = {
        "cells": [{"source": [f"note = {AGE_SECRET!r}\n"], "outputs": [{"text": [f"Bearer {KEY_DATA}\n"]}]}],
        "metadata": {"papermill": {"parameters": {"note": AGE_SECRET, "count": 3, "force": True}}},
    }
    cleaned = redact_tree(notebook)
    text = json.dumps(cleaned)
    assert AGE_SECRET not in text and KEY_DATA not in text
    assert cleaned["metadata"]["papermill"]["parameters"] == {
        "note": "[REDACTED age-secret-key]", "count": 3, "force": True}
    assert notebook["metadata"]["papermill"]["parameters"]["note"] == AGE_SECRET  # the original is untouched


def test_a_stream_is_redacted_line_by_line_even_when_chunks_split_a_secret():
    lines: list[str] = []
    stream = LineRedactor(lines.append)
    for chunk in ["age key: AGE-SECRET-", "KEY-1QYQSZQGPQYQSZ", "QGPQYQS\nnext line\n", "partial"]:
        stream.write(chunk)
    assert lines == ["age key: [REDACTED age-secret-key]", "next line"]
    stream.flush()
    assert lines[-1] == "partial"


def test_a_private_key_printed_over_many_lines_is_held_back_until_its_end():
    lines: list[str] = []
    stream = LineRedactor(lines.append)
    stream.write(f"before\nsecret: {PEM}\nafter\n")
    assert lines == ["before", "secret: [REDACTED private-key]", "after"]
    assert not any(PEM_BODY in line for line in lines)


def test_a_private_key_stored_as_a_list_of_lines_is_redacted_as_a_whole():
    # nbformat keeps a cell's output text as a list of lines.
    output = {"text": ["before\n", "-----BEGIN EC PRIVATE KEY-----\n", f"{PEM_BODY}\n",
                       "-----END EC PRIVATE KEY-----\n", "after\n"]}
    assert redact_tree(output) == {"text": ["before\n", "[REDACTED private-key]\n", "after\n"]}


def test_lists_that_are_not_lines_of_one_text_are_redacted_item_by_item():
    tags = {"tags": ["parameters", "injected-parameters"], "traceback": [f"line one {AGE_SECRET}", "line two"]}
    assert redact_tree(tags) == {"tags": ["parameters", "injected-parameters"],
                                 "traceback": ["line one [REDACTED age-secret-key]", "line two"]}
