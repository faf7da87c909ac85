"""-p KEY=VALUE strings become values of the type of the parameter's default."""

from __future__ import annotations

import pytest

from engine_support import NOTEBOOKS
from homeops.catalog import read_runbook
from homeops.runner.parameters import ParameterInvalid, parse_assignments

ECHO = read_runbook(NOTEBOOKS / "echo.ipynb")


@pytest.mark.parametrize(
    ("assignment", "name", "value"),
    [
        ("count=7", "count", 7),
        ("count=-2", "count", -2),
        ("ratio=2", "ratio", 2.0),
        ("ratio=0.25", "ratio", 0.25),
        ("force=yes", "force", True),
        ("force=TRUE", "force", True),
        ("force=1", "force", True),
        ("force=no", "force", False),
        ("force=0", "force", False),
        ("nodes=worker-1, worker-2", "nodes", ["worker-1", "worker-2"]),
        ("nodes=", "nodes", []),
        ("ports=80,443", "ports", [80, 443]),
        ("label=a=b", "label", "a=b"),  # only the first '=' separates the name
    ],
)
def test_values_take_the_type_of_the_default(assignment: str, name: str, value: object):
    parsed = parse_assignments(ECHO, [assignment])
    assert parsed == {name: value}
    assert type(parsed[name]) is type(value)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("count=three", "parameter 'count': expected an integer, got 'three' (default 3)"),
        ("ratio=fast", "parameter 'ratio': expected a number, got 'fast'"),
        ("ratio=nan", "parameter 'ratio': expected a finite number, got 'nan'"),
        ("force=maybe", "parameter 'force': expected true/false/yes/no/1/0, got 'maybe'"),
        ("ports=80,https", "parameter 'ports': expected an integer, got 'https'"),
        ("colour=red",
         "unknown parameter 'colour' for runbook echo; accepted parameters: wait_timeout (int, default 60)"),
        ("count", "-p 'count': write it as KEY=VALUE"),
        ("apply=true", "parameter 'apply' cannot be set with -p: use --apply"),
        ("config=/etc/other.yaml", "parameter 'config' cannot be set with -p: use the global --config PATH"),
    ],
)
def test_bad_values_name_the_parameter_and_what_is_accepted(assignment: str, message: str):
    with pytest.raises(ParameterInvalid) as caught:
        parse_assignments(ECHO, [assignment])
    assert message in str(caught.value)


def test_the_list_of_accepted_parameters_leaves_out_apply_and_config():
    with pytest.raises(ParameterInvalid) as caught:
        parse_assignments(ECHO, ["nope=1"])
    accepted = str(caught.value).split("accepted parameters: ", 1)[1]
    assert "label (str, default \"x\")" in accepted
    assert "nodes (comma-separated str list" in accepted
    assert "apply" not in accepted and "config" not in accepted

