"""The staging directory a site is built in: swapped in whole, or removed, never half-applied."""

from __future__ import annotations

import os
from pathlib import Path

from homeops.site.staging import StagedSite
from tests.docs.site_snapshot import snapshot, staging_leftovers


def old_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "guide").mkdir(parents=True)
    (site / "index.html").write_text("old home")
    (site / "guide" / "index.html").write_text("old guide")
    return site


def test_a_published_build_replaces_the_whole_site(tmp_path):
    site = old_site(tmp_path)
    staged = StagedSite(site)
    (staged.directory / "index.html").write_text("new home")

    staged.publish()

    assert snapshot(site).keys() == {"index.html"}
    assert (site / "index.html").read_text() == "new home"
    assert staging_leftovers(site) == []


def test_a_discarded_build_leaves_the_site_as_it_was(tmp_path):
    site = old_site(tmp_path)
    before = snapshot(site)
    staged = StagedSite(site)
    (staged.directory / "index.html").write_text("half a build")

    staged.discard()

    assert snapshot(site) == before
    assert staging_leftovers(site) == []


def test_the_first_build_creates_the_site_and_its_parents(tmp_path):
    site = tmp_path / "out" / "site"
    staged = StagedSite(site)
    (staged.directory / "index.html").write_text("home")

    staged.publish()

    assert (site / "index.html").read_text() == "home"


def test_a_dirty_build_starts_from_the_published_files(tmp_path):
    site = old_site(tmp_path)
    staged = StagedSite(site, keep_previous=True)
    assert (staged.directory / "guide" / "index.html").read_text() == "old guide"
    staged.discard()


def test_the_site_directory_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        staged = StagedSite(tmp_path / "site")
    finally:
        os.umask(umask)
    staged.publish()
    assert (tmp_path / "site").stat().st_mode & 0o777 == 0o755
