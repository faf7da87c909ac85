"""cluster.yaml's optional `backups.s3`: its defaults, and the values each format refuses or accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeops.cluster.loader import check_text

FIXTURES = Path(__file__).parent / "fixtures"
BASE = (FIXTURES / "backups-need-age-key" / "valid.yaml").read_text().split("backups:\n", 1)[0]


def checked(**s3: str):
    body = "".join(f"    {key}: {value}\n" for key, value in {"bucket": "home-ops-etcd", **s3}.items())
    return check_text(BASE + "backups:\n  s3:\n" + body)


def test_only_the_bucket_is_required_and_the_prefix_defaults_to_the_cluster_name():
    result = checked()
    assert result.problems == ()
    s3 = result.cluster.backups.s3
    assert (s3.endpoint, s3.region, s3.prefix, s3.path_style, s3.schedule) == (
        None, "us-east-1", None, False, "0 */6 * * *")
    assert result.cluster.backup_prefix == "home-ops"
    assert checked(prefix="etcd/home-ops").cluster.backup_prefix == "etcd/home-ops"


def test_without_backups_there_is_no_prefix():
    result = check_text(BASE)
    assert result.cluster.backups is None and result.cluster.backup_prefix is None


def test_credentials_in_the_endpoint_are_refused_without_being_echoed():
    [problem] = checked(endpoint="https://GK31c2f2:d2VyeXNlY3JldA@s3.example.com").problems
    assert problem.code == "s3-endpoint" and "carries credentials" in problem.message
    assert "d2VyeXNlY3JldA" not in str(problem) and "GK31c2f2" not in str(problem)


@pytest.mark.parametrize("bucket", ["ab", "-home", "home-", "home..ops", "192.168.1.10", "a" * 64, "Home"])
def test_bucket_names_outside_the_s3_rules_are_refused(bucket: str):
    assert [p.code for p in checked(bucket=f"'{bucket}'").problems] == ["s3-bucket"]


@pytest.mark.parametrize("schedule", ["'@daily'", "'*/15 * * * *'", "'0 3 * * MON-FRI'", "'0 0,12 1 */2 *'"])
def test_cron_schedules_kubernetes_accepts_are_accepted(schedule: str):
    assert checked(schedule=schedule).problems == ()


@pytest.mark.parametrize("schedule", ["'@sometimes'", "'0 3 * * * *'", "'every day'", "'0  3 * *'"])
def test_schedules_that_are_not_five_cron_fields_are_refused(schedule: str):
    assert [p.code for p in checked(schedule=schedule).problems] == ["cron-schedule"]


def test_path_style_is_a_boolean_not_a_string():
    assert [p.code for p in checked(path_style="'true'").problems] == ["wrong-type"]
