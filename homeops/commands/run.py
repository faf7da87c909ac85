"""`homeops run NAME [-p KEY=VALUE]... [--apply] [--twin DIR] [--records DIR]`: execute a runbook.

Plan mode (the default) runs the read-only commands and prints each change it would make;
`--apply` makes the changes while holding the cluster's maintenance lock.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from homeops.cli import EXIT_USAGE
from homeops.runner.lock import DEFAULT_DURATION_SECONDS as DEFAULT_LOCK_SECONDS
from homeops.runner.lock import MINIMUM_DURATION_SECONDS as MINIMUM_LOCK_SECONDS

if TYPE_CHECKING:  # imported for real only when a run needs them (pydantic is slow to import)
    from homeops.catalog import Runbook
    from homeops.model import Cluster

DEFAULT_RUNBOOKS = "runbooks"
DEFAULT_RECORDS = "records"


def register(sub) -> None:
    p = sub.add_parser("run", help="run a runbook: plan by default, --apply to change the cluster",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(p)
    p.add_argument("--apply", action="store_true", help="make the changes (default: plan, print them only)")
    p.add_argument("--twin", metavar="DIR", type=Path, help="run against the twin in DIR (DIR/bin first on PATH)")
    p.set_defaults(handler=handle)


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="runbook name (a file runbooks/NAME.ipynb); see `homeops runbooks`")
    p.add_argument("-p", "--parameter", dest="parameters", action="append", default=[], metavar="KEY=VALUE",
                   help="set a runbook parameter, typed like its default (repeatable)")
    p.add_argument("--records", metavar="DIR", type=Path, default=Path(DEFAULT_RECORDS),
                   help=f"where the executed notebook is saved (default: {DEFAULT_RECORDS}/)")
    p.add_argument("--runbooks", metavar="DIR", type=Path, default=Path(DEFAULT_RUNBOOKS),
                   help=f"directory of runbook notebooks (default: {DEFAULT_RUNBOOKS}/)")
    p.add_argument("--cell-timeout", metavar="SECONDS", type=_positive_seconds, default=None,
                   help="time limit of each cell (default: wait_timeout x 5 phases x nodes in cluster.yaml, + 120)")
    p.add_argument("--lock-seconds", metavar="SECONDS", type=_lease_seconds, default=DEFAULT_LOCK_SECONDS,
                   help="duration of the maintenance lock's Lease in an apply run: renewed every third of it "
                        "while the run goes on, so a runner that dies blocks other runs at most this long "
                        f"(default: {DEFAULT_LOCK_SECONDS}, at least {MINIMUM_LOCK_SECONDS})")


@dataclass(frozen=True)
class Prepared:
    runbook: Runbook
    values: dict[str, object]
    config: Path
    cluster: Cluster


def prepare(args, command: str) -> Prepared | int:
    """Everything checked before a kernel starts; an int is the usage exit code (messages printed)."""
    from homeops.catalog import RunbookMalformed, read_runbook
    from homeops.runner.parameters import ParameterInvalid, parse_assignments

    # Only the named notebook is read: a broken neighbour must not block every other runbook.
    notebook = args.runbooks / f"{args.name}.ipynb"
    if not notebook.is_file():
        known = ", ".join(sorted(p.stem for p in args.runbooks.glob("*.ipynb"))) or "none"
        return _usage(command, f"no runbook named {args.name!r} in {args.runbooks}/; known runbooks: {known}")
    try:
        runbook = read_runbook(notebook)
    except RunbookMalformed as exc:
        return _usage(command, str(exc))
    try:
        values = parse_assignments(runbook, args.parameters)
    except ParameterInvalid as exc:
        return _usage(command, str(exc))
    config = Path(args.config).resolve()
    cluster = _load(config, command)
    if isinstance(cluster, int):
        return cluster
    try:
        args.records.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _usage(command, f"--records {args.records}: cannot create the directory: {exc.strerror or exc}")
    if not os.access(args.records, os.W_OK | os.X_OK):
        return _usage(command, f"--records {args.records}: the directory is not writable")
    return Prepared(runbook, values, config, cluster)


def _load(config: Path, command: str):
    from homeops import ClusterInvalid, load_cluster

    try:
        return load_cluster(config)
    except ClusterInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return _usage(command, f"{config} is invalid ({len(exc.problems)} problem(s) above); nothing was run")
    except OSError as exc:
        return _usage(command, f"cannot read --config {config}: {exc.strerror or exc}")
    except Exception as exc:  # a loader error that is not a ClusterInvalid still must not end in a traceback
        return _usage(command, f"cannot load --config {config}: {type(exc).__name__}: {exc}")


def handle(args) -> int:
    from homeops.runner.execute import RunRequest, run_runbook

    prepared = prepare(args, "run")
    if isinstance(prepared, int):
        return prepared
    twin = None
    if args.twin is not None:
        twin = args.twin.resolve()
        if not (twin / "bin" / "kubectl").is_file():
            return _usage("run", f"--twin {args.twin}: no twin there (no bin/kubectl); "
                                 "create one with `homeops twin create DIR`")
    request = RunRequest(prepared.runbook, prepared.values, prepared.config, args.apply, args.records.resolve(),
                         len(prepared.cluster.nodes), twin, args.cell_timeout, args.lock_seconds)
    return run_runbook(request)


def _usage(command: str, message: str) -> int:
    from homeops.runner.redact import redact

    # A message may quote a -p value, and a secret pasted there must not reach a CI log.
    print(redact(f"homeops {command}: {message}"), file=sys.stderr)
    return EXIT_USAGE


def _lease_seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds, got {text!r}") from None
    if value < MINIMUM_LOCK_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be at least {MINIMUM_LOCK_SECONDS} seconds (the Lease is renewed every third of it), got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return value
