"""Output that is a coloured table in Jupyter and the same plain text everywhere else.

In a Jupyter front end (JupyterLab, nbconvert's HTML) a bundle of text/html and text/plain is
shown as HTML; the record keeps both. Under `homeops run` the terminal shows text only, and
papermill passes on only printed streams, so there the plain text is printed instead.
"""

from __future__ import annotations

import html
import os
import sys
from typing import Sequence

STATUS_COLOURS = {"ok": "#1a7f37", "warn": "#9a6700", "FAIL": "#cf222e"}


def show(plain: str, rich_html: str) -> None:
    if _in_jupyter_front_end():
        from IPython.display import display

        display({"text/plain": plain, "text/html": rich_html}, raw=True)
    else:
        print(plain, flush=True)


def status_table_html(header: Sequence[str], rows: Sequence[Sequence[str]], status_column: int) -> str:
    """An HTML table of `rows` (all text, escaped) whose `status_column` is coloured by its value."""
    head = "".join(f"<th style=\"text-align:left\">{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            style = "text-align:left"
            if index == status_column:
                colour = STATUS_COLOURS.get(value, "inherit")
                style += f";color:{colour};font-weight:bold"
            cells.append(f"<td style=\"{style}\">{html.escape(value)}</td>")
        body.append(f"<tr class=\"homeops-status-{html.escape(row[status_column])}\">{''.join(cells)}</tr>")
    return (f"<table class=\"homeops-checks\"><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def plan_line_html(step: str, why: str) -> str:
    """One planned change: the command as code, the reason beside it; its text is the plain line's."""
    note = f"<span class=\"homeops-plan-why\" style=\"color:#57606a\">  # {html.escape(why)}</span>" if why else ""
    return ("<div class=\"homeops-plan\" style=\"font-family:var(--jp-code-font-family,monospace);"
            "white-space:pre-wrap\"><span class=\"homeops-plan-mark\" style=\"color:#8250df;font-weight:bold\">"
            f"PLAN:</span> <code>{html.escape(step)}</code>{note}</div>")


def folded_html(summary: str, text: str) -> str:
    """`text` folded under a one-line `summary` (HTML details): there when wanted, out of the way otherwise."""
    return ("<details class=\"homeops-folded\"><summary style=\"color:#57606a;cursor:pointer\">"
            f"{html.escape(summary)}</summary><pre style=\"white-space:pre-wrap\">{html.escape(text)}</pre></details>")


def _in_jupyter_front_end() -> bool:
    from homeops.runner.guard import STARTER_ENV

    if os.environ.get(STARTER_ENV) == "cli" or "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
