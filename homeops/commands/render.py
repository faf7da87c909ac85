"""`homeops render [--check]`: write talos/, kubernetes/ and .sops.yaml from templates/ and cluster.yaml.

The project is the directory of `--config`. An invalid cluster.yaml or a failing template renders
nothing and touches nothing (exit 2 and 1). `--check` writes nothing and exits 1 listing every
file that differs from what cluster.yaml renders, is missing, or should not be there.
"""

from __future__ import annotations

import sys
from pathlib import Path

from homeops.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def register(sub) -> None:
    p = sub.add_parser("render", help="render talos/, kubernetes/ and .sops.yaml from cluster.yaml")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 listing every file that is not what cluster.yaml renders")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from homeops.cluster.loader import check_cluster
    from homeops.rendering.render import RenderFailed, differences, render, write

    config = Path(args.config)
    checked = check_cluster(config)
    if checked.cluster is None:
        for problem in checked.errors:
            print(problem, file=sys.stderr)
        print(f"homeops render: {config} is invalid: nothing rendered, nothing changed", file=sys.stderr)
        return EXIT_USAGE
    project = config.resolve().parent
    try:
        rendered = render(project, config.resolve(), checked.cluster)
    except RenderFailed as exc:
        print(f"{exc}\nhomeops render: nothing changed", file=sys.stderr)
        return EXIT_FAILED
    if args.check:
        stale = differences(project, rendered)
        for difference in stale:
            print(difference, file=sys.stderr)
        if stale:
            print(f"homeops render --check: {len(stale)} file(s) are not what {config} renders: "
                  "run `homeops render` and commit the result", file=sys.stderr)
            return EXIT_FAILED
        print(f"homeops render --check: {len(rendered)} files are what {config} renders")
        return EXIT_OK
    changes = write(project, rendered)
    for change in changes:
        verb = {"differs": "updated", "missing": "created", "not rendered": "removed"}[change.change]
        print(f"{verb} {change.path}")
    print(f"homeops render: {len(rendered)} files from {config}, {len(changes)} changed")
    return EXIT_OK
