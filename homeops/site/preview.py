"""`mkdocs serve` after a failed build: every page of the preview shows why, until it builds again.

MkDocs' dev server holds every request while a rebuild is pending and, when the rebuild raises,
keeps holding them ("the server will appear stuck"), so a browser waits for minutes and the
errors are only in the terminal; when the *first* build raises, `mkdocs serve` exits. Both are
wrapped: a failed build publishes a small error site (same page paths, so the browser's page
reloads into it) and returns normally, which lets the server start, or answer, at once; the next
good build replaces it.

The first build is not reachable through a plugin event (`on_serve` comes after it), so
`serve_first_build_showing_errors` wraps the `build` function `mkdocs.commands.serve` calls.
"""

from __future__ import annotations

import functools
import html
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from mkdocs.structure.files import File

from homeops.site import build_log, runbook_pages, sources
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


def publish_error_site(root: Path, messages: list[str], pages: Iterable[str] = ()) -> None:
    """Replace the served site by the error page at every page path it had, or will have (`pages`),
    and as the 404 page. A page is served with the live-reload script, a 404 is not: only a page
    reloads by itself into the site once it builds."""
    page = error_page(messages)
    paths = {p.relative_to(root) for p in root.rglob("*.html")} if root.is_dir() else set()
    paths |= {Path("index.html"), Path("404.html")} | {Path(p) for p in pages}
    staged = StagedSite(root)
    try:
        for path in paths:
            (staged.directory / path).parent.mkdir(parents=True, exist_ok=True)
            (staged.directory / path).write_text(page, encoding="utf-8")
        staged.publish()
    finally:
        staged.discard()


def showing_errors(builder: Callable[[], None], root: Path,
                   pages: Callable[[], Iterable[str]] = tuple) -> Callable[[], None]:
    def build() -> None:
        with build_log.collecting() as problems:
            try:
                builder()
                return
            except (Exception, SystemExit) as exc:
                reason = str(exc)
        messages = problems.messages + ([reason] if reason and reason not in problems.messages else [])
        publish_error_site(root, messages, pages())
        log.error("The preview shows these errors until the site builds again.")

    return build


def page_paths(config) -> set[str]:
    """Where the site's pages are written, known before it ever built: its Markdown files and its
    runbook notebooks, through MkDocs' own file-to-URL rule."""
    docs = Path(config.docs_dir)
    names = [p.relative_to(docs).as_posix() for p in docs.rglob("*.md")]
    runbooks = sources.runbooks_dir(Path(config.config_file_path).resolve().parent)
    names += [runbook_pages.page_path(p.stem) for p in runbooks.glob("*.ipynb")]
    return {File(name, config.docs_dir, config.site_dir, config.use_directory_urls).dest_uri for name in names}


def serve_first_build_showing_errors() -> None:
    """Under `mkdocs serve` (its module is loaded), its builds publish the error site instead of raising.

    The served directory is the config's site_dir when the build starts (a build moves it to a
    staging directory, `homeops.site.staging`). Idempotent: `on_startup` runs once a process, but
    a test may start several.
    """
    serve = sys.modules.get("mkdocs.commands.serve")
    if serve is None or getattr(serve.build, "shows_errors", False):
        return
    build = serve.build

    @functools.wraps(build)
    def build_showing_errors(config, **options) -> None:
        showing_errors(lambda: build(config, **options), Path(config.site_dir), lambda: page_paths(config))()

    build_showing_errors.shows_errors = True
    serve.build = build_showing_errors
