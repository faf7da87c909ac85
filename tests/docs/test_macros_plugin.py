"""The site's mkdocs-macros (homeops.site.macros_plugin) defers `requests` without losing it, and
writes its JSON dump of the variables only where it is read: in a DEBUG log."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from super_collections import SuperDict

from homeops.site.macros_plugin import MacrosPlugin
from tests.docs.site_build import ROOT

MACROS_LOGGER = "mkdocs.plugins.mkdocs_macros.util"

IMPORT_THEN_USE = """
import json, sys
import homeops.site.macros_plugin
import mkdocs_macros.util as util
imported_at_import = "requests" in sys.modules  # neither the real module nor the stand-in
# What mkdocs-macros' PyPI lookup uses when a pluglet fails to import.
get, error = util.requests.get, util.requests.exceptions.RequestException
import requests, requests.api, requests.exceptions
print(json.dumps({
    "imported_at_import": imported_at_import,
    "real_get": get is requests.api.get and sys.modules["requests"] is requests and requests.get is get,
    "real_error": error is requests.exceptions.RequestException and issubclass(error, OSError),
}))
"""


def test_requests_is_executed_only_when_mkdocs_macros_uses_it():
    done = subprocess.run([sys.executable, "-c", IMPORT_THEN_USE], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout) == {"imported_at_import": False, "real_get": True, "real_error": True}


def heard(monkeypatch, caplog, level: int) -> None:
    """caplog hears mkdocs-macros' logger at `level`, whatever an earlier build in this process did to it
    (MkDocs' CLI stops its loggers' propagation; homeops.site.build_log filters the macros' INFO chatter)."""
    logger = logging.getLogger(MACROS_LOGGER)
    monkeypatch.setattr(logger, "filters", [])
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "disabled", False)
    for parent in ("mkdocs.plugins", "mkdocs"):
        monkeypatch.setattr(logging.getLogger(parent), "propagate", True)
        monkeypatch.setattr(logging.getLogger(parent), "disabled", False)
    caplog.set_level(level, logger=MACROS_LOGGER)


def plugin_with_variables() -> MacrosPlugin:
    plugin = MacrosPlugin()
    plugin._variables = {"cluster_name": "a-value-only-in-the-dump"}
    plugin._macros = {"node_table": lambda: ""}
    plugin._filters = {}
    return plugin


def test_without_debug_logging_the_variables_are_named_but_not_serialized(caplog, monkeypatch):
    def serialize(self):
        raise AssertionError("the variables were serialized for a DEBUG line nobody logs")

    monkeypatch.setattr(SuperDict, "to_json", serialize)
    heard(monkeypatch, caplog, logging.INFO)
    plugin_with_variables().on_pre_build(config=None)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Config variables:" in logged and "cluster_name" in logged
    assert "Config macros:" in logged and "node_table" in logged


def test_with_debug_logging_the_variables_are_dumped_as_mkdocs_macros_does(caplog, monkeypatch):
    heard(monkeypatch, caplog, logging.DEBUG)
    plugin_with_variables().on_pre_build(config=None)
    debug_lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("Config variables:" in m and "a-value-only-in-the-dump" in m for m in debug_lines)
