"""Edges of redaction that whole-key tests miss: a key split over notebook lines, a stream after flush."""

from __future__ import annotations

from homeops.redaction import LineRedactor, redact_tree

KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"


def redacted_stream(*chunks: str, flush_between: bool = False) -> list[str]:
    lines: list[str] = []
    stream = LineRedactor(lines.append)
    for chunk in chunks:
        stream.write(chunk)
        if flush_between:
            stream.flush()
    stream.flush()
    return lines


def test_a_key_split_over_two_stored_lines_is_redacted_as_one_block():
    stored = ["-----BEGIN PRIVATE KEY-----\n", f"{KEY_BODY}-----END PRIVATE KEY-----\n"]

    redacted = "".join(redact_tree(stored))

    assert KEY_BODY not in redacted and "[REDACTED private-key]" in redacted


def test_a_single_string_with_newlines_stays_one_string():
    assert redact_tree(["line one\nline two"]) == ["line one\nline two"]


def test_a_list_whose_middle_item_has_no_newline_is_not_joined():
    assert redact_tree(["a\n", "b", "c"]) == ["a\n", "b", "c"]


def test_a_flushed_partial_line_is_not_repeated_or_altered_by_what_follows():
    assert redacted_stream("partial", "next line\n", flush_between=True) == ["partial", "next line"]


def test_a_key_cut_off_by_flush_does_not_hide_the_lines_after_it():
    lines = redacted_stream(f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}", "after the key\n", flush_between=True)

    assert KEY_BODY not in "".join(lines)
    assert lines[-1] == "after the key"


def test_an_end_marker_before_the_begin_marker_does_not_close_the_key_that_follows():
    lines = redacted_stream("old -----END RSA PRIVATE KEY----- new -----BEGIN RSA PRIVATE KEY-----\n",
                            f"{KEY_BODY}\n", "-----END RSA PRIVATE KEY-----\n", "done\n")

    assert KEY_BODY not in "".join(lines)
    assert lines[-1] == "done"
