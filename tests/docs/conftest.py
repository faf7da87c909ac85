"""One site build per test session, shared by every test of the site, and a local server for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.local_server import serve
from tests.docs.records import PLANTED_RECORD, write_record
from tests.docs.site_build import ROOT, build_site


@pytest.fixture(scope="session")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The real project's site, built once, with one planted record in its maintenance log.

    It is built for the address it is served from, as a deployment is for its site_url.
    """
    work = tmp_path_factory.mktemp("site")
    records = work / "records"
    records.mkdir()
    write_record(records, "20260314-092653-worker-upgrade.ipynb", PLANTED_RECORD)
    site_dir = work / "site"
    site_dir.mkdir()
    with serve(site_dir) as url:
        build = build_site(ROOT, site_dir, HOMEOPS_RECORDS=str(records), HOMEOPS_SITE_URL=url)
        assert build.returncode == 0, f"the site does not build:\n{build.output}"
        yield site_dir, url


@pytest.fixture(scope="session")
def site(served_site: tuple[Path, str]) -> Path:
    return served_site[0]
