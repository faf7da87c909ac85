"""`homeops validate [PATH]`: check cluster.yaml and print every problem at once."""

from __future__ import annotations

import sys

from homeops.cli import EXIT_FAILED, EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("validate", help="check cluster.yaml and print every problem at once")
    p.add_argument("path", nargs="?", help="file to check (default: --config)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from homeops import ClusterInvalid, load_cluster

    path = args.path or args.config
    try:
        load_cluster(path)
    except ClusterInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_FAILED
    print(f"{path}: valid")
    return EXIT_OK
