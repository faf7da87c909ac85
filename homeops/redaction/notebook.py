"""Redacting run records (notebooks) and other JSON values as wholes, before they are stored.

A notebook splits what a cell printed: one stream output per write, each text a list of lines.
A secret cut by either split would be judged in halves, so the outputs of one stream in one cell
are joined first and judged together; a JSON value is judged as its text, so a value is seen beside
its key (`{"password": "..."}`) and a Secret's `data` beside its name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from homeops.redaction.text import redact

_NOT_TEXT = ("image/",)  # base64 pictures: not text anyone reads, and no label to judge
# The JSON text a tree is judged as: its own characters (not `\uXXXX` escapes, which would glue text
# beside a secret to its marker), one item a line.
_JSON_TEXT = json.JSONEncoder(ensure_ascii=False, indent=1)
# What a JSON encoder escapes inside a string (with ensure_ascii=False): quotes, backslashes, controls.
_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def redact_tree(value: Any) -> Any:
    """A copy of a JSON value with every secret removed, judged with the keys around it.

    A string that its JSON text escapes (a YAML document, a token wrapped over lines) is judged
    alone first, as the text it is: inside the JSON text its line breaks are `\\n`, and a format
    that spans lines would see only the first of them.
    """
    value = _each_string(value, _if_escaped)
    text = _JSON_TEXT.encode(value)
    redacted = redact(text)
    if redacted == text:
        return value
    try:
        return json.loads(redacted)
    except ValueError:
        # A marker swallowed JSON punctuation (a private key cut off mid-string runs to the end):
        # judge each string alone instead, which never breaks the structure.
        return _each_string(value, redact)


def _each_string(value: Any, judge: Callable[[str], str]) -> Any:
    """Every string of `value` judged on its own by `judge`; the lines of one text judged together."""
    if isinstance(value, str):
        return judge(value)
    if isinstance(value, list):
        if _is_lines(value):
            # nbformat stores a multi-line string as its lines: a PEM key spans several of them.
            return _lines(value)
        return [_each_string(item, judge) for item in value]
    if isinstance(value, dict):
        return {key: _each_string(item, judge) for key, item in value.items()}
    return value


def _if_escaped(text: str) -> str:
    """`text` redacted alone if its JSON text escapes it; a string without escapes reads the same
    inside the JSON text, where it is judged with its key, and is left for that."""
    return redact(text) if _ESCAPED.search(text) is not None else text


def redact_notebook(notebook: dict) -> dict:
    """A copy of an nbformat notebook (as a dict) with every secret removed from every part of it.

    Cell sources (the injected parameters among them), outputs with their streams joined,
    `application/json` data with its keys, exception texts (ename, evalue, traceback) and all
    metadata (papermill's parameters, the run's own `homeops` status and reason).
    """
    return {key: _cells(value) if key == "cells" else redact_tree(value) for key, value in notebook.items()}


def _cells(cells: list) -> list:
    return [_cached_cell(cell) if isinstance(cell, dict) else _each_string(cell, redact) for cell in cells]


def _cached_cell(cell: dict) -> dict:
    # papermill saves the whole notebook after every cell: the cells already judged come back
    # unchanged, so each is redacted once, not once per save.
    return json.loads(_cell_text(json.dumps(cell)))


@lru_cache(maxsize=512)
def _cell_text(cell: str) -> str:
    return json.dumps(_cell(json.loads(cell)), ensure_ascii=False)


def _cell(cell: dict) -> dict:
    return {key: _cell_part(key, value) for key, value in cell.items()}


def _cell_part(key: str, value: Any) -> Any:
    if key == "source":
        return _text(value)
    if key == "outputs":
        return _outputs(value) if isinstance(value, list) else redact_tree(value)
    return redact_tree(value)


def _outputs(outputs: list) -> list:
    """Each output redacted; the outputs of one stream joined into the first of them."""
    kept: list = []
    streams: dict[Any, dict] = {}
    for output in outputs:
        if isinstance(output, dict) and output.get("output_type") == "stream":
            name = output.get("name")
            if name in streams:
                streams[name]["text"] += _joined(output.get("text", ""))
                continue
            output = streams[name] = dict(output, text=_joined(output.get("text", "")))
        kept.append(output)
    return [_output(output) for output in kept]


def _output(output: Any) -> Any:
    if not isinstance(output, dict):
        return _each_string(output, redact)
    if output.get("output_type") == "stream":
        return {key: redact(value).splitlines(keepends=True) if key == "text" else redact_tree(value)
                for key, value in output.items()}
    if output.get("output_type") == "error" and isinstance(output.get("traceback"), list):
        # The traceback is judged as frames first, then the whole error with its keys (ename, evalue).
        return redact_tree(dict(output, traceback=_frames(output["traceback"])))
    return {key: _data(value) if key == "data" and isinstance(value, dict) else redact_tree(value)
            for key, value in output.items()}


def _frames(frames: list) -> list:
    # Frames are shown one below the other: a secret may continue from one into the next.
    joined = "\n".join(str(frame) for frame in frames)
    redacted = redact(joined)
    return [redact(line) for line in (frames if redacted == joined else redacted.split("\n"))]


def _data(data: dict) -> dict:
    return {mime: _datum(mime, value) for mime, value in data.items()}


def _datum(mime: str, value: Any) -> Any:
    if mime.startswith(_NOT_TEXT):
        return value
    if mime == "application/json" or mime.endswith("+json"):
        return redact_tree(value)
    return _text(value)


def _text(value: Any) -> Any:
    """A text stored as a string or as its lines, redacted whole and stored the same way."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return _lines(value)
    return _each_string(value, redact)


def _joined(text: str | list[str]) -> str:
    # nbformat keeps a stream's text as a string or as its lines.
    return "".join(text)


def _lines(lines: list[str]) -> list[str]:
    joined = "".join(lines)
    redacted = redact(joined)
    return lines if redacted == joined else redacted.splitlines(keepends=True)


def _is_lines(items: list) -> bool:
    return (
        len(items) > 1
        and all(isinstance(item, str) for item in items)
        and all(item.endswith("\n") for item in items[:-1])
    )
