"""MkDocs hook: one generated page per runbook notebook (the pages come from `homeops.site`).

Generated in `on_files`, so mkdocs-macros renders them like every other page.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from homeops.catalog import Runbook, RunbookMalformed
from homeops.site import runbook_pages, sources

_runbooks: list[Runbook] = []  # read once per build, in on_config


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
    return files
