"""A broken page, link or plugin fails the strict build, names what is wrong, and leaves the old site.

MkDocs empties its site directory before it renders a page; the build here writes into a staging
directory instead (macros/hooks.py), so every failure below must leave the previously built site
byte for byte as it was, and print one `docs/page.md:LINE: problem` line without a traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.docs.notebooks import make_notebook
from tests.docs.site_build import build_site, copy_project
from tests.docs.site_snapshot import snapshot, staging_leftovers

PAGE = "docs/contributing.md"


@pytest.fixture
def previous_site(site: Path, tmp_path: Path) -> Path:
    """A private copy of the session's built site, for a failed build to leave alone."""
    return Path(shutil.copytree(site, tmp_path / "site"))


def append_line(page: Path, text: str) -> int:
    """Append `text` as the page's last line; returns its line number in the file."""
    body = page.read_text().rstrip("\n")
    page.write_text(f"{body}\n\n{text}\n")
    return len(body.splitlines()) + 2


BROKEN_PAGES = [
    ("{{ node_tabel() }}", "'node_tabel' is undefined"),
    ("{{ clustr.name }}", "'clustr' is undefined"),
    ("{{ cluster.network.control_plane_vpi }}", "'homeops.cluster.model.Network object' has no attribute 'control_plane_vpi'"),
    ("image: {{ .Values.image.tag }}", "unexpected '.': a Helm or Go template must sit in a {% raw %} block"),
    ("{% for node in %}", "Expected an expression, got 'end of statement block'"),
]


@pytest.mark.parametrize(("line", "problem"), BROKEN_PAGES,
                         ids=["misspelt-macro", "undefined-variable", "misspelt-field", "helm-template", "jinja-syntax"])
def test_a_page_that_does_not_render_fails_the_build_naming_page_and_line_and_keeps_the_site(
        tmp_path, previous_site, line, problem):
    project = copy_project(tmp_path / "project")
    number = append_line(project / PAGE, line)
    before = snapshot(previous_site)

    build = build_site(project, previous_site)

    assert build.returncode != 0
    assert f"{PAGE}:{number}: {problem}" in build.output
    assert f"in `{line}`" in build.output
    assert "Traceback" not in build.output
    assert snapshot(previous_site) == before
    assert staging_leftovers(previous_site) == []


def test_every_broken_page_is_named_in_one_build(tmp_path, previous_site):
    project = copy_project(tmp_path / "project")
    first = append_line(project / PAGE, "{{ node_tabel() }}")
    other = "docs/storage/zfs-provisioner.md"
    second = append_line(project / other, "{{ cluster.versions.zfs }}")

    build = build_site(project, previous_site)

    assert build.returncode != 0
    assert f"{PAGE}:{first}: 'node_tabel' is undefined" in build.output
    assert f"{other}:{second}: " in build.output and "has no attribute 'zfs'" in build.output


def test_the_line_counts_the_front_matter(tmp_path, previous_site):
    project = copy_project(tmp_path / "project")
    page = project / "docs" / "storage" / "zfs-provisioner.md"
    page.write_text("---\ntitle: ZFS\n---\n" + page.read_text())
    number = append_line(page, "{{ undefined_thing }}")

    build = build_site(project, previous_site)

    assert f"docs/storage/zfs-provisioner.md:{number}: 'undefined_thing' is undefined" in build.output


def test_a_link_to_a_missing_anchor_fails_the_build_and_keeps_the_site(tmp_path, previous_site):
    project = copy_project(tmp_path / "project")
    number = append_line(project / PAGE, "See [the VIP](networking/index.md#no-such-section).")
    before = snapshot(previous_site)

    build = build_site(project, previous_site)

    assert build.returncode != 0
    assert f"{PAGE}:{number}: " in build.output and "'#no-such-section'" in build.output
    assert "Traceback" not in build.output
    assert snapshot(previous_site) == before
    assert staging_leftovers(previous_site) == []


def test_a_link_to_a_missing_page_fails_the_build_and_keeps_the_site(tmp_path, previous_site):
    project = copy_project(tmp_path / "project")
    number = append_line(project / PAGE, "See [the plan](networking/no-such-page.md).")
    before = snapshot(previous_site)

    build = build_site(project, previous_site)

    assert build.returncode != 0
    assert f"{PAGE}:{number}: " in build.output and "'networking/no-such-page.md'" in build.output
    assert snapshot(previous_site) == before


def test_without_strict_a_build_with_warnings_fails_too_and_keeps_the_site(tmp_path, previous_site):
    project = copy_project(tmp_path / "project")
    append_line(project / PAGE, "See [the plan](networking/no-such-page.md).")
    before = snapshot(previous_site)

    build = build_site(project, previous_site, strict=False)

    assert build.returncode != 0
    assert "1 warnings: the site in" in build.output and "was left as it was" in build.output
    assert snapshot(previous_site) == before
    assert staging_leftovers(previous_site) == []


def test_a_plugin_error_keeps_the_site(tmp_path, previous_site):
    project = copy_project(tmp_path / "project")
    notebook = make_notebook(project / "runbooks" / "broken.ipynb", "x = 1  # x", [])
    notebook.write_text(notebook.read_text().replace('"parameters"', '"setup"'))
    before = snapshot(previous_site)

    build = build_site(project, previous_site)

    assert build.returncode != 0
    assert "broken.ipynb: needs exactly one cell tagged 'parameters'" in build.output
    assert "Traceback" not in build.output
    assert snapshot(previous_site) == before
    assert staging_leftovers(previous_site) == []


def test_a_good_build_replaces_the_whole_site_and_prints_one_line(tmp_path):
    project = copy_project(tmp_path / "project")
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "stale.html").write_text("from an older build")

    build = build_site(project, site_dir)

    assert build.returncode == 0, build.output
    assert build.output.strip().splitlines() == [build.output.strip()]
    assert build.output.strip().endswith("seconds") and "Documentation built in" in build.output
    assert not (site_dir / "stale.html").exists()
    assert (site_dir / "index.html").is_file() and (site_dir / "search" / "search_index.json").is_file()
    assert staging_leftovers(site_dir) == []
    # Readable by a web server running as another user, as MkDocs' own directory was.
    assert site_dir.stat().st_mode & 0o005 == 0o005
