"""Reading built pages as a reader sees them: the article's text and its tables."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _Article(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # > 0 inside <article>
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self.depth += 1
        elif self.depth and tag == "table":
            self.tables.append([])
        elif self.depth and tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif self.depth and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "article":
            self.depth -= 1
        elif self._cell is not None and tag in ("td", "th"):
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)
            if self._cell is not None:
                self._cell.append(data)


def article(html: str) -> _Article:
    parser = _Article()
    parser.feed(html)
    return parser


def article_text(html: str) -> str:
    """The page's main text with whitespace collapsed (headings keep their permalink ¶)."""
    return re.sub(r"\s+", " ", "".join(article(html).text))


def article_tables(html: str) -> list[list[list[str]]]:
    return article(html).tables
