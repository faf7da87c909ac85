"""`homeops runbooks`: list the runbooks with their purpose and parameters."""

from __future__ import annotations

import sys
from pathlib import Path

from homeops.cli import EXIT_OK, EXIT_USAGE


def register(sub) -> None:
    p = sub.add_parser("runbooks", help="list runbooks, their purpose and parameters")
    p.add_argument("--runbooks", metavar="DIR", type=Path, default=Path("runbooks"),
                   help="directory of runbook notebooks (default: runbooks/)")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from homeops.catalog import RunbookMalformed, list_runbooks
    from homeops.runner.parameters import RESERVED, type_label

    if not args.runbooks.is_dir():
        print(f"homeops runbooks: no directory {args.runbooks}/", file=sys.stderr)
        return EXIT_USAGE
    try:
        runbooks = list_runbooks(args.runbooks)
    except RunbookMalformed as exc:
        print(f"homeops runbooks: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not runbooks:
        print(f"no runbooks in {args.runbooks}/")
    for index, runbook in enumerate(runbooks):
        if index:
            print()
        print(f"{runbook.name} — {runbook.title}")
        if runbook.purpose:
            print(f"  {runbook.purpose}")
        if runbook.parameters:
            print("  parameters (-p NAME=VALUE):")
        name_width = max((len(p.name) for p in runbook.parameters), default=0)
        default_width = max((len(p.source) for p in runbook.parameters), default=0)
        for parameter in runbook.parameters:
            kind = f"set by --{parameter.name}" if parameter.name in RESERVED else type_label(parameter.default)
            help_text = f"  {parameter.help}" if parameter.help else ""
            print(f"    {parameter.name:<{name_width}} = {parameter.source:<{default_width}}  [{kind}]{help_text}")
    return EXIT_OK
