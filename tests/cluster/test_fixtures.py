"""One valid and one invalid file per check, under fixtures/<code>/.

An invalid file says what it must produce in `# expect: LINE: message fragment` header lines;
the test holds the loader to exactly that: the check's code, the line, the words. Beside it,
expected.txt holds every line the validator prints for it, word for word (severity, column and
path included), as a reviewer read them: what an operator is told is part of the rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from homeops.cluster import rules
from homeops.cluster.loader import check_cluster

FIXTURES = Path(__file__).parent / "fixtures"
CODES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
_EXPECT = re.compile(rb"^# expect: (\d+): (.+)$", re.MULTILINE)


def expectations(path: Path) -> list[tuple[int, str]]:
    # Read as bytes: one fixture is deliberately not UTF-8.
    return [(int(line), text.decode()) for line, text in _EXPECT.findall(path.read_bytes())]


def test_every_rule_has_a_fixture_pair():
    for rule in rules.RULES:
        code = rule.__name__.replace("_", "-")
        assert (FIXTURES / code / "valid.yaml").is_file(), f"no valid fixture for rule {rule.__name__}"
        assert (FIXTURES / code / "invalid.yaml").is_file(), f"no invalid fixture for rule {rule.__name__}"


@pytest.mark.parametrize("code", CODES)
def test_invalid_fixture_reports_its_problem_at_its_line(code: str):
    path = FIXTURES / code / "invalid.yaml"
    expected = expectations(path)
    assert expected, f"{path} has no '# expect: LINE: fragment' line"

    problems = check_cluster(path).problems

    for line, fragment in expected:
        matching = [p for p in problems if p.code == code and p.line == line and fragment in str(p)]
        assert matching, f"expected {code} at line {line} containing {fragment!r}; got:\n" + "\n".join(
            f"{p} [{p.code}]" for p in problems
        )
    assert {p.code for p in problems} == {code}, "the invalid fixture should break only its own check"
    assert all(str(p).startswith(f"{path}:{p.line}:{p.column}: ") for p in problems)


@pytest.mark.parametrize("code", CODES)
def test_valid_fixture_has_no_problem(code: str):
    checked = check_cluster(FIXTURES / code / "valid.yaml")

    assert [str(p) for p in checked.problems] == []
    assert checked.cluster is not None


@pytest.mark.parametrize("code", CODES)
def test_invalid_fixture_prints_exactly_its_expected_lines(code: str):
    path = FIXTURES / code / "invalid.yaml"
    expected = (FIXTURES / code / "expected.txt").read_text()
    printed = [str(p).replace(str(path), "invalid.yaml", 1) for p in check_cluster(path).problems]
    assert "".join(f"{line}\n" for line in printed) == expected
