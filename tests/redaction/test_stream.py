"""The streaming redactor prints lines only once it knows they hold no part of a secret."""

from __future__ import annotations

import pytest

from homeops.redaction import LineRedactor
from tests.redaction.corpus import CASES, Case
from tests.redaction.ordinary import ORDINARY


def streamed(text: str, chunk: int) -> tuple[list[str], LineRedactor]:
    lines: list[str] = []
    stream = LineRedactor(lines.append)
    for start in range(0, len(text), chunk):
        stream.write(text[start:start + chunk])
    return lines, stream


@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_secret_written_in_pieces_never_reaches_the_output(case: Case, chunk: int):
    lines, stream = streamed(case.text + "\n", chunk)
    before_flush = "\n".join(lines)
    stream.flush()
    printed = "\n".join(lines)
    assert [p for p in case.pieces if p in printed] == []
    assert [p for p in case.pieces if p in before_flush] == []


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_output_comes_out_unchanged_line_for_line(name: str):
    lines, stream = streamed(ORDINARY[name], 5)
    stream.flush()
    assert lines == ORDINARY[name].split("\n")[: -1 if ORDINARY[name].endswith("\n") else None]


def test_lines_that_may_continue_a_secret_are_held_until_it_ends():
    lines, stream = streamed("before\napiVersion: v1\ndata:\n  ca.key: c2VjcmV0LXZhbHVlLW9mLWEta2V5\n", 3)
    assert lines == ["before", "apiVersion: v1"], "the data: map may go on, so it is held"
    stream.write("kind: Secret\n")
    assert lines == ["before", "apiVersion: v1", "data:", "  ca.key: [REDACTED secret-data]", "kind: Secret"]


def test_an_unfinished_private_key_is_redacted_to_the_end_when_the_stream_ends():
    lines, stream = streamed("key:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n", 4)
    assert lines == ["key:"]
    stream.flush()
    assert lines == ["key:", "[REDACTED private-key]"]


def test_a_partial_last_line_is_held_until_the_end_of_the_cell():
    lines, stream = streamed("age key: AGE-SECRET-KEY-1QYQSZQGPQYQSZ\npartial", 6)
    assert lines == ["age key: [REDACTED age-secret-key]"]
    stream.flush()
    assert lines[-1] == "partial"
