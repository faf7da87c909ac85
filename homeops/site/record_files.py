"""The record pages as files of a MkDocs build: declared with the other files, filled once the theme exists.

`add` runs in `on_files`, so the pages are files of the build like any other (written to the site,
served by `mkdocs serve`); `fill` runs in `on_env`, once the navigation is known and before MkDocs
copies static files. A page whose finished form is in the cache (`record_cache`) is linked into the
site from there, and is only made again if the link cannot be made.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation
from mkdocs.utils import get_relative_url

from homeops.site import maintenance_log, record_pages, runbook_pages, themed_pages
from homeops.site.record_cache import RecordCache

LOG_PAGE = "operations/maintenance-log.md"


class RecordPage(File):
    """A generated page that is a hard link to its finished copy in the cache, when it has one."""

    finished: Path | None = None
    make: Callable[[], str] | None = None  # the page's text, when it has to be written after all

    def copy_file(self, dirty: bool = False) -> None:
        if self.finished is not None:
            try:
                _link(self.finished, Path(self.abs_dest_path))
                return
            except OSError:
                pass  # another filesystem, or the cached page was removed meanwhile: write it
        if self.make is not None:
            self.content_string = self.make()
        super().copy_file(dirty)


def _link(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    temporary = dest.with_name(f".{dest.name}.link")
    try:
        os.unlink(temporary)
    except FileNotFoundError:
        pass
    os.link(source, temporary)
    os.replace(temporary, dest)  # a dirty build may already have the file


def add(files: Files, config: MkDocsConfig, records_dir: Path) -> list[tuple[RecordPage, maintenance_log.Record | None]]:
    """One placeholder file per record, at the path the log links to, and one for the list of all of them."""
    records = maintenance_log.read_records(records_dir)
    placed: list[tuple[RecordPage, maintenance_log.Record | None]] = []
    for record in records:
        placed.append((RecordPage.generated(config, maintenance_log.page_path(record), content=""), record))
    if len(records) > maintenance_log.NEWEST:
        placed.append((RecordPage.generated(config, maintenance_log.ALL_RECORDS, content=""), None))
    for page, _record in placed:
        files.append(page)
    return placed


def fill(placed: list[tuple[RecordPage, maintenance_log.Record | None]], records_dir: Path, config: MkDocsConfig,
         env, nav: Navigation, files: Files) -> None:
    if not placed:
        return
    shell = themed_pages.render_shell(config, env, nav, files, maintenance_log.PAGES_DIR,
                                      section_page=LOG_PAGE if files.get_file_from_path(LOG_PAGE) else None)
    shell_digest = hashlib.sha256((shell.before + themed_pages.CONTENT + shell.after).encode()).hexdigest()
    records = [record for _page, record in placed if record is not None]
    cache = RecordCache(records_dir)
    used = []
    for page, record in placed:
        if record is None:
            # Every record's name and content is on this page.
            # The outcome shown is judged when the site is built ("running" may read "abandoned" by now).
            inputs = ["all", *(f"{r.file}:{r.digest}:{r.shown_outcome}" for r in records)]
            make = lambda page=page: shell.fill("all", "Maintenance log: all records",
                                                maintenance_log.all_records(records_dir, page.url))
        else:
            runbook = files.get_file_from_path(runbook_pages.page_path(record.runbook)) if record.runbook else None
            href = get_relative_url(runbook.url, page.url) if runbook is not None else None
            inputs = [record.file, record.digest, href or "", record.shown_outcome or ""]
            make = lambda record=record, href=href: shell.fill(
                record.slug, record_pages.title(record),
                record_pages.record_page_content(records_dir / record.file, record, cache, href))
        key = cache.page_key(shell_digest, page.url, *inputs)
        used.append(key)
        page.make, page.finished = make, cache.finished_page(key)
        if page.finished is None:
            text = make()
            page.content_string, page.finished = text, cache.keep_finished_page(key, text)
    cache.remove_unlinked_pages(used)
