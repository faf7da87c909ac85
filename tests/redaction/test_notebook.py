"""A record is judged whole: streams joined, JSON with its keys, parameters, exception texts."""

from __future__ import annotations

import json

from homeops.redaction import redact_notebook, redact_tree
from tests.redaction.corpus import CASES

PEM_CASE = next(c for c in CASES if c.name == "OpenSSH private key")
TOKEN = "Zq8wPr3vLx5tNy2KmB7cDf4G"


def notebook(*outputs: dict, source: str = "print('hi')\n", metadata: dict | None = None) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {}, "source": source, "outputs": list(outputs),
                       "execution_count": 1}],
            "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


def stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def saved(nb: dict) -> str:
    return json.dumps(redact_notebook(nb))


def test_a_private_key_printed_in_two_writes_is_judged_whole():
    text = PEM_CASE.text
    half = len(text) // 2
    nb = notebook(stream("stdout", "key follows\n" + text[:half]), stream("stderr", "warning\n"),
                  stream("stdout", text[half:] + "\ndone\n"))
    cleaned = redact_notebook(nb)
    outputs = cleaned["cells"][0]["outputs"]
    assert [o["name"] for o in outputs] == ["stdout", "stderr"], "one output per stream, in first-seen order"
    assert "".join(outputs[0]["text"]) == "key follows\n[REDACTED private-key]\ndone\n"
    assert [p for p in PEM_CASE.pieces if p in json.dumps(cleaned)] == []


def test_a_json_output_is_judged_with_its_keys():
    data = {"application/json": {"user": "flux", "password": TOKEN, "nested": {"apiToken": TOKEN[::-1]}},
            "text/plain": "{...}"}
    nb = notebook({"output_type": "execute_result", "data": data, "metadata": {}, "execution_count": 1})
    cleaned = redact_notebook(nb)["cells"][0]["outputs"][0]["data"]["application/json"]
    assert cleaned == {"user": "flux", "password": "[REDACTED credential]",
                       "nested": {"apiToken": "[REDACTED credential]"}}


def test_papermill_parameters_and_the_injected_cell_are_redacted():
    nb = notebook(source=f'# Parameters\ntoken = "{TOKEN}"\nnodes = "worker-2"\n',
                  metadata={"papermill": {"parameters": {"token": TOKEN, "nodes": "worker-2"}}})
    cleaned = redact_notebook(nb)
    assert cleaned["metadata"]["papermill"]["parameters"] == {"token": "[REDACTED credential]", "nodes": "worker-2"}
    assert cleaned["cells"][0]["source"] == '# Parameters\ntoken = "[REDACTED credential]"\nnodes = "worker-2"\n'


def test_exception_texts_are_redacted_even_when_colours_split_them():
    error = {"output_type": "error", "ename": "ToolError", "evalue": f"login failed: password={TOKEN}",
             "traceback": ["\x1b[0;31m---------\x1b[0m", f"\x1b[38;5;241mpassword\x1b[39m = \x1b[38;5;124m'{TOKEN}'"
                           "\x1b[39m", f"ToolError: login failed: password={TOKEN}"]}
    cleaned = redact_notebook(notebook(error))["cells"][0]["outputs"][0]
    assert TOKEN[:8] not in json.dumps(cleaned)
    assert cleaned["evalue"] == "login failed: password=[REDACTED credential]"
    assert cleaned["ename"] == "ToolError"


def test_the_runs_own_reason_in_metadata_is_redacted():
    nb = notebook(metadata={"homeops": {"outcome": "failed", "reason": f"Bearer {TOKEN} refused"}})
    assert redact_notebook(nb)["metadata"]["homeops"]["reason"] == "Bearer [REDACTED bearer-token] refused"


def test_a_notebook_without_secrets_is_returned_equal_and_the_original_untouched():
    nb = notebook(stream("stdout", "PLAN: kubectl cordon worker-2\n"), metadata={"papermill": {"parameters": {}}})
    before = json.dumps(nb)
    cleaned = redact_notebook(nb)
    assert json.dumps(nb) == before
    assert cleaned["cells"][0]["outputs"][0]["text"] == ["PLAN: kubectl cordon worker-2\n"]
    assert cleaned["metadata"] == nb["metadata"]


def test_images_are_not_text_and_stay_as_they_are():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    nb = notebook({"output_type": "display_data", "data": {"image/png": png}, "metadata": {}})
    assert redact_notebook(nb)["cells"][0]["outputs"][0]["data"]["image/png"] == png


def test_a_json_value_whose_redaction_breaks_its_text_is_judged_string_by_string():
    value = {"log": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "node": "worker-2"}
    assert redact_tree(value) == {"log": "[REDACTED private-key]", "node": "worker-2"}
