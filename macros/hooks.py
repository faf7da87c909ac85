"""MkDocs hook: a build that fails never touches the published site; one page per runbook notebook.

The build writes into a staging directory (`homeops.site.staging`) that replaces the site only
after every page rendered, every link resolved and no warning was logged (so `mkdocs build
--strict` is safe by itself). Under `mkdocs serve`, a failed rebuild shows its errors in the
browser instead (`homeops.site.preview`), and so does a failed first build, which would
otherwise end `mkdocs serve`. Runbook pages are generated in `on_files`, so
mkdocs-macros renders them like every other page.
Record pages are declared in `on_files` too and filled in `on_env`, once the theme and nav exist.
What does not change between builds is kept in `.site-cache/`: each page's Markdown after the macros
(`homeops.site.page_cache`), the pages' compiled Jinja (`homeops.site.page_templates`), the theme's
(`homeops.site.theme_templates`), each page's search entries (`homeops.site.search_entries`) and the
rendered tree (`homeops.site.render_cache`); each page's HTML is kept in memory, for the rebuilds of
`mkdocs serve` (`homeops.site.page_html`).
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

from homeops.catalog import Runbook, RunbookMalformed
from homeops.site import (
    build_log,
    git_variable,
    page_html,
    preview,
    publishing,
    record_files,
    runbook_pages,
    search_entries,
    serving,
    sources,
    theme_templates,
)
from homeops.site.staging import StagedSite

_runbooks: list[Runbook] = []  # read once per build, in on_config
_staged: StagedSite | None = None  # the directory this build writes to
_problems: build_log.Problems | None = None  # what this build logged at WARNING and above
_dirty = False
_records: list = []  # the record pages of this build, declared in on_files
_nav = None
_theme_code: theme_templates.KeptThemeCode | None = None  # the theme's compiled templates, this build
_search: search_entries.KeptEntries | None = None  # the pages' search entries, this build


def _project_dir(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_startup(command: str, dirty: bool) -> None:
    global _dirty
    _dirty = dirty
    preview.serve_first_build_showing_errors()
    serving.poll_often()


@event_priority(100)  # first, so that every plugin writes into the staging directory
def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _runbooks, _staged, _problems
    _end_build()
    git_variable.defer()  # before mkdocs-macros' on_config, which reads it
    try:
        _runbooks = sources.site_runbooks(_project_dir(config))
    except RunbookMalformed as exc:
        raise PluginError(str(exc)) from None
    if config.nav is not None:
        config.nav = runbook_pages.nav_with_runbooks(config.nav, _runbooks)
    build_log.quiet()
    build_log.name_link_lines(Path(config.docs_dir), sources.docs_in_project(config.docs_dir, _project_dir(config)))
    _problems = build_log.start_collecting()
    try:
        _staged = StagedSite(Path(config.site_dir), keep_previous=_dirty)
    except OSError as exc:
        raise PluginError(f"{config.site_dir}: cannot create a directory to build the site in: "
                          f"{exc.strerror or exc}") from None
    config.site_dir = str(_staged.directory)
    global _theme_code  # before any plugin loads a template (Material's search reads its translations)
    _theme_code = theme_templates.keep_compiled(config.theme, sources.site_cache_dir(_project_dir(config)) / "theme")
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    project_dir = _project_dir(config)
    docs_in_repo = sources.docs_in_project(config.docs_dir, project_dir)
    branch = publishing.branch_of(config.edit_uri, docs_in_repo)
    for runbook in _runbooks:
        page = File.generated(config, runbook_pages.page_path(runbook.name),
                              content=runbook_pages.runbook_page(runbook, config.repo_url or "", branch))
        # The edit button opens the notebook, the page's real source.
        notebook = runbook.path.resolve().relative_to(project_dir).as_posix()
        page.edit_uri = posixpath.relpath(notebook, docs_in_repo)
        files.append(page)
    global _records
    _records = record_files.add(files, config, sources.records_dir(project_dir))
    return files


@event_priority(-100)  # last, after the search index and every other file is written
def on_post_build(config: MkDocsConfig) -> None:
    # MkDocs aborts a strict build with warnings right after this event; without --strict the
    # site is not published either (a page that failed to render would show its error), and the
    # build must not exit 0 as if it had been.
    if _staged is None or _problems is None:
        return
    target, warnings = _staged.target, len(_problems.messages)
    if warnings == 0:
        _staged.publish()
        macros = config.plugins.get("homeops-macros")
        if macros is not None:
            macros.tidy_caches()
        if _theme_code is not None:
            theme_templates.remove_unused(_theme_code)
        if _search is not None:
            search_entries.remove_unused(_search)
    _end_build()  # removes the staging directory when it was not published
    if warnings and not config.strict:
        raise PluginError(f"{warnings} warnings: the site in {target} was left as it was")


def on_build_error(error: Exception) -> None:
    _end_build()


def on_shutdown() -> None:
    _end_build()


def on_serve(server, config: MkDocsConfig, builder):
    server.builder = preview.showing_errors(builder, Path(server.root))
    serving.import_render()
    records = sources.records_dir(_project_dir(config))
    if records.is_dir():  # mkdocs.yml watches records/; HOMEOPS_RECORDS may name another directory
        server.watch(str(records))
    return server


def _end_build() -> None:
    global _staged, _problems
    if _staged is not None:
        _staged.discard()
    build_log.stop_collecting(_problems)
    _staged = _problems = None


def on_pre_page(page, config: MkDocsConfig, files: Files):
    page_html.keep_html(page)  # under `mkdocs serve`, an unchanged page's Markdown is not converted again
    return page


def on_nav(nav, config: MkDocsConfig, files: Files):
    global _nav
    _nav = nav
    return nav


def on_env(env, config: MkDocsConfig, files: Files):
    global _search  # before the first page is indexed
    _search = search_entries.keep_entries(config.plugins, sources.site_cache_dir(_project_dir(config)) / "search")
    record_files.fill(_records, sources.records_dir(_project_dir(config)), config, env, _nav, files)
    return env
