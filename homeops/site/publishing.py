"""Where the site says it lives and where its sources are, from cluster.yaml's `repository`.

One key serves the site (source link, edit buttons, GitHub Pages address) and the Flux bootstrap
command alike. Without it the site carries no repository link rather than a placeholder that 404s.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeops.cluster.model import Repository


@dataclass(frozen=True)
class SiteAddress:
    site_url: str | None
    repo_url: str | None
    repo_name: str | None
    edit_uri: str | None


def site_address(repository: Repository | None, docs_dir: str = "docs") -> SiteAddress:
    """`docs_dir` is the docs directory's path inside the repository (edit links open files there)."""
    if repository is None:
        return SiteAddress(None, None, None, None)
    return SiteAddress(
        site_url=repository.pages_url,
        repo_url=repository.url,
        repo_name=f"{repository.owner}/{repository.name}",
        edit_uri=f"edit/{repository.branch}/{docs_dir.strip('/')}/",
    )
