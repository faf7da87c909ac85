"""Where the site says it lives and where its sources are, from cluster.yaml's `repository`.

One key serves the site (source link, edit buttons, GitHub Pages address) and the Flux bootstrap
command alike. Without it the site carries no repository link rather than a placeholder that 404s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic: a build whose pages all come from the page cache never imports it
    from homeops.cluster.model import Repository


@dataclass(frozen=True)
class SiteAddress:
    site_url: str | None
    repo_url: str | None
    repo_name: str | None
    edit_uri: str | None


def _edit_uri(branch: str, docs_dir: str) -> str:
    return f"edit/{branch}/{docs_dir.strip('/')}/"


def branch_of(edit_uri: str | None, docs_dir: str = "docs") -> str:
    """The branch an edit_uri made by `site_address` opens (main for any other edit_uri)."""
    prefix, suffix = "edit/", f"/{docs_dir.strip('/')}/"
    if edit_uri and edit_uri.startswith(prefix) and edit_uri.endswith(suffix) and len(edit_uri) > len(prefix + suffix):
        return edit_uri[len(prefix):-len(suffix)]
    return "main"


def site_address(repository: Repository | None, docs_dir: str = "docs") -> SiteAddress:
    """`docs_dir` is the docs directory's path inside the repository (edit links open files there)."""
    if repository is None:
        return SiteAddress(None, None, None, None)
    return SiteAddress(
        site_url=repository.pages_url,
        repo_url=repository.url,
        repo_name=f"{repository.owner}/{repository.name}",
        edit_uri=_edit_uri(repository.branch, docs_dir),
    )


# What the Flux bootstrap command says while cluster.yaml names no repository: words a reader
# must replace, never a guessed account.
OWNER_PLACEHOLDER = "YOUR-GITHUB-ACCOUNT"
NAME_PLACEHOLDER = "YOUR-REPOSITORY"
BRANCH_PLACEHOLDER = "main"


def flux_bootstrap_command(repository: Repository | None) -> str:
    """`flux bootstrap github` for this repository; with placeholders while `repository` is unset."""
    if repository is None:  # the placeholder account is a user's, as owner_kind's default
        owner, name, branch, personal = OWNER_PLACEHOLDER, NAME_PLACEHOLDER, BRANCH_PLACEHOLDER, True
    else:
        owner, name, branch, personal = repository.owner, repository.name, repository.branch, repository.personal
    return ("flux bootstrap github \\\n"
            f"  --owner={owner} --repository={name} \\\n"
            f"  --branch={branch} --path=kubernetes/flux" + (" --personal" if personal else ""))
