"""The theme's compiled templates (`homeops.site.theme_templates`) and each page's search entries
(`homeops.site.search_entries`), kept in .site-cache/ between builds: the next build neither compiles
Material's templates nor parses the pages' HTML again, publishes the same site, and shows every edit of
a template or a page. Builds run in this process, as `mkdocs serve` runs them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import jinja2
import pytest
from material.plugins.search import plugin as search_plugin

from tests.docs.site_build import ROOT, SITE_ENV, build_in_process, copy_project, page_html


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """The theme's templates Jinja compiles, by name, and the pages Material's search parses."""
    calls: Counter = Counter()
    compile_, feed = jinja2.Environment.compile, search_plugin.Parser.feed

    def counting_compile(self, source, name=None, *args, **kwargs):
        if name is not None:  # a template loaded by name: the theme's (a page is compiled from a string)
            calls[name] += 1
        return compile_(self, source, name, *args, **kwargs)

    def counting_feed(self, data):
        calls["search parses a page"] += 1
        return feed(self, data)

    monkeypatch.setattr(jinja2.Environment, "compile", counting_compile)
    monkeypatch.setattr(search_plugin.Parser, "feed", counting_feed)
    for name in SITE_ENV:
        monkeypatch.delenv(name, raising=False)
    return calls


@pytest.fixture
def project(tmp_path) -> Path:
    """A project whose theme overrides are its own, to edit: a copy with a footer template added."""
    project = copy_project(tmp_path / "project")
    theme = project / "theme"
    (theme / "partials").mkdir(parents=True)
    (theme / "partials" / "source.html").write_text((ROOT / "homeops/site/theme/partials/source.html").read_text())
    (theme / "partials" / "copyright.html").write_text('<div class="md-copyright">Footer-marker-1</div>\n')
    config = project / "mkdocs.yml"
    config.write_text(config.read_text().replace("custom_dir: homeops/site/theme", "custom_dir: theme", 1))
    return project


def search_index(site: dict[str, str]) -> list[dict]:
    return json.loads(site["search/search_index.json"])["docs"]


def test_a_second_build_compiles_no_template_parses_no_page_and_publishes_the_same_site(project, tmp_path, counted):
    first = build_in_process(project, tmp_path / "site")
    assert counted["main.html"] == 1 and counted["partials/copyright.html"] == 1
    assert counted["search parses a page"] >= 36  # every page of docs/ and every runbook's page

    counted.clear()
    second = build_in_process(project, tmp_path / "site")

    assert counted == {}
    assert second == first
    for directory in ("theme", "search"):
        for path in [project / ".site-cache" / directory, *(project / ".site-cache" / directory).iterdir()]:
            assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_an_edited_theme_template_shows_at_the_next_build_and_only_it_is_compiled(project, tmp_path, counted):
    build_in_process(project, tmp_path / "site")
    assert "Footer-marker-1" in page_html(tmp_path / "site", "networking")
    (project / "theme" / "partials" / "copyright.html").write_text('<div class="md-copyright">Footer-marker-2</div>\n')
    counted.clear()

    build_in_process(project, tmp_path / "site")

    assert "Footer-marker-2" in page_html(tmp_path / "site", "networking")
    assert "Footer-marker-1" not in page_html(tmp_path / "site", "networking")
    assert {name for name in counted if name.endswith(".html")} == {"partials/copyright.html"}


def test_an_edited_page_shows_in_the_search_index_and_only_it_is_parsed_again(project, tmp_path, counted):
    before = search_index(build_in_process(project, tmp_path / "site"))
    page = project / "docs" / "security" / "secrets.md"
    page.write_text(page.read_text() + "\n## Searchable-marker heading\n\nSearchable-marker text.\n")
    counted.clear()

    after = search_index(build_in_process(project, tmp_path / "site"))

    assert counted["search parses a page"] == 1
    added = [e for e in after if e not in before]
    assert [(e["title"], e["text"]) for e in added] == [("Searchable-marker heading", "<p>Searchable-marker text.</p>")]
    assert added[0]["location"] == "security/secrets/#searchable-marker-heading"
    assert [e for e in after if e["location"].startswith("security/secrets/")][:-1] == \
        [e for e in before if e["location"].startswith("security/secrets/")]


def test_damaged_entries_are_made_again_and_the_site_is_the_same(project, tmp_path):
    first = build_in_process(project, tmp_path / "site")
    cache = project / ".site-cache"
    entries = [*(cache / "theme").iterdir(), *(cache / "search").iterdir()]
    for entry in entries:
        entry.write_bytes(b"damaged")

    assert build_in_process(project, tmp_path / "again") == first
    assert all(e.read_bytes() != b"damaged" for e in entries)  # written again whole
