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
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from contextlib import contextmanager


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


class MacrosPlugin(_macros.MacrosPlugin):
    def on_pre_build(self, *, config):
        if _MACROS_LOG.isEnabledFor(logging.DEBUG):
            return super().on_pre_build(config=config)
        # What mkdocs-macros logs at INFO (names only); the JSON dumps are DEBUG lines.
        _macros.trace("Config variables:", list(self.variables.keys()))
        if self.macros:
            _macros.trace("Config macros:", list(self.macros.keys()))
        if self.filters:
            _macros.trace("Config filters:", list(self.filters.keys()))
