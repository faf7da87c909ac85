"""Small Markdown writers shared by the page builders, and the one place a value becomes page text.

Every value that comes from cluster.yaml, a notebook or a run (a node name, an OS image the cluster
reports, a tool's error text) reaches a page through `cell`, `code` or `html_text`, which make it
inert: the reader sees the characters, and neither Markdown nor HTML nor an attribute list reads
them as markup. `html_table` is for tables too long for Markdown's table parser (the maintenance
log: a thousand rows cost Python-Markdown more than a second); MkDocs passes raw HTML through.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

# What Python-Markdown and its extensions on this site would read as markup inside a line: HTML and
# entities (`<`, `&`), code spans, emphasis, links and images, attribute lists (`{: onclick=...}`),
# table cell borders, and the backslash that escapes them. Each becomes a character reference,
# which Markdown passes through untouched and the browser shows as the character itself.
_MARKUP = re.compile(r"[\\`*_\[\]{}|~<>&]")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def text(value: object) -> str:
    """`value` as literal text inside a Markdown line: one line, no markup left in it."""
    flat = _LINE_BREAKS.sub(" ", "" if value is None else str(value)).strip()
    return _MARKUP.sub(lambda m: f"&#{ord(m.group())};", flat)


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _inert(value: str) -> str:
    return _MARKUP.sub(lambda m: f"&#{ord(m.group())};", value)


def text_with_code(value: object) -> str:
    """Prose written with `code` spans (a runbook's purpose): the spans stay code, the rest is `text`."""
    flat = _LINE_BREAKS.sub(" ", "" if value is None else str(value)).strip()
    parts, end = [], 0
    for match in _CODE_SPAN.finditer(flat):
        # a pipe would end a table cell even inside code: such a span stays plain text
        span = _inert(match.group(0)) if "|" in match.group(2) else code(match.group(2).strip())
        parts += [_inert(flat[end:match.start()]), span]
        end = match.end()
    parts.append(_inert(flat[end:]))
    return "".join(parts)


def cell(value: object) -> str:
    """One table cell: literal text on one line (a pipe or a line break would split the row)."""
    return text(value)


def code(value: object) -> str:
    """Inline code: Markdown escapes `<` and `&` inside it; the fence outlasts any backticks in the value."""
    flat = _LINE_BREAKS.sub(" ", str(value))
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or flat.startswith(" ") or flat.endswith(" ") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def link(label: object, target: str) -> str:
    """A link whose label is literal text; the target is one of ours (a page path or a homepage)."""
    return f"[{text(label)}]({target})"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; cells are given already formatted (`cell`, `code`, `link`)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells for {len(headers)} headers")
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def admonition(kind: str, title: str, body: str) -> str:
    indented = "\n".join(f"    {line}" if line else "" for line in body.splitlines())
    return f'!!! {kind} "{title}"\n\n{indented}\n'


def html_text(value: object) -> str:
    """`value` as text inside HTML: every character that HTML could read as markup is escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def html_link(label: object, href: str) -> str:
    return f'<a href="{html_text(href)}">{html_text(label)}</a>'


def html_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table as one raw HTML block; cells are given already escaped (`html_text`, `html_link`)."""
    head = "".join(f"<th>{html_text(h)}</th>" for h in headers)
    body = []
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells for {len(headers)} headers")
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"
