"""The pflag-style argument reader and Go durations the fake tools share."""

from __future__ import annotations

import pytest

from homeops.twin import clock
from homeops.twin.args import Flag, UsageError, parse

FLAGS = [Flag("namespace", "n"), Flag("output", "o"), Flag("all-namespaces", "A", False), Flag("wait", None, False)]


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "x", "get", "nodes", "-o", "json"],
        ["get", "nodes", "-nx", "-ojson"],
        ["get", "--namespace=x", "nodes", "--output", "json"],
    ],
)
def test_flags_anywhere_in_any_spelling(argv):
    parsed = parse(argv, FLAGS)
    assert (parsed.positionals, parsed.value("namespace"), parsed.value("output")) == (["get", "nodes"], "x", "json")


def test_booleans_and_the_double_dash():
    parsed = parse(["exec", "-A", "--wait=false", "--", "ceph", "-f", "json"], FLAGS)
    assert parsed.switch("all-namespaces") is True and parsed.switch("wait", True) is False
    assert parsed.rest == ["ceph", "-f", "json"]
    with pytest.raises(UsageError, match='invalid argument "maybe" for "--wait" flag'):
        parse(["--wait=maybe"], FLAGS).switch("wait")


def test_unknown_and_incomplete_flags_fail_with_pflag_words():
    with pytest.raises(UsageError, match="^unknown flag: --nope$"):
        parse(["--nope"], FLAGS)
    with pytest.raises(UsageError, match="^unknown shorthand flag: 'z' in -z$"):
        parse(["-z"], FLAGS)
    with pytest.raises(UsageError, match="^flag needs an argument: --output$"):
        parse(["--output"], FLAGS)


@pytest.mark.parametrize("text,seconds", [("600s", 600), ("10m", 600), ("1h30m", 5400), ("0", 0), ("1.5s", 1.5)])
def test_go_durations(text, seconds):
    assert clock.parse_duration(text) == seconds


def test_durations_print_like_go_and_bad_ones_fail():
    assert [clock.format_duration(s) for s in (600, 90.5, 3600, 5)] == ["10m0s", "1m30.5s", "1h0m0s", "5s"]
    with pytest.raises(ValueError, match='invalid duration "ten"'):
        clock.parse_duration("ten")


def test_scaled_waits_never_exceed_the_patience():
    assert clock.scaled_wait(600, 1.2) == 1.2
    assert clock.scaled_wait(0.5, 1.2) == 0.5
    assert clock.scaled_wait(0, 1.2) == 1.2  # kubectl's "forever"
