"""The record pages as files of a MkDocs build: declared with the other files, filled once the theme exists.

`add` runs in `on_files`, so the pages are files of the build like any other (written to the site,
served by `mkdocs serve`); `fill` runs in `on_env`, once the navigation is known and before MkDocs
copies static files.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation
from mkdocs.utils import get_relative_url

from homeops.site import maintenance_log, record_pages, runbook_pages, themed_pages
from homeops.site.record_cache import RecordCache

LOG_PAGE = "operations/maintenance-log.md"


def add(files: Files, config: MkDocsConfig, records_dir: Path) -> list[tuple[File, maintenance_log.Record | None]]:
    """One placeholder file per record, at the path the log links to, and one for the list of all of them."""
    records = maintenance_log.read_records(records_dir)
    placed: list[tuple[File, maintenance_log.Record | None]] = []
    for record in records:
        placed.append((File.generated(config, maintenance_log.page_path(record), content=""), record))
    if len(records) > maintenance_log.NEWEST:
        placed.append((File.generated(config, maintenance_log.ALL_RECORDS, content=""), None))
    for page, _record in placed:
        files.append(page)
    return placed


def fill(placed: list[tuple[File, maintenance_log.Record | None]], records_dir: Path, config: MkDocsConfig, env,
         nav: Navigation, files: Files) -> None:
    if not placed:
        return
    shell = themed_pages.render_shell(config, env, nav, files, maintenance_log.PAGES_DIR,
                                      section_page=LOG_PAGE if files.get_file_from_path(LOG_PAGE) else None)
    cache = RecordCache(records_dir)
    for page, record in placed:
        if record is None:
            content = maintenance_log.all_records(records_dir, page.url)
            page.content_string = shell.fill("all", "Maintenance log: all records", content)
            continue
        runbook = files.get_file_from_path(runbook_pages.page_path(record.runbook)) if record.runbook else None
        href = get_relative_url(runbook.url, page.url) if runbook is not None else None
        content = record_pages.record_page_content(records_dir / record.file, record, cache, href)
        page.content_string = shell.fill(record.slug, record_pages.title(record), content)
