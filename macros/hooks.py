"""MkDocs hook: one generated page per runbook notebook and per run record (from `homeops.site`).

Runbook pages are generated in `on_files`, so mkdocs-macros renders them like every other page.
Record pages are declared there too and filled in `on_env`, once the theme and nav exist.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from homeops.catalog import Runbook, RunbookMalformed
from homeops.site import record_files, runbook_pages, sources

_runbooks: list[Runbook] = []  # read once per build, in on_config
_records: list = []  # the record pages of this build, declared in on_files
_nav = None


def _project_dir(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _runbooks
    try:
        _runbooks = sources.site_runbooks(_project_dir(config))
    except RunbookMalformed as exc:
        raise PluginError(str(exc)) from None
    if config.nav is not None:
        config.nav = runbook_pages.nav_with_runbooks(config.nav, _runbooks)
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    project_dir = _project_dir(config)
    docs_dir = Path(config.docs_dir).resolve()
    for runbook in _runbooks:
        page = File.generated(config, runbook_pages.page_path(runbook.name),
                              content=runbook_pages.runbook_page(runbook, config.repo_url or ""))
        # The edit button opens the notebook, the page's real source.
        notebook = runbook.path.resolve().relative_to(project_dir).as_posix()
        page.edit_uri = posixpath.relpath(notebook, docs_dir.relative_to(project_dir).as_posix())
        files.append(page)
    global _records
    _records = record_files.add(files, config, sources.records_dir(project_dir))
    return files


def on_nav(nav, config: MkDocsConfig, files: Files):
    global _nav
    _nav = nav
    return nav


def on_env(env, config: MkDocsConfig, files: Files):
    record_files.fill(_records, sources.records_dir(_project_dir(config)), config, env, _nav, files)
    return env
