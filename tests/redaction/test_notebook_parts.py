"""Every part of a record is redacted in the shape nbformat stores it, and what is ordinary stays as it was.

A cell keeps text in many places: its source, stream outputs (a string or its lines, one output
per write), display data (`text/plain` as lines, `text/html`, `application/json` and `+json`
types, the output's metadata), an error's ename, evalue and traceback frames, the cell's and the
notebook's metadata. Each corpus secret is put in all of them at once; each ordinary output too,
and that record must come back equal, key order included.
"""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib

import pytest

from homeops.redaction import redact_notebook, redact_tree
from tests.redaction.corpus import CASES, Case
from tests.redaction.ordinary import ORDINARY

TOKEN = "Zq8wPr3vLx5tNy2KmB7cDf4G"
GITHUB_TOKEN = "ghp_" + "Q7vKp2LmX9sR4tWz8YbN3cDf6GhJ5kMn1PqR"
PEM_CASE = next(c for c in CASES if c.name == "OpenSSH private key")


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def record(*cells: dict, metadata: dict | None = None) -> dict:
    return {"cells": list(cells), "metadata": metadata or {"kernelspec": {"name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def code_cell(*outputs, source="result = run()\n", metadata: dict | None = None) -> dict:
    return {"cell_type": "code", "execution_count": 1, "metadata": metadata or {}, "outputs": list(outputs),
            "source": source}


def everywhere(text: str) -> dict:
    """A record holding `text` in every place a cell and a notebook keep text."""
    half = len(text) // 2
    cell = code_cell(
        {"output_type": "stream", "name": "stdout", "text": text[:half]},
        {"output_type": "stream", "name": "stderr", "text": ["warning: retrying\n"]},
        {"output_type": "stream", "name": "stdout", "text": lines(text[half:] + "\n")},
        {"output_type": "display_data", "metadata": {"note": text},
         "data": {"text/plain": lines(text), "text/html": f"<pre>{text}</pre>"}},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {},
         "data": {"text/plain": text, "application/json": {"output": text},
                  "application/vnd.dataresource+json": {"data": [{"output": text}]}}},
        {"output_type": "error", "ename": "ToolError", "evalue": text, "traceback": text.split("\n")},
        source=lines(text), metadata={"tags": ["parameters"], "note": text})
    return record(cell, metadata={"papermill": {"parameters": {"note": text}}, "homeops": {"reason": text}})


def joined_streams(nb: dict) -> dict:
    """What `everywhere` becomes when nothing is secret: the two stdout writes are one output."""
    expected = json.loads(json.dumps(nb))
    outputs = expected["cells"][0]["outputs"]
    first, second = outputs[0], outputs.pop(2)
    first["text"] = lines(first["text"] + "".join(second["text"]))
    return expected


def surviving(case: Case, cleaned: dict) -> list[str]:
    text = json.dumps(cleaned, ensure_ascii=False)
    return sorted(piece for piece in case.pieces if piece in text)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_piece_of_a_secret_survives_in_any_part_of_a_record(case: Case):
    cleaned = redact_notebook(everywhere(case.text))
    assert surviving(case, cleaned) == []
    outputs = cleaned["cells"][0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream", "stream", "display_data", "execute_result", "error"]
    assert [o["name"] for o in outputs[:2]] == ["stdout", "stderr"]
    assert all(isinstance(line, str) for line in outputs[0]["text"]), "stream text stays a list of lines"
    assert all(isinstance(frame, str) for frame in outputs[4]["traceback"])
    assert outputs[1]["text"] == ["warning: retrying\n"], "the other stream is left alone"


@pytest.mark.parametrize("name", ORDINARY)
def test_a_record_of_ordinary_output_comes_back_equal(name: str):
    nb = everywhere(ORDINARY[name])
    cleaned = redact_notebook(nb)
    assert cleaned == joined_streams(nb)
    assert list(cleaned) == list(nb), "the notebook's keys keep their order"
    assert [list(o) for o in cleaned["cells"][0]["outputs"]] == [list(o) for o in joined_streams(nb)["cells"][0]["outputs"]]


def test_ipython_traceback_frames_keep_their_own_line_breaks_and_colours():
    # IPython stores one frame per item, each with line breaks and ANSI colours inside.
    frames = ["\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
              "\x1b[0;31mToolError\x1b[0m                                 Traceback (most recent call last)\n"
              "Cell \x1b[0;32mIn[3], line 2\x1b[0m\n\x1b[1;32m      1\x1b[0m nodes \x1b[38;5;241m=\x1b[39m [\x1b[38;5;124m"
              "\"worker-2\"\x1b[39m]\n\x1b[0;32m----> 2\x1b[0m drain(nodes)\n",
              "\x1b[0;31mToolError\x1b[0m: kubectl drain worker-2 timed out after 600s"]
    error = {"output_type": "error", "ename": "ToolError", "evalue": "kubectl drain worker-2 timed out after 600s",
             "traceback": frames}
    assert redact_notebook(record(code_cell(error)))["cells"][0]["outputs"][0] == error


def test_a_key_whose_lines_are_separate_traceback_frames_is_redacted_across_them():
    frames = ["Traceback (most recent call last):", "ToolError: the key the tool printed:", *PEM_CASE.text.split("\n"),
              "during handling of the above exception, another exception occurred"]
    error = {"output_type": "error", "ename": "ToolError", "evalue": "see above", "traceback": frames}
    cleaned = redact_notebook(record(code_cell(error)))["cells"][0]["outputs"][0]
    assert surviving(PEM_CASE, cleaned) == []
    assert cleaned["traceback"] == ["Traceback (most recent call last):", "ToolError: the key the tool printed:",
                                    "[REDACTED private-key]",
                                    "during handling of the above exception, another exception occurred"]


def test_a_traceback_stored_as_one_string_is_still_redacted():
    error = {"output_type": "error", "ename": "ToolError", "evalue": "login failed",
             "traceback": f"ToolError: login failed\n{GITHUB_TOKEN} was refused"}
    cleaned = redact_notebook(record(code_cell(error)))["cells"][0]["outputs"][0]
    assert cleaned == dict(error, traceback="ToolError: login failed\n[REDACTED github-token] was refused")


def test_a_stream_written_as_lines_over_several_outputs_is_joined_as_one_text():
    text = PEM_CASE.text + "\n"
    third = len(lines(text)) // 3
    writes = [lines(text)[:third], lines(text)[third:2 * third], lines(text)[2 * third:]]
    nb = record(code_cell(*({"output_type": "stream", "name": "stdout", "text": write} for write in writes)))
    outputs = redact_notebook(nb)["cells"][0]["outputs"]
    assert outputs == [{"output_type": "stream", "name": "stdout", "text": ["[REDACTED private-key]\n"]}]


def test_a_stream_output_without_text_adds_nothing_to_its_stream():
    nb = record(code_cell({"output_type": "stream", "name": "stdout"}))
    assert redact_notebook(nb)["cells"][0]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": []}]
    nb = record(code_cell({"output_type": "stream", "name": "stdout", "text": "drained\n"},
                          {"output_type": "stream", "name": "stdout"}))
    assert redact_notebook(nb)["cells"][0]["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": ["drained\n"]}]


def test_lines_keep_their_own_split_when_nothing_in_them_is_secret():
    # A list item may hold several lines, and the last line may be cut: nothing is re-split.
    plain = ["NAME       STATUS\nworker-2   Ready\n", "cp-1       Ready"]
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": plain}}
    assert redact_notebook(record(code_cell(output)))["cells"][0]["outputs"][0] == output
    assert redact_tree({"text": plain}) == {"text": plain}


def test_a_list_that_is_not_the_lines_of_one_text_is_redacted_item_by_item():
    # One item with line breaks inside stays one item; items that do not end lines are not joined.
    assert redact_tree([f"line one\n{GITHUB_TOKEN}\nline two"]) == ["line one\n[REDACTED github-token]\nline two"]
    assert redact_tree(["header\n", "name", f"token {GITHUB_TOKEN}"]) == [
        "header\n", "name", "token [REDACTED github-token]"]


def test_a_text_stored_as_neither_a_string_nor_lines_is_still_redacted():
    # A hand-edited record: markdown data kept as a map, a cell source kept as null.
    output = {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": {"note": f"use {GITHUB_TOKEN}"}}}
    cell = code_cell(output, source=None)
    cleaned = redact_notebook(record(cell))["cells"][0]
    assert cleaned["outputs"][0]["data"] == {"text/markdown": {"note": "use [REDACTED github-token]"}}
    assert cleaned["source"] is None


def test_what_nbformat_does_not_define_is_kept_and_still_redacted():
    # A hand-edited or truncated record: a cell or an output that is a bare string.
    odd_outputs = dict(code_cell(), outputs={"stdout": f"token {GITHUB_TOKEN}"})
    nb = record(code_cell(f"GITHUB_TOKEN={GITHUB_TOKEN}", "plain output"), f"token {GITHUB_TOKEN}", odd_outputs)
    cleaned = redact_notebook(nb)
    assert cleaned["cells"][0]["outputs"] == ["GITHUB_TOKEN=[REDACTED credential]", "plain output"]
    assert cleaned["cells"][1] == "token [REDACTED github-token]"
    assert cleaned["cells"][2]["outputs"] == {"stdout": "token [REDACTED github-token]"}


def test_a_notebook_without_cells_has_its_metadata_redacted():
    nb = {"metadata": {"papermill": {"parameters": {"token": TOKEN}}}, "nbformat": 4}
    assert redact_notebook(nb) == {"metadata": {"papermill": {"parameters": {"token": "[REDACTED credential]"}}},
                                   "nbformat": 4}


def test_an_outputs_metadata_is_judged_with_its_keys():
    output = {"output_type": "display_data", "metadata": {"password": TOKEN}, "data": {"text/plain": ["ok"]}}
    cleaned = redact_notebook(record(code_cell(output)))["cells"][0]["outputs"][0]
    assert cleaned == dict(output, metadata={"password": "[REDACTED credential]"})


def test_a_vendor_json_type_is_judged_with_its_keys():
    # pandas' table schema output (display.html.table_schema) is application/vnd.dataresource+json.
    data = {"schema": {"fields": [{"name": "user"}, {"name": "password"}]},
            "data": [{"index": 0, "user": "flux", "password": TOKEN}]}
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"application/vnd.dataresource+json": data, "text/plain": ["   user password\n"]}}
    cleaned = redact_notebook(record(code_cell(output)))["cells"][0]["outputs"][0]
    assert cleaned["data"]["application/vnd.dataresource+json"]["data"] == [
        {"index": 0, "user": "flux", "password": "[REDACTED credential]"}]


def png(width: int = 24, height: int = 24) -> str:
    """A real PNG of noise: its base64 is as random-looking as any secret, and it is still a picture."""
    noise = random.Random(7)
    rows = b"".join(b"\x00" + bytes(noise.randrange(256) for _ in range(width * 3)) for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return base64.b64encode(data).decode()


def test_a_picture_is_not_text_and_stays_byte_for_byte():
    picture = png()
    assert redact_tree({"image": picture}) != {"image": picture}, "as JSON text it would read as a secret"
    output = {"output_type": "display_data", "metadata": {}, "data": {"image/png": picture, "text/plain": ["<Figure>"]}}
    assert redact_notebook(record(code_cell(output)))["cells"][0]["outputs"][0] == output


def test_a_cell_source_is_judged_as_text_not_as_a_json_string():
    # Quoted in JSON, a lone public key reads as a high-entropy string; as a cell's text it is not one.
    public_key = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
    cell = {"cell_type": "markdown", "metadata": {}, "source": public_key}
    assert redact_notebook(record(cell))["cells"][0] == cell


def test_text_beside_a_secret_keeps_its_own_characters():
    # A message cut short with an ellipsis, in the record's JSON: the marker takes the token, not the `…`.
    cleaned = redact_tree({"evalue": f"401 for Bearer {TOKEN}…", "ename": "HTTPError"})
    assert cleaned == {"evalue": "401 for Bearer [REDACTED bearer-token]…", "ename": "HTTPError"}


def test_a_yaml_secret_inside_a_json_string_is_judged_as_the_text_it_is():
    manifest = "apiVersion: v1\nkind: Secret\ndata:\n  settings.conf: c2VjcmV0LXZhbHVlLW9mLWEta2V5\n"
    assert redact_tree({"stdout": manifest}) == {
        "stdout": manifest.replace("c2VjcmV0LXZhbHVlLW9mLWEta2V5", "[REDACTED secret-data]")}


def test_when_a_cut_off_key_breaks_the_json_text_every_string_is_judged_alone():
    # `echo $KEY` without quotes prints a key on one line; cut off, its marker runs to the end of the
    # JSON text, so each string is judged on its own instead, the plain ones too.
    flattened = "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB"
    cleaned = redact_tree({"stdout": flattened, "token": GITHUB_TOKEN, "node": "worker-2"})
    assert cleaned == {"stdout": "[REDACTED private-key]", "token": "[REDACTED github-token]", "node": "worker-2"}
