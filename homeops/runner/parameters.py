"""Turn `-p KEY=VALUE` strings into typed runbook parameters.

A value takes the type of the parameter's default in the runbook's parameters cell, so that
`-p wait_timeout=60` reaches the notebook as the int 60 and `-p force=yes` as True.
"""

from __future__ import annotations

import math
from typing import Iterable

from homeops.catalog import Parameter, Runbook

# These come from the command line's own options, never from -p: `apply` only through --apply
# (so a plan run cannot be turned into a change by a stray -p), `config` through --config.
RESERVED = {"apply": "use --apply", "config": "use the global --config PATH"}

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


class ParameterInvalid(ValueError):
    """A -p value the runbook does not accept; the message names the parameter and the accepted ones."""


def settable(runbook: Runbook) -> list[Parameter]:
    return [p for p in runbook.parameters if p.name not in RESERVED]


def describe(parameter: Parameter) -> str:
    return f"{parameter.name} ({type_label(parameter.default)}, default {parameter.source})"


def accepted(runbook: Runbook) -> str:
    names = [describe(p) for p in settable(runbook)]
    return "accepted parameters: " + (", ".join(names) if names else "none")


def parse_assignments(runbook: Runbook, assignments: Iterable[str]) -> dict[str, object]:
    """Typed values for `KEY=VALUE` strings; raises ParameterInvalid naming what is wrong."""
    values: dict[str, object] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterInvalid(f"-p {assignment!r}: write it as KEY=VALUE; {accepted(runbook)}")
        if name in RESERVED:
            raise ParameterInvalid(f"parameter {name!r} cannot be set with -p: {RESERVED[name]}")
        try:
            parameter = runbook.parameter(name)
        except KeyError:
            raise ParameterInvalid(
                f"unknown parameter {name!r} for runbook {runbook.name}; {accepted(runbook)}"
            ) from None
        values[name] = convert(parameter, text)
    return values


def convert(parameter: Parameter, text: str) -> object:
    default = parameter.default
    try:
        if isinstance(default, list):
            item_type = type(default[0]) if default else str
            return [_scalar(item_type, item.strip()) for item in text.split(",") if item.strip()]
        return _scalar(type(default), text)
    except ValueError as exc:
        raise ParameterInvalid(
            f"parameter {parameter.name!r}: {exc} (default {parameter.source})"
        ) from None


def _scalar(kind: type, text: str) -> object:
    # bool before int: bool is a subclass of int.
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected true/false/yes/no/1/0, got {text!r}")
    if kind is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if kind is float:
        try:
            number = float(text.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {text!r}")
        return number
    if kind is str or kind is type(None):
        return text
    raise ValueError(f"its default is a {kind.__name__}, which cannot be set from the command line")


def type_label(default: object) -> str:
    if isinstance(default, list):
        inner = type(default[0]).__name__ if default else "str"
        return f"comma-separated {inner} list"
    return "str" if default is None else type(default).__name__


def effective(runbook: Runbook, values: dict[str, object], name: str, fallback: object) -> object:
    """The value a parameter will have in the run: given with -p, else its default, else `fallback`."""
    if name in values:
        return values[name]
    try:
        return runbook.parameter(name).default
    except KeyError:
        return fallback
