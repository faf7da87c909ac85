"""Each page's HTML kept in memory between the builds of one process (`homeops.site.page_html`), as
`mkdocs serve` rebuilds: a rebuild converts again only the pages whose Markdown changed, publishes what a
build without it publishes, and reports a broken link or anchor at every build, not only the first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mkdocs.exceptions import Abort
from mkdocs.structure.pages import Page

from homeops.site import page_html
from tests.docs.site_build import SITE_ENV, build_in_process, copy_project


@pytest.fixture
def converted(monkeypatch) -> list[str]:
    """The pages whose Markdown MkDocs converts, in order; the process starts with nothing kept."""
    pages: list[str] = []
    render = Page.render

    def converting(self, config, files):
        pages.append(self.file.src_uri)
        return render(self, config, files)

    monkeypatch.setattr(Page, "render", converting)
    monkeypatch.setattr(page_html, "_kept", type(page_html._kept)())
    for name in SITE_ENV:
        monkeypatch.delenv(name, raising=False)
    return pages


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path / "project")


def test_a_rebuild_after_an_edit_of_cluster_yaml_converts_only_the_pages_it_changed(project, tmp_path, converted):
    build_in_process(project, tmp_path / "site")
    assert len(converted) == 36
    converted.clear()
    cluster = project / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("purpose: Internal DNS", "purpose: Internal DNS edited", 1))

    site = build_in_process(project, tmp_path / "site")

    assert "Internal DNS edited" in site["networking/index.html"]
    assert "networking/index.md" in converted and "runbooks/cluster-health.md" not in converted
    assert len(converted) < 10
    page_html._kept.clear()  # what a build that keeps nothing publishes
    assert build_in_process(project, tmp_path / "unkept") == site


def test_a_link_to_a_missing_page_fails_every_strict_build(project, tmp_path, converted):
    page = project / "docs" / "security" / "secrets.md"
    page.write_text(page.read_text() + "\nSee [the gone page](gone.md).\n")
    for attempt in ("first", "second"):
        with pytest.raises(Abort):
            build_in_process(project, tmp_path / attempt)
    assert converted.count("security/secrets.md") == 2  # its conversion logged a warning: never kept


def test_a_link_to_an_anchor_that_goes_away_fails_the_next_build_though_the_linking_page_is_kept(project, tmp_path,
                                                                                              converted):
    linking = project / "docs" / "security" / "secrets.md"
    linking.write_text(linking.read_text() + "\nSee [how to contribute](../contributing.md#anchor-marker).\n")
    target = project / "docs" / "contributing.md"
    target.write_text(target.read_text() + "\n## Anchor marker\n\nText.\n")
    build_in_process(project, tmp_path / "site")
    converted.clear()

    target.write_text(target.read_text().replace("## Anchor marker", "## Renamed marker"))
    with pytest.raises(Abort):
        build_in_process(project, tmp_path / "site")
    assert "security/secrets.md" not in converted  # kept, with the links it makes: MkDocs checked them again


def test_only_extensions_whose_html_is_made_of_the_markdown_alone_are_kept():
    assert page_html._keyable({"markdown_extensions": ["toc", "tables", "pymdownx.superfences"]})
    assert not page_html._keyable({"markdown_extensions": ["toc", "pymdownx.snippets"]})  # reads files
    assert not page_html._keyable({"markdown_extensions": ["toc", object()]})  # an extension instance
