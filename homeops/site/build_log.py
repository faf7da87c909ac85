"""What a site build prints: one line when it succeeds, every problem when it does not.

MkDocs and mkdocs-macros log through the `mkdocs` logger. The plugin's chatter (six
`[macros] Found ...` lines) and MkDocs' lines about the site directory (which now name the
staging directory, see `homeops.site.staging`) are dropped at INFO; warnings and errors always
pass, and so does `Documentation built in ... seconds`, the one line a good build prints.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MKDOCS_LOGGER = "mkdocs"
PAGES_LOGGER = "mkdocs.structure.pages"
MACROS_LOGGER = "mkdocs.plugins.mkdocs_macros.util"
BUILD_LOGGER = "mkdocs.commands.build"
# MkDocs' INFO lines about the directory it writes to: that directory is the staging one.
DROPPED_BUILD_LINES = ("Cleaning site directory", "Building documentation to directory")
# How mkdocs-macros prefixes the warning it logs for a page that failed to render (coloured on a terminal).
MACROS_ERROR_PREFIX = re.compile(r"^.*?\[macros\] - ERROR(?:\x1b\[[0-9;]*m)*\s*", re.DOTALL)


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        if record.name == MACROS_LOGGER:
            return False
        return not (record.name == BUILD_LOGGER and str(record.msg).startswith(DROPPED_BUILD_LINES))


class _PlainPageErrors(logging.Filter):
    """The page error (see `homeops.site.page_errors`) without the plugin's coloured prefix."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING and isinstance(record.msg, str):
            record.msg = MACROS_ERROR_PREFIX.sub("", record.msg, count=1).strip()
        return True


# MkDocs names the page and the link of a broken link, not the line: the line is looked up.
_LINK_WARNING = re.compile(r"^Doc file '(?P<page>[^']+)' contains (?:a|an absolute|an unrecognized relative) "
                           r"link (?:to )?'(?P<link>[^']+)'")


class _LinkLines(logging.Filter):
    """`docs/page.md:LINE: ` before MkDocs' warning about a link, when the page is a file."""

    def __init__(self) -> None:
        super().__init__()
        self.docs_dir: Path | None = None
        self.shown_as = "docs"

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        match = _LINK_WARNING.match(message) if record.levelno >= logging.WARNING else None
        if match and self.docs_dir is not None:
            line = _line_of(self.docs_dir / match["page"], match["link"])
            if line is not None:
                record.msg, record.args = f"{self.shown_as}/{match['page']}:{line}: {message}", ()
        return True


def _line_of(page: Path, link: str) -> int | None:
    try:
        lines = page.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None  # a generated page: no file to point into
    return next((number for number, text in enumerate(lines, 1) if link in text), None)


_QUIET = _Quiet()
_LINKS = _LinkLines()
_PLAIN = _PlainPageErrors()


def name_link_lines(docs_dir: Path, shown_as: str) -> None:
    """Broken links are reported with the line of `shown_as/PAGE` (the docs directory as the reader knows it)."""
    _LINKS.docs_dir, _LINKS.shown_as = docs_dir, shown_as.rstrip("/")
    logging.getLogger(PAGES_LOGGER).addFilter(_LINKS)


def quiet() -> None:
    """Install the filters (idempotent: `mkdocs serve` calls it at every rebuild)."""
    logging.getLogger(MACROS_LOGGER).addFilter(_QUIET)
    logging.getLogger(MACROS_LOGGER).addFilter(_PLAIN)
    logging.getLogger(BUILD_LOGGER).addFilter(_QUIET)


class Problems(logging.Handler):
    """Every warning and error logged during a build, as the reader saw it."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname}: {record.getMessage()}")


@contextmanager
def collecting() -> Iterator[Problems]:
    problems = Problems()
    logger = logging.getLogger(MKDOCS_LOGGER)
    logger.addHandler(problems)
    try:
        yield problems
    finally:
        logger.removeHandler(problems)


def start_collecting() -> Problems:
    """A collector attached until `stop_collecting` (for a build whose end is a plugin event)."""
    problems = Problems()
    logging.getLogger(MKDOCS_LOGGER).addHandler(problems)
    return problems


def stop_collecting(problems: Problems | None) -> None:
    if problems is not None:
        logging.getLogger(MKDOCS_LOGGER).removeHandler(problems)
