"""Where the site reads its sources from, and loading cluster.yaml for a build.

`HOMEOPS_CONFIG` points a build at another cluster file and `HOMEOPS_RECORDS` at another
records directory (tests and previews use them); both default to the project's own.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from homeops.catalog import Runbook, list_runbooks

if TYPE_CHECKING:  # pydantic: a build whose pages all come from the page cache never imports it
    from homeops.cluster.model import Cluster

CONFIG_ENV = "HOMEOPS_CONFIG"
SITE_CACHE = ".site-cache"  # what builds keep for the next one: private, ignored by git, never watched
RECORDS_ENV = "HOMEOPS_RECORDS"


class SiteSourceError(Exception):
    """A source the site is built from cannot be used; the message is what the reader must fix."""


def cluster_path(project_dir: Path) -> Path:
    override = os.environ.get(CONFIG_ENV)
    return Path(override).resolve() if override else project_dir / "cluster.yaml"


def records_dir(project_dir: Path) -> Path:
    override = os.environ.get(RECORDS_ENV)
    return Path(override).resolve() if override else project_dir / "records"


def site_cache_dir(project_dir: Path) -> Path:
    return project_dir / SITE_CACHE


def docs_in_project(docs_dir: str | Path, project_dir: Path) -> str:
    """The docs directory as a path inside the project (so inside the repository): `docs`."""
    docs = Path(docs_dir).resolve()
    project = project_dir.resolve()
    return docs.relative_to(project).as_posix() if docs.is_relative_to(project) else str(docs)


def runbooks_dir(project_dir: Path) -> Path:
    return project_dir / "runbooks"


def site_runbooks(project_dir: Path) -> list[Runbook]:
    """The runbooks of the project, parsed once per version of the notebooks.

    Both the macros (runbook index and links) and the hook (runbook pages) need them in the same
    build; `mkdocs serve` rebuilds after a notebook changes, which changes its stat and so the key.
    """
    directory = runbooks_dir(project_dir).resolve()
    fingerprint = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(directory.glob("*.ipynb")))
    return list(_parsed_runbooks(directory, fingerprint))


@lru_cache(maxsize=4)
def _parsed_runbooks(directory: Path, fingerprint: tuple) -> tuple[Runbook, ...]:
    return tuple(list_runbooks(directory))


def load_site_cluster(path: Path) -> Cluster:
    """The validated model, or SiteSourceError carrying the validator's lines (one problem a line)."""
    from homeops import ClusterInvalid, load_cluster

    try:
        return load_cluster(path)
    except ClusterInvalid as exc:
        lines = "\n".join(str(problem) for problem in exc.problems)
        raise SiteSourceError(f"{path} is invalid; the site was not built:\n{lines}") from None
    except OSError as exc:
        raise SiteSourceError(f"{path}: cannot read the cluster file: {exc.strerror or exc}") from None
