"""Each page's Markdown after the macros, kept between builds (`homeops.site.page_cache`): a build whose
pages are all unchanged sets nothing up (no pydantic, no cluster model, no macros module, no render),
and a change of anything a page is made of shows at the next build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mkdocs.config import load_config

from homeops.site import page_cache
from tests.docs.records import PLANTED_RECORD, write_record
from tests.docs.site_build import SITE_ENV, build_in_process, copy_project, page_html, published_files

# A build in a fresh process, saying which of the costly modules it imported.
BUILD_AND_SAY_IMPORTS = """
import json, sys
from mkdocs.commands.build import build
from mkdocs.config import load_config
build(load_config(sys.argv[1], site_dir=sys.argv[2]))
print(json.dumps(sorted(m for m in ("pydantic", "homeops.cluster.model", "makejinja", "macros") if m in sys.modules)))
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    for name in SITE_ENV:
        monkeypatch.delenv(name, raising=False)
    return copy_project(tmp_path / "project")


def build_saying_imports(project: Path, site_dir: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in SITE_ENV}
    done = subprocess.run([sys.executable, "-c", BUILD_AND_SAY_IMPORTS, str(project / "mkdocs.yml"), str(site_dir)],
                          cwd=project, env={**env, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_build_whose_pages_all_hit_imports_no_model_no_macros_no_render_and_publishes_the_same_site(project,
                                                                                                       tmp_path):
    project.joinpath("cluster.yaml").write_text(project.joinpath("cluster.yaml").read_text()
                                                + "repository:\n  owner: Lab-Owner\n  name: lab-cluster\n")
    page = project / "docs" / "security" / "secrets.md"  # a title (no title in the nav) the macros render
    page.write_text(page.read_text().replace("# Secrets\n", "# Secrets of {{ cluster.cluster.name }}\n", 1))

    assert build_saying_imports(project, tmp_path / "first") == ["homeops.cluster.model", "macros", "makejinja",
                                                                 "pydantic"]
    assert build_saying_imports(project, tmp_path / "second") == []

    first, second = published_files(tmp_path / "first"), published_files(tmp_path / "second")
    assert second == first
    secrets = page_html(tmp_path / "second", "security/secrets")
    assert "<title>Secrets of home-ops - home-ops</title>" in secrets  # the title the macros gave
    assert "https://github.com/Lab-Owner/lab-cluster/edit/main/docs/security/secrets.md" in secrets
    for path in [project / ".site-cache" / "markdown", *(project / ".site-cache" / "markdown").iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_a_record_added_or_judged_anew_shows_in_the_maintenance_log_at_the_next_build(project, tmp_path, monkeypatch):
    records = tmp_path / "records"
    records.mkdir()
    monkeypatch.setenv("HOMEOPS_RECORDS", str(records))
    log = build_in_process(project, tmp_path / "site")["operations/maintenance-log/index.html"]
    assert "worker-2: drain refused" not in log

    write_record(records, "20260314T092653Z-worker-upgrade.ipynb", PLANTED_RECORD)
    log = build_in_process(project, tmp_path / "site")["operations/maintenance-log/index.html"]
    assert "worker-2: drain refused by a PodDisruptionBudget" in log

    # The same bytes, read as another outcome now (a "running" record whose writer is gone is "abandoned").
    write_record(records, "20260315T100000Z-worker-upgrade.ipynb",
                 {**PLANTED_RECORD, "outcome": "running", "started": "2026-03-15T10:00:00+00:00",
                  "pid": os.getpid(), "pid_started": 0, "host": "elsewhere", "heartbeat": "2026-03-15T10:00:00+00:00"})
    import homeops.runner.records

    monkeypatch.setattr(homeops.runner.records, "judged_outcome", lambda writer: "running")
    assert "abandoned" not in build_in_process(project, tmp_path / "site")["operations/maintenance-log/index.html"]
    monkeypatch.setattr(homeops.runner.records, "judged_outcome", lambda writer: "abandoned")
    assert "abandoned" in build_in_process(project, tmp_path / "site")["operations/maintenance-log/index.html"]


def test_a_page_reading_what_no_key_covers_is_rendered_at_every_build(project, tmp_path):
    (project / "docs" / "snippets").mkdir()
    snippet = project / "docs" / "snippets" / "note.txt"
    snippet.write_text("Snippet-1")
    page = project / "docs" / "contributing.md"
    page.write_text(page.read_text() + "\n{% include 'snippets/note.txt' %}\n")
    assert "Snippet-1" in build_in_process(project, tmp_path / "site")["contributing/index.html"]

    snippet.write_text("Snippet-2")  # not a source the key holds: the page is never kept
    assert "Snippet-2" in build_in_process(project, tmp_path / "site")["contributing/index.html"]


@pytest.mark.parametrize("source", [
    "{{ git.commit }}", "{{ navigation.pages | length }}", "{% for f in files %}{% endfor %}",
    "{% include 'other.md' %}", "{% import 'macros.j2' as m %}", "{% from 'macros.j2' import x %}",
    "{% extends 'base.md' %}",
])
def test_what_no_key_covers_is_seen_in_a_pages_jinja(source):
    import jinja2

    env = jinja2.Environment()
    assert page_cache.reads_uncovered(env, f"# Title\n\nText with git and files in prose.\n{source}\n")
    assert not page_cache.reads_uncovered(env, "# Title\n\nThe git files {{ cluster.files }} {{ page.title }}\n")


@pytest.fixture
def rendered_pages(monkeypatch) -> list[str]:
    """The pages mkdocs-macros renders (those the page cache does not answer), in order."""
    from homeops.site import macros_plugin

    pages: list[str] = []
    render = macros_plugin._macros.MacrosPlugin.on_page_markdown

    def rendering(self, markdown, page, config, **kwargs):
        pages.append(page.file.src_uri)
        return render(self, markdown, page=page, config=config, **kwargs)

    monkeypatch.setattr(macros_plugin._macros.MacrosPlugin, "on_page_markdown", rendering)
    return pages


def edit_step(notebook: Path, old: str, new: str) -> None:
    cells = json.loads(notebook.read_text())
    step = next(c for c in cells["cells"] if "".join(c["source"]).startswith("## Step 1"))
    text = "".join(step["source"])
    assert old in text
    step["source"] = text.replace(old, new, 1)
    notebook.write_text(json.dumps(cells))


def test_an_edit_of_cluster_yaml_renders_again_only_the_pages_that_read_something(project, tmp_path,
                                                                                  rendered_pages):
    build_in_process(project, tmp_path / "site")
    assert "runbooks/cluster-health.md" in rendered_pages and "networking/index.md" in rendered_pages
    rendered_pages.clear()

    cluster = project / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("purpose: Internal DNS", "purpose: Internal DNS edited", 1))
    site = build_in_process(project, tmp_path / "site")

    assert "Internal DNS edited" in site["networking/index.html"]
    assert "networking/index.md" in rendered_pages and "reference/cluster-yaml.md" in rendered_pages
    # A runbook's page reads no variable (its parameters are a raw block): cluster.yaml is not part of it.
    assert not [p for p in rendered_pages if p.startswith("runbooks/")]
    fresh = copy_project(tmp_path / "fresh")  # no cache: what the site must be
    (fresh / "cluster.yaml").write_text(cluster.read_text())
    assert site == build_in_process(fresh, tmp_path / "fresh-site")


def test_a_literal_page_shows_its_own_edit_and_once_it_reads_cluster_yaml_every_edit_of_it(project, tmp_path,
                                                                                            rendered_pages):
    notebook = project / "runbooks" / "cluster-health.ipynb"
    build_in_process(project, tmp_path / "site")
    edit_step(notebook, "Everything below", "Everything (edited) below")
    page = build_in_process(project, tmp_path / "site")["runbooks/cluster-health/index.html"]
    assert "Everything (edited) below" in page

    edit_step(notebook, "Everything (edited) below", "Everything of {{ cluster.cluster.name }} below")
    page = build_in_process(project, tmp_path / "site")["runbooks/cluster-health/index.html"]
    assert "Everything of home-ops below" in page
    cluster = project / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("name: home-ops", "name: lab-renamed", 1))
    rendered_pages.clear()
    page = build_in_process(project, tmp_path / "site")["runbooks/cluster-health/index.html"]
    assert "Everything of lab-renamed below" in page
    assert "runbooks/cluster-health.md" in rendered_pages
    assert "runbooks/etcd-backup.md" not in rendered_pages  # still literal: kept


@pytest.mark.parametrize("source", [
    "Plain text, and {# a comment #}.", "{% raw %}{{ cluster.cluster.name }} | {% endraw %}",
    '{{ "{{ cluster.versions.talos }}" }}', "{{- ' ' -}}",
])
def test_a_page_of_text_raw_blocks_and_strings_is_literal(source):
    import jinja2

    assert page_cache.is_literal(jinja2.Environment(), f"# Title\n\n{source}\n")


@pytest.mark.parametrize("source", [
    "{{ cluster.cluster.name }}", "{{ node_table() }}", "{{ 'a' | upper }}", "{{ 'a' is string }}",
    "{% if true %}a{% endif %}", "{% set a = 'b' %}{{ a }}", "{{ range(2) | list }}", "{{ x.y }}",
    "{% include 'other.md' %}", "{{ page.title }}", "{% for i in '' %}{% endfor %}",
])
def test_a_page_that_reads_or_computes_anything_is_not_literal(source):
    import jinja2

    env = jinja2.Environment()
    env.globals["node_table"] = lambda: ""  # a macro: a global, which jinja2.meta does not report
    assert not page_cache.is_literal(env, f"# Title\n\n{source}\n")


# Each source of the site, edited as someone would: the site key (every page's key) changes.
EDITS = {
    "cluster.yaml": lambda p: p.joinpath("cluster.yaml").write_text(p.joinpath("cluster.yaml").read_text() + "\n"),
    "a template": lambda p: next(p.joinpath("templates").rglob("*.j2")).write_text("# edited\n"),
    "a runbook": lambda p: next(p.joinpath("runbooks").glob("*.ipynb")).write_text("{}"),
    "a rehearsal scenario": lambda p: next(p.joinpath("runbooks", "scenarios").glob("*.yaml")).write_text("# edited\n"),
    "a record": lambda p: write_record(p / "records", "20260314T092653Z-worker-upgrade.ipynb", PLANTED_RECORD),
    "mkdocs.yml": lambda p: p.joinpath("mkdocs.yml").write_text(p.joinpath("mkdocs.yml").read_text() + "\n"),
    "the macros module": lambda p: p.joinpath("macros", "__init__.py").write_text(
        p.joinpath("macros", "__init__.py").read_text() + "\n"),
    "a homeops source": lambda p: p.joinpath("homeops", "site", "cluster_tables.py").write_text(
        p.joinpath("homeops", "site", "cluster_tables.py").read_text() + "\n"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edit_of_any_source_of_the_site_gives_every_page_a_new_key(project, tmp_path, monkeypatch, edit):
    homeops = tmp_path / "homeops"  # a copy of the running package, to edit
    import shutil

    shutil.copytree(page_cache._PACKAGE, homeops, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(page_cache, "_PACKAGE", homeops)
    (project / "homeops").unlink()
    (project / "homeops").symlink_to(homeops, target_is_directory=True)
    config = load_config(str(project / "mkdocs.yml"))
    settings = {"module_name": "macros", "on_undefined": "strict"}
    before = page_cache.site_key(config, settings)
    assert page_cache.site_key(config, settings) == before  # the same sources: the same key

    EDITS[edit](project)

    assert page_cache.site_key(load_config(str(project / "mkdocs.yml")), settings) != before


# What a literal page is made of besides itself: the code and the configuration, not the site's data.
CODE_EDITS = {"mkdocs.yml", "the macros module", "a homeops source"}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_the_key_of_a_literal_page_changes_with_the_code_and_configuration_only(project, tmp_path, monkeypatch,
                                                                               edit):
    import shutil

    homeops = tmp_path / "homeops"
    shutil.copytree(page_cache._PACKAGE, homeops, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(page_cache, "_PACKAGE", homeops)
    (project / "homeops").unlink()
    (project / "homeops").symlink_to(homeops, target_is_directory=True)
    settings = {"module_name": "macros", "on_undefined": "strict"}
    before = page_cache.code_key(load_config(str(project / "mkdocs.yml")), settings)

    EDITS[edit](project)

    after = page_cache.code_key(load_config(str(project / "mkdocs.yml")), settings)
    assert (after != before) == (edit in CODE_EDITS)


def test_the_environment_the_site_address_the_libraries_and_the_plugin_settings_are_in_the_key(project, monkeypatch):
    config = load_config(str(project / "mkdocs.yml"))
    settings = {"module_name": "macros", "on_undefined": "strict"}
    before = page_cache.site_key(config, settings)

    assert page_cache.site_key(config, {**settings, "on_undefined": "keep"}) != before
    monkeypatch.setenv("HOMEOPS_SITE_URL", "https://example.org/")
    assert page_cache.site_key(config, settings) != before
    monkeypatch.delenv("HOMEOPS_SITE_URL")
    config.site_url = "http://127.0.0.1:18123/"  # as `mkdocs serve` sets it
    assert page_cache.site_key(config, settings) != before
    config.site_url = None
    installed = page_cache._installed()
    assert "mkdocs-1." in installed.lower()  # MkDocs' own dist-info, named with its version
    monkeypatch.setattr(page_cache, "_installed", lambda: installed.replace("jinja2-", "jinja2-0"))
    assert page_cache.site_key(config, settings) != before


def test_macros_that_read_files_outside_the_key_keep_nothing(project):
    config = load_config(str(project / "mkdocs.yml"))
    assert page_cache.PageCache.open(config, {"module_name": "macros", "include_yaml": ["data.yaml"]}) is None
    assert page_cache.PageCache.open(config, {"module_name": "macros", "modules": ["a_pluglet"]}) is None
    assert page_cache.PageCache.open(config, {"module_name": "macros"}) is not None


def test_a_damaged_entry_is_rendered_again_and_unused_entries_go_but_the_newest(project, tmp_path, monkeypatch):
    build_in_process(project, tmp_path / "site")
    entries = project / ".site-cache" / "markdown"
    kept = sorted(entries.iterdir())
    for entry in kept:
        entry.write_text('{"markdown": 3}' if entry.name.startswith(page_cache._SITE_ENTRY) else "not json")
    assert build_in_process(project, tmp_path / "again") == published_files(tmp_path / "site")
    assert all(json.loads(e.read_text()) for e in entries.iterdir())  # written again whole

    monkeypatch.setattr(page_cache, "KEEP_BUILDS", 0)
    cluster = project / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("purpose: Internal DNS", "purpose: Internal DNS tidy", 1))
    build_in_process(project, tmp_path / "site")
    # This build used entries of the new cluster.yaml, and those of the runbooks' pages, which read
    # nothing (literal pages: cluster.yaml is not part of them); the rest went.
    assert len(set(entries.iterdir()) & set(kept)) == len(list((project / "runbooks").glob("*.ipynb")))
    assert "Internal DNS tidy" in page_html(tmp_path / "site", "networking")
