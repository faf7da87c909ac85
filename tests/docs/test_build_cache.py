"""What a build keeps in .site-cache/ for the next one: the next build does not redo it, and shows
every change of what it was made of. Builds run in this process, as `mkdocs serve` runs them.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import jinja2
import pytest

import homeops.rendering.render
from homeops.site import git_variable, serving
from tests.docs.site_build import SITE_ENV, build_in_process, build_site, copy_project, page_html, published_files


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """How often the configuration tree is rendered and a page's Jinja is compiled."""
    calls: Counter = Counter()
    render, compile_ = homeops.rendering.render.render, jinja2.Environment.compile

    def counting_render(*args, **kwargs):
        calls["render"] += 1
        return render(*args, **kwargs)

    def counting_compile(self, source, name=None, *args, **kwargs):
        if name is None:  # a string (a page), not a theme template
            calls["compile a page"] += 1
        return compile_(self, source, name, *args, **kwargs)

    monkeypatch.setattr(homeops.rendering.render, "render", counting_render)
    monkeypatch.setattr(jinja2.Environment, "compile", counting_compile)
    for name in SITE_ENV:
        monkeypatch.delenv(name, raising=False)
    return calls


def test_a_second_build_renders_and_compiles_nothing_and_publishes_the_same_site(tmp_path, counted):
    project = copy_project(tmp_path / "project")
    first = build_in_process(project, tmp_path / "site")
    assert counted["render"] == 1 and counted["compile a page"] >= 12  # every docs/ page, and the runbook pages

    counted.clear()
    second = build_in_process(project, tmp_path / "site")

    assert counted == {}
    assert second == first
    cache = project / ".site-cache"
    assert {p.name for p in cache.iterdir()} == {"markdown", "pages", "render", "search", "theme"}
    for path in [cache, *cache.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_an_edited_template_page_and_cluster_yaml_each_show_at_the_next_build(tmp_path, counted):
    project = copy_project(tmp_path / "project")
    build_in_process(project, tmp_path / "site")
    template = project / "templates" / "talos" / "patches" / "all.yaml.j2"
    template.write_text(template.read_text() + "# rendered-marker-1\n")
    page = project / "docs" / "storage" / "rook-ceph-setup.md"
    page.write_text(page.read_text() + "\nPage-marker-2 {{ cluster.cluster.name }}\n")
    cluster = project / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("purpose: Internal DNS", "purpose: Internal DNS marker-3", 1))
    counted.clear()

    build_in_process(project, tmp_path / "site")

    assert counted == {"render": 1, "compile a page": 1}  # the edited page; the others are unchanged
    assert "rendered-marker-1" in page_html(tmp_path / "site", "getting-started/initial-setup")
    assert "Page-marker-2 home-ops" in page_html(tmp_path / "site", "storage/rook-ceph-setup")
    assert "Internal DNS marker-3" in page_html(tmp_path / "site", "networking")


def test_a_broken_page_fails_every_build_with_its_line_cache_or_not(tmp_path):
    project = copy_project(tmp_path / "project")
    assert build_site(project, tmp_path / "site").returncode == 0
    page = project / "docs" / "contributing.md"
    page.write_text(page.read_text() + "\n{{ cluster.nmae }}\n")
    line = len(page.read_text().splitlines())

    first, second = build_site(project, tmp_path / "site"), build_site(project, tmp_path / "site")

    for failed in (first, second):
        assert failed.returncode != 0
        assert f"docs/contributing.md:{line}: " in failed.output


def test_mkdocs_macros_runs_git_only_for_a_page_that_reads_its_git_variable(tmp_path, monkeypatch):
    for name in SITE_ENV:
        monkeypatch.delenv(name, raising=False)
    project = copy_project(tmp_path / "project")
    runs: list[list[str]] = []
    check_output = subprocess.check_output

    def recording(command, *args, **kwargs):
        runs.append(list(command))
        return check_output(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "check_output", recording)
    build_in_process(project, tmp_path / "site")
    assert [r for r in runs if r[:1] == ["git"]] == []

    page = project / "docs" / "contributing.md"
    page.write_text(page.read_text() + "\nGit-status: {{ git.status }}, {{ git['short_commit'] | length >= 0 }}\n")
    build_in_process(project, tmp_path / "site")
    assert [r for r in runs if r[:1] == ["git"]], "the page read git's values: git ran"
    # What the plugin's own function answers (it runs git in the working directory), read when the page asked.
    from mkdocs_macros import context

    expected = context.get_git_info.reads()
    assert f"Git-status: {expected['status']}, True" in page_html(tmp_path / "site", "contributing")


def test_the_deferred_git_variable_reads_once_and_only_when_used():
    reads = []
    info = git_variable.DeferredGitInfo(lambda: reads.append(1) or {"commit": "abc", "status": True})
    assert repr(info) and reads == []
    assert info["commit"] == "abc" and dict(info) == {"commit": "abc", "status": True}
    assert reads == [1]
    assert dict(git_variable.DeferredGitInfo(lambda: None)) == {}  # the plugin's answer without git


def test_mkdocs_serve_polls_its_watched_paths_every_tenth_of_a_second(tmp_path, monkeypatch):
    import mkdocs.commands.serve as serve

    monkeypatch.setattr(serve, "LiveReloadServer", serve.LiveReloadServer)  # restored after the test
    serving.poll_often()
    serving.poll_often()  # idempotent
    server = serve.LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0, root=str(tmp_path))
    try:
        assert server.observer.timeout == serving.POLLING_SECONDS
    finally:
        server.server_close()


def test_a_damaged_or_unwritable_compiled_page_is_compiled_again(tmp_path, monkeypatch):
    from jinja2.bccache import FileSystemBytecodeCache, bc_magic

    from homeops.site import page_templates

    pages = tmp_path / ".site-cache" / "pages"
    env = jinja2.Environment()
    compiled = page_templates.keep_compiled(env, pages)
    assert env.from_string("{{ 1 + 1 }} pages").render() == "2 pages"
    (entry,) = pages.iterdir()
    assert compiled is not None and compiled.used == {entry.name}
    entry.write_bytes(bc_magic + b"\x80\x04not a pickle")  # Jinja's header, then a damaged checksum

    again = jinja2.Environment()
    page_templates.keep_compiled(again, pages)
    assert again.from_string("{{ 1 + 1 }} pages").render() == "2 pages"

    def full_disk(self, bucket):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileSystemBytecodeCache, "dump_bytecode", full_disk)
    third = jinja2.Environment()
    page_templates.keep_compiled(third, pages)
    assert third.from_string("{{ 2 + 2 }} other").render() == "4 other"
    assert len(list(pages.iterdir())) == 1
