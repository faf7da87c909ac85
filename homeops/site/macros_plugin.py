"""mkdocs-macros as the site uses it (`homeops-macros` in mkdocs.yml), without two costs it adds to every build.

- `mkdocs_macros.util` imports `requests` when it is imported, for one use: asking PyPI whether a
  pluglet that failed to import exists. `requests` and urllib3 are a sixth of what the site's
  machinery costs a build over plain MkDocs. Here `mkdocs_macros.util` gets, as its `requests`, a
  module that imports the real one at its first attribute read and hands on every read, so that
  error path works as it did. Nothing else sees it: `import requests` elsewhere imports the real
  module. (`importlib.util.LazyLoader` would not do: on Python 3.11, an `import` of a module already
  in `sys.modules` reads its `__spec__`, which executes a lazy module there and then.)
- Its `on_pre_build` serializes every variable, macro and filter to JSON for a DEBUG line,
  whether or not DEBUG is logged; here, only when it is (`mkdocs build --verbose`).

And it answers each page from `homeops.site.page_cache` when nothing the page is made of changed.
When the cache holds this site's configuration (what the macros set from cluster.yaml), mkdocs-macros'
own set-up (`on_config`: the macros module, cluster.yaml loaded and validated, the Jinja environment)
waits for the first page that misses, and a build whose pages all hit never does it. Pages compiled
in that environment are kept too (`homeops.site.page_templates`).
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from contextlib import contextmanager
from pathlib import Path


class _ImportedOnFirstUse(types.ModuleType):
    def __getattr__(self, attribute: str):  # called only for what this module does not have itself
        return getattr(importlib.import_module(self.__name__), attribute)


@contextmanager
def _imported_on_first_use(name: str):
    """While its body runs, `import name` gives a module that imports `name` when it is first used."""
    if name in sys.modules:  # already imported: nothing to save
        yield
        return
    stand_in = sys.modules[name] = _ImportedOnFirstUse(name)
    try:
        yield
    finally:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]


with _imported_on_first_use("requests"):
    from mkdocs_macros import plugin as _macros
from mkdocs_macros.util import LOG as _MACROS_LOG  # noqa: E402

from homeops.site import build_log, page_templates, sources  # noqa: E402
from homeops.site.page_cache import PageCache, is_literal, reads_uncovered  # noqa: E402


class MacrosPlugin(_macros.MacrosPlugin):
    _pages: PageCache | None = None
    _deferred = None  # MkDocs' config, while mkdocs-macros' set-up waits for a page that misses
    _nav: tuple | None = None  # (nav, files) of this build, for a set-up that comes after on_nav
    compiled: page_templates.CompiledPages | None = None  # the pages' Jinja, when set up

    def on_config(self, config):
        self._deferred = self._nav = self.compiled = None
        self._pages = PageCache.open(config, dict(self.config))
        known = self._pages.configuration() if self._pages is not None else None
        if known is not None:
            for name, value in known.items():
                config[name] = value
            self._deferred = config
            return config
        self._set_up(config)
        if self._pages is not None:
            self._pages.keep_configuration(config)  # cluster.yaml validated: it was loaded without an error
        return config

    def _set_up(self, config) -> None:
        super().on_config(config)
        project = Path(config.config_file_path).resolve().parent
        self.compiled = page_templates.keep_compiled(self.env, sources.site_cache_dir(project) / "pages")

    def _set_up_now(self) -> None:
        """The deferred set-up, at the first page that misses, as it would have been by now."""
        config, self._deferred = self._deferred, None
        self._set_up(config)
        if self._nav is not None:
            super().on_nav(self._nav[0], config=config, files=self._nav[1])

    def on_nav(self, nav, config, files):
        self._nav = (nav, files)
        if self._deferred is None:
            return super().on_nav(nav, config=config, files=files)
        return nav

    def on_page_markdown(self, markdown, page, config, **kwargs):
        keys = self._pages.page_keys(markdown, page, config) if self._pages is not None else None
        kept = self._pages.page(keys) if keys is not None else None
        if kept is not None:
            rendered, title = kept
            if title is not None:
                page.title = title
            return rendered
        if self._deferred is not None:
            self._set_up_now()
        title = page.title
        with build_log.collecting() as problems:
            rendered = super().on_page_markdown(markdown, page=page, config=config, **kwargs)
        if keys is not None and not problems.messages:
            # A literal page is kept under a key without cluster.yaml, the records, templates/ and
            # runbooks/: an edit of cluster.yaml under `mkdocs serve` renders only the pages that read it.
            literal, other = keys
            key = literal if is_literal(self.env, markdown) else None
            if key is None and not reads_uncovered(self.env, markdown):
                key = other
            if key is not None:
                self._pages.keep_page(key, rendered, page.title if page.title != title else None)
        return rendered

    def on_post_build(self, config):
        if self._deferred is None:  # set up: its modules' post-build functions run
            return super().on_post_build(config)

    def tidy_caches(self) -> None:
        """After a build that was published: what it did not use leaves the caches (the newest kept)."""
        if self._pages is not None:
            self._pages.tidy()
        if self.compiled is not None:
            page_templates.remove_unused(self.compiled.directory, self.compiled.used)

    def on_pre_build(self, *, config):
        if self._deferred is not None:
            return  # nothing set up to describe yet
        if _MACROS_LOG.isEnabledFor(logging.DEBUG):
            return super().on_pre_build(config=config)
        # What mkdocs-macros logs at INFO (names only); the JSON dumps are DEBUG lines.
        _macros.trace("Config variables:", list(self.variables.keys()))
        if self.macros:
            _macros.trace("Config macros:", list(self.macros.keys()))
        if self.filters:
            _macros.trace("Config filters:", list(self.filters.keys()))
