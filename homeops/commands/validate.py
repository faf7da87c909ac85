"""`homeops validate [PATH]`: check cluster.yaml and print every problem at once."""

from __future__ import annotations

import sys

from homeops.cli import EXIT_FAILED, EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("validate", help="check cluster.yaml and print every problem at once")
    p.add_argument("path", nargs="?", help="file to check (default: --config, i.e. ./cluster.yaml)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from homeops.cluster.loader import check_cluster

    path = args.path or args.config
    checked = check_cluster(path)
    for problem in checked.problems:
        print(problem, file=sys.stderr)
    errors, warnings = len(checked.errors), len(checked.warnings)
    counts = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    if errors or (args.strict and warnings):
        strict = " (--strict: warnings count as errors)" if args.strict and warnings and not errors else ""
        print(f"{path}: invalid: {counts}{strict}", file=sys.stderr)
        return EXIT_FAILED
    cluster = checked.cluster
    print(
        f"{path}: OK: cluster {cluster.cluster.name}, {_plural(len(cluster.nodes), 'node')} "
        f"({len(cluster.control_planes)} control-plane, {len(cluster.workers)} worker), "
        f"{_plural(warnings, 'warning')}"
    )
    return EXIT_OK


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
