"""`mkdocs serve` after a failed rebuild: every page of the preview shows why, until it builds again.

MkDocs' dev server holds every request while a rebuild is pending and, when the rebuild raises,
keeps holding them ("the server will appear stuck"), so a browser waits for minutes and the
errors are only in the terminal. The builder is wrapped: a failed rebuild publishes a small
error site (same page paths, so the browser's page reloads into it) and returns normally, which
lets the server answer at once; the next good build replaces it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path

from homeops.site import build_log
from homeops.site.staging import StagedSite

log = logging.getLogger("mkdocs.homeops.preview")

ERROR_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>The site does not build</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
pre{{background:#f5f5f5;padding:1rem;overflow-x:auto;white-space:pre}}</style></head>
<body>
<h1>The site does not build</h1>
<p>Fix what is listed here and save: this page reloads by itself when the site builds again.</p>
<pre id="build-errors">{errors}</pre>
</body>
</html>
"""


def error_page(messages: list[str]) -> str:
    return ERROR_PAGE.format(errors=html.escape("\n".join(messages)))


def publish_error_site(root: Path, messages: list[str]) -> None:
    """Replace the served site by the error page at every page path it had (and as the 404 page)."""
    page = error_page(messages)
    paths = {p.relative_to(root) for p in root.rglob("*.html")} if root.is_dir() else set()
    paths |= {Path("index.html"), Path("404.html")}
    staged = StagedSite(root)
    try:
        for path in paths:
            (staged.directory / path).parent.mkdir(parents=True, exist_ok=True)
            (staged.directory / path).write_text(page, encoding="utf-8")
        staged.publish()
    finally:
        staged.discard()


def showing_errors(builder: Callable[[], None], root: Path) -> Callable[[], None]:
    def build() -> None:
        with build_log.collecting() as problems:
            try:
                builder()
                return
            except (Exception, SystemExit) as exc:
                reason = str(exc)
        messages = problems.messages + ([reason] if reason and reason not in problems.messages else [])
        publish_error_site(root, messages)
        log.error("The preview shows these errors until the site builds again.")

    return build
