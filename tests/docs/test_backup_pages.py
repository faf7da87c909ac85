"""The Backup and disaster recovery page and the two-control-plane risks page, with the values of cluster.yaml:
as committed (no scheduled backups, two control planes) and with backups.s3 set."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeops import load_cluster
from tests.docs.html_text import article_tables, article_text
from tests.docs.site_build import ROOT, build_site, copy_project, page_html

CLUSTER = load_cluster(ROOT / "cluster.yaml")
BACKUPS = """
backups:
  s3:
    endpoint: https://s3.example.net
    bucket: lab-etcd
    prefix: snapshots/lab
    path_style: true
    schedule: "15 3 * * *"
"""


@pytest.fixture(scope="module")
def with_backups(tmp_path_factory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("backups") / "project")
    (project / "cluster.yaml").write_text((ROOT / "cluster.yaml").read_text() + BACKUPS)
    site = project / "site-out"
    built = build_site(project, site)
    assert built.returncode == 0, built.output
    return site


@pytest.mark.parametrize("url_path", ["operations/backups", "operations/control-planes"])
def test_both_pages_are_in_the_nav_and_the_operations_index(site: Path, url_path: str):
    assert f"/{url_path}/</loc>" in (site / "sitemap.xml").read_text()
    operations = page_html(site, "operations")
    assert f'href="{url_path.split("/")[1]}/"' in operations
    assert f'href="../{url_path.split("/")[1]}/"' in page_html(site, "operations/worker-upgrade-procedure")  # the nav


def test_the_backup_page_says_what_where_and_to_which_key_without_scheduled_backups(site: Path):
    page = page_html(site, "operations/backups")
    text = article_text(page)
    [destinations] = [t for t in article_tables(page) if t[0] == ["Where", "What", "When", "Encrypted to"]]
    assert destinations[1:] == [[
        "backups/etcd-TIME/", "etcd.snapshot.age, machineconfig-NODE.yaml.age per node, manifest.json",
        "by hand (etcd-backup), and inside control-plane-upgrade before it changes anything",
        CLUSTER.secrets.age_public_key]]
    assert "has no backups key, so nothing is scheduled" in text
    assert "homeops run etcd-restore -p snapshot=etcd-TIME -p identity=" in text
    assert "refuses while etcd has quorum" in text and "copies the database from a surviving member" in text
    assert "Ceph RBD volumes" in text and "ZFS volumes" in text
    assert "talos-backup-s3" not in text


def test_with_backups_s3_the_page_shows_the_bucket_schedule_and_the_secret_you_write(with_backups: Path):
    page = page_html(with_backups, "operations/backups")
    text = article_text(page)
    [destinations] = [t for t in article_tables(page) if t[0] == ["Where", "What", "When", "Encrypted to"]]
    assert destinations[2] == [
        "s3://lab-etcd/snapshots/lab/ at https://s3.example.net", "home-ops-TIME.snap.age (etcd only)",
        "the CronJob backup/talos-backup: 15 3 * * * (UTC)", CLUSTER.secrets.age_public_key]
    [keys] = [t for t in article_tables(page) if t[0] == ["Secret", "Key", "What"]]
    assert [row[:2] for row in keys[1:]] == [["talos-backup-s3", "AWS_ACCESS_KEY_ID"],
                                             ["talos-backup-s3", "AWS_SECRET_ACCESS_KEY"]]
    assert "kubernetes/apps/backup/talos-backup/s3-credentials.sops.yaml" in text
    assert "ghcr.io/siderolabs/talos-backup:v0.1.0-beta.3" in text  # the rendered CronJob is shown
    assert "kubernetesTalosAPIAccess" in text and "os:etcd:backup" in text
    assert "or a talos-backup object of the S3 bucket" in text


def test_with_backups_s3_the_reference_documents_the_keys(with_backups: Path):
    text = article_text(page_html(with_backups, "reference/cluster-yaml"))
    for key in ("backups.s3.endpoint", "backups.s3.bucket", "backups.s3.path_style", "backups.s3.schedule"):
        assert key in text, key


def test_the_control_plane_page_gathers_the_risks_of_two_members(site: Path):
    assert CLUSTER.etcd_members == 2, "cluster.yaml changed: this test pins the two-member page"
    page = page_html(site, "operations/control-planes")
    text = article_text(page)
    assert 'class="admonition warning"' in page and "etcd tolerates no control-plane failure" in text
    assert "having two controlplane nodes is worse than having only" in text
    assert "https://www.talos.dev/v1.11/learn-more/control-plane/" in page
    assert "--graceful=false" in text and "talosctl etcd remove-member" in text
    [runbooks] = [t for t in article_tables(page) if t[0] == ["Runbook", "With a two-member etcd"]]
    rows = {row[0]: row[1] for row in runbooks[1:]}
    assert "accept_two_member_etcd_risk=true" in rows["Control-plane upgrade"]
    assert len(rows) == 5
    assert "homeops run node-add -p node=NAME --apply" in text


def test_the_secrets_page_lists_the_s3_keys_among_the_files_you_write(site: Path, with_backups: Path):
    assert "kubernetes/apps/backup/talos-backup/s3-credentials.sops.yaml" in article_text(
        page_html(site, "security/secrets"))
    page = page_html(with_backups, "security/secrets")
    [keys] = [t for t in article_tables(page) if t[0] == ["Secret", "Key", "What"]]
    assert [row[1] for row in keys[1:]] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert 'href="../../operations/backups/#scheduled-talos-backup-to-s3"' in page
