"""A page for each run record: what happened first (outcome, why it stopped, what was left in place),
then the executed notebook as nbconvert renders it.

What a run printed is text: before nbconvert sees the notebook, every string is redacted again
(the site is public; a record may have been copied in by hand), outputs keep only their plain-text
form (no HTML, JavaScript or SVG a tool or the cluster could have produced), and papermill's own
HTML banner is dropped. nbconvert's HTML then goes through an allowlist sanitizer (bleach), so
even Markdown written into a record by hand cannot add a script, a handler or a `javascript:` link.

Rendering costs tens of milliseconds a record and importing nbconvert over a second, so the
rendered notebook is cached per record by content (`record_cache`): a build with a thousand
unchanged records imports neither.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from pathlib import Path

from homeops.site.maintenance_log import MISSING, Record, when
from homeops.site.markdown import html_text
from homeops.site.record_cache import RecordCache

# Outcome -> (admonition kind, title). An outcome not listed here is shown as written.
OUTCOMES = {
    "completed": ("success", "Completed"),
    "stopped": ("warning", "Stopped"),
    "failed": ("failure", "Failed"),
    "interrupted": ("warning", "Interrupted"),
    "abandoned": ("failure", "Abandoned: the run ended without saying how"),
    "running": ("info", "Still running when the record was saved"),
}

_ALLOWED_TAGS = frozenset({
    "a", "b", "blockquote", "br", "code", "div", "em", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p",
    "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
})
_ALLOWED_ATTRIBUTES = {"*": ["class"], "a": ["href", "class"], **{f"h{n}": ["id", "class"] for n in range(2, 7)}}
_HEADING = re.compile(r"^(#{1,5})(?=\s)", re.MULTILINE)


def _joined(text: object) -> str:
    return "".join(text) if isinstance(text, list) else str(text or "")


def _text_only(notebook: dict) -> dict:
    """The notebook with its outputs reduced to text and papermill's HTML banner dropped."""
    cells = []
    for cell in notebook.get("cells", []):
        if "papermill-error-cell-tag" in (cell.get("metadata") or {}).get("tags", []):
            continue
        cell = {**cell, "metadata": {}}
        cell.pop("attachments", None)
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            # The page's own title is the h1: the runbook's headings move down a level.
            cell["source"] = _HEADING.sub(r"#\1", "".join(source) if isinstance(source, list) else source)
        outputs: list[dict] = []
        for output in cell.get("outputs", []):
            if output.get("output_type") in ("display_data", "execute_result"):
                text = (output.get("data") or {}).get("text/plain")
                if text is None:
                    continue
                output = {**output, "data": {"text/plain": text}, "metadata": {}}
            previous = outputs[-1] if outputs else {}
            if output.get("output_type") == "stream" and previous.get("output_type") == "stream" \
                    and previous.get("name") == output.get("name"):
                # One print a line is one block of text, as a terminal shows it.
                outputs[-1] = {**previous, "text": _joined(previous.get("text")) + _joined(output.get("text"))}
                continue
            outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs
        cells.append(cell)
    metadata = {key: notebook.get("metadata", {})[key] for key in ("kernelspec", "language_info")
                if key in notebook.get("metadata", {})}
    return {**notebook, "cells": cells, "metadata": metadata}


@lru_cache(maxsize=1)
def _converters():
    """nbconvert's exporter and bleach's cleaner, made once: loading the templates costs more than a page."""
    import bleach
    from nbconvert import HTMLExporter

    cleaner = bleach.sanitizer.Cleaner(tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                                       protocols={"http", "https", "mailto"}, strip=True, strip_comments=True)
    return HTMLExporter(template_name="basic"), cleaner


def render_notebook(data: bytes) -> str:
    """The record's notebook as sanitized HTML (nbconvert's basic template, no page around it)."""
    import nbformat

    from homeops.redaction import redact_tree

    exporter, cleaner = _converters()
    try:
        notebook = nbformat.reads(json.dumps(redact_tree(_text_only(json.loads(data)))), as_version=4)
        body, _resources = exporter.from_notebook_node(notebook)
    except Exception as exc:  # a record is operational output: a broken one is described, not fatal
        return f"<p>This record cannot be shown as a notebook: {html.escape(type(exc).__name__)}.</p>"
    return cleaner.clean(body)


def rendered_notebook(record_path: Path, record: Record, cache: RecordCache) -> str:
    cached = cache.get(record.digest, "html")
    if cached is not None:
        return cached
    try:
        data = record_path.read_bytes()
    except OSError as exc:
        return f"<p>This record cannot be read: {html.escape(exc.strerror or type(exc).__name__)}.</p>"
    rendered = render_notebook(data)
    cache.put(record.digest, "html", rendered)
    return rendered


def title(record: Record) -> str:
    return f"{record.runbook or record.file}, {when(record.started)}"


def _fact(label: str, value: object) -> str:
    return f"<tr><th>{html_text(label)}</th><td>{html_text(str(value))}</td></tr>"


def header(record: Record, runbook_href: str | None) -> str:
    """What a reader needs first, as HTML in which every value is escaped."""
    shown = record.shown_outcome
    kind, outcome = OUTCOMES.get(shown or "", ("note", shown or "Outcome not recorded"))
    summary = []
    if record.why:
        summary.append(f"<p><strong>Why:</strong> {html_text(record.why)}</p>")
    if record.may_have_left is not None:
        label = "May have left in place" if shown == "abandoned" else "Left in place"
        summary.append(f"<p><strong>{label}:</strong> {html_text(record.may_have_left)}</p>")
    elif shown not in ("completed", None):
        summary.append("<p><strong>Left in place:</strong> the record does not say; check the cluster.</p>")
    parts = [f'<div class="admonition {kind}"><p class="admonition-title">{html_text(outcome)}</p>'
             + "".join(summary) + "</div>"]
    if record.twin:
        parts.append('<p><strong>A rehearsal</strong> against the digital twin: nothing was done to the cluster.</p>')
    elif record.mode == "plan":
        parts.append("<p><strong>A plan run</strong>: it read the cluster and changed nothing.</p>")
    runbook = html_text(record.runbook or MISSING)
    if runbook_href and record.runbook:
        runbook = f'<a href="{html_text(runbook_href)}">{runbook}</a>'
    facts = [
        f"<tr><th>Runbook</th><td>{runbook}</td></tr>",
        _fact("Mode", record.mode_label),
        _fact("Started", when(record.started)),
        _fact("Finished", when(record.finished)),
        _fact("Exit code", MISSING if record.exit_code is None else record.exit_code),
        _fact("Record", f"records/{record.file}"),
    ]
    parts.append("<table><tbody>" + "".join(facts) + "</tbody></table>")
    return "\n".join(parts)


STYLE = """<style>
.homeops-record .prompt { display: none; }
.homeops-record pre { overflow-x: auto; padding: .6em .8em; background: var(--md-code-bg-color);
  color: var(--md-code-fg-color); font-size: .8em; white-space: pre; }
.homeops-record .output_area pre { border-left: .2em solid var(--md-default-fg-color--lightest); }
</style>"""


def record_page_content(record_path: Path, record: Record, cache: RecordCache, runbook_href: str | None) -> str:
    return "\n".join([
        STYLE,
        header(record, runbook_href),
        '<h2 id="the-run">The run</h2>',
        f'<div class="homeops-record">{rendered_notebook(record_path, record, cache)}</div>',
    ])
