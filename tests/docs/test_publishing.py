"""cluster.yaml's `repository` decides the site's address, its source link and its edit buttons."""

from __future__ import annotations

import re

import pytest

from homeops import ClusterInvalid, load_cluster
from homeops.cluster.model import Repository
from homeops.site.publishing import branch_of, site_address
from tests.docs.html_text import article_text
from tests.docs.site_build import ROOT, build_site, copy_project, page_html

REPOSITORY = "repository:\n  owner: Lab-Owner\n  name: lab-cluster\n  branch: live\n"


def with_repository(project, text: str = REPOSITORY):
    cluster_file = project / "cluster.yaml"
    cluster_file.write_text(cluster_file.read_text() + text)
    return cluster_file


def test_the_repository_gives_every_address_of_the_site():
    address = site_address(Repository(owner="Lab-Owner", name="lab-cluster", branch="live"), "docs")
    assert address.repo_url == "https://github.com/Lab-Owner/lab-cluster"
    assert address.repo_name == "Lab-Owner/lab-cluster"
    assert address.edit_uri == "edit/live/docs/"
    assert address.site_url == "https://lab-owner.github.io/lab-cluster/"


def test_a_repository_named_after_its_pages_host_is_a_user_site():
    assert Repository(owner="Lab-Owner", name="lab-owner.github.io").pages_url == "https://lab-owner.github.io/"


def test_name_and_branch_have_defaults():
    repository = Repository(owner="someone")
    assert (repository.name, repository.branch) == ("home-ops", "main")


@pytest.mark.parametrize("branch", ["main", "live", "feature/site"])
def test_the_branch_is_read_back_from_the_edit_uri(branch):
    address = site_address(Repository(owner="lab", branch=branch), "docs")
    assert branch_of(address.edit_uri, "docs") == branch


def test_without_a_repository_the_site_has_no_repository_links():
    assert site_address(None) == site_address(None, "docs")
    assert site_address(None).repo_url is None and site_address(None).site_url is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  owner: -lab\n", "'-lab' is not a GitHub account name"),
        ("  owner: lab\n  name: my repo\n", "'my repo' is not a GitHub repository name"),
        ("  owner: lab\n  branch: a..b\n", "'a..b' is not a git branch name"),
    ],
    ids=["owner", "name", "branch"],
)
def test_a_bad_repository_entry_is_reported_with_its_line(tmp_path, entry, message):
    cluster_file = tmp_path / "cluster.yaml"
    text = (ROOT / "cluster.yaml").read_text().rstrip("\n") + "\nrepository:\n" + entry
    cluster_file.write_text(text)
    line = len(text.splitlines())

    with pytest.raises(ClusterInvalid) as invalid:
        load_cluster(cluster_file)

    assert [str(p) for p in invalid.value.problems if message in str(p)] != []
    assert any(p.line == line for p in invalid.value.problems)


def test_a_site_built_with_a_repository_links_to_it(tmp_path):
    project = copy_project(tmp_path / "project")
    with_repository(project)

    # As the Pages workflow builds a pull request: configure-pages does not run, its output is empty.
    build = build_site(project, tmp_path / "site", HOMEOPS_SITE_URL="")

    assert build.returncode == 0, build.output
    home = page_html(tmp_path / "site", "")
    assert 'href="https://github.com/Lab-Owner/lab-cluster"' in home
    assert 'href="https://github.com/Lab-Owner/lab-cluster/edit/live/docs/index.md"' in home
    assert '<link rel="canonical" href="https://lab-owner.github.io/lab-cluster/">' in home
    sitemap = (tmp_path / "site" / "sitemap.xml").read_text()
    assert "<loc>https://lab-owner.github.io/lab-cluster/networking/</loc>" in sitemap
    runbook = page_html(tmp_path / "site", "runbooks/worker-upgrade")
    assert 'href="https://github.com/Lab-Owner/lab-cluster/blob/live/runbooks/worker-upgrade.ipynb"' in runbook
    assert 'href="https://github.com/Lab-Owner/lab-cluster/edit/live/runbooks/worker-upgrade.ipynb"' in runbook
    # The same key gives the Flux bootstrap command.
    setup = article_text(page_html(tmp_path / "site", "getting-started/initial-setup"))
    assert "--owner=Lab-Owner --repository=lab-cluster" in setup and "--branch=live" in setup
    assert "YOUR-GITHUB-ACCOUNT" not in setup and "is not set in cluster.yaml" not in setup


def test_a_site_built_without_a_repository_points_at_no_repository(site):
    assert load_cluster(ROOT / "cluster.yaml").repository is None
    for page in ("", "networking", "runbooks/worker-upgrade"):
        html = page_html(site, page)
        assert "github.com/example" not in html
        assert not re.search(r'href="https://github\.com/[^"]*/(edit|blob)/', html)
        assert 'class="md-source"' not in html


def test_without_a_repository_the_pages_workflow_still_gives_the_site_its_address(tmp_path):
    assert load_cluster(ROOT / "cluster.yaml").repository is None
    # configure-pages' base_url has no trailing slash ("https://octocat.github.io/my-repo").
    build = build_site(copy_project(tmp_path / "project"), tmp_path / "site",
                       HOMEOPS_SITE_URL="https://lab-owner.github.io/home-ops")

    assert build.returncode == 0, build.output
    home = page_html(tmp_path / "site", "")
    assert '<link rel="canonical" href="https://lab-owner.github.io/home-ops/">' in home
    assert "<loc>https://lab-owner.github.io/home-ops/networking/</loc>" in (tmp_path / "site" / "sitemap.xml").read_text()
    assert 'class="md-source"' not in home, "an address is not a repository: still no repository link"
