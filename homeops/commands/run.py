"""`homeops run NAME [-p KEY=VALUE]... [--apply] [--twin DIR] [--records DIR]`: execute a runbook.

Plan mode (the default) runs the read-only commands and prints each change it would make;
`--apply` makes the changes while holding the cluster's maintenance lock.
"""

from __future__ import annotations

import argparse
import gc
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
    from homeops.cluster.model import Cluster
    from homeops.runner.execute import StartedRun

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
class Checked:
    """What the checks before the kernel start found: the runbook, its -p values, where things go."""

    runbook: Runbook
    values: dict[str, object]
    config: Path
    records: Path
    made: tuple[Path, ...]  # directories of --records this run created, deepest first

    def undo(self) -> None:
        """Remove the directories this run created for --records, when the run is refused after all."""
        _remove_made(self.made)


def check(args, command: str) -> Checked | int:
    """Everything checked before a kernel starts; an int is the usage exit code (messages printed).

    These checks are quick; cluster.yaml (pydantic) is loaded by `load` while the kernel boots.
    """
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
    made = _missing_directories(args.records)
    try:
        args.records.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_made(made)  # the parents made before the failure
        return _usage(command, f"--records {args.records}: cannot create the directory: {exc.strerror or exc}")
    checked = Checked(runbook, values, Path(args.config).resolve(), args.records.resolve(), made)
    if not os.access(args.records, os.W_OK | os.X_OK):
        checked.undo()
        return _usage(command, f"--records {args.records}: the directory is not writable")
    return checked


def load(checked: Checked, command: str) -> Cluster | int:
    from homeops import ClusterInvalid, load_cluster

    config = checked.config
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
    from homeops.runner.execute import RunRequest, StartedRun, run_runbook

    twin = None
    if args.twin is not None:
        twin = args.twin.resolve()
        if not (twin / "bin" / "kubectl").is_file():
            return _usage("run", f"--twin {args.twin}: no twin there (no bin/kubectl); "
                                 "create one with `homeops twin create DIR`")
    checked = check(args, "run")
    if isinstance(checked, int):
        return checked
    if args.apply and not checked.runbook.takes_apply:
        checked.undo()
        return _usage("run", f"{checked.runbook.name} is read-only: it changes nothing, so it has no --apply; "
                             f"run it as `homeops run {checked.runbook.name}`")
    started = StartedRun(checked.runbook, args.apply, checked.records, twin, args.lock_seconds)
    try:
        cluster = load(checked, "run")
    except BaseException:  # Ctrl-C while loading: the kernel must not outlive the command
        refuse(started, checked)
        raise
    if isinstance(cluster, int):
        refuse(started, checked)
        return cluster
    request = RunRequest(checked.runbook, checked.values, checked.config, args.apply, checked.records,
                         len(cluster.nodes), twin, args.cell_timeout, args.lock_seconds)
    from homeops.runner import outcome

    outcome.rerun_command = command_line(args)
    return before_exit(run_runbook(request, started=started))


def command_line(args) -> str:
    """This run as an operator types it again: what a stop tells them to run to finish the job.

    Spelt from what was given (every `-p` as typed, in order), redacted like every line printed.
    """
    import shlex

    from homeops.redaction import redact

    argv = ["homeops"]
    if args.config != "cluster.yaml":
        argv += ["--config", str(args.config)]
    argv += ["run", args.name]
    for option, value, default in (("--twin", args.twin, None), ("--records", args.records, Path(DEFAULT_RECORDS)),
                                   ("--runbooks", args.runbooks, Path(DEFAULT_RUNBOOKS)),
                                   ("--cell-timeout", args.cell_timeout, None),
                                   ("--lock-seconds", args.lock_seconds, DEFAULT_LOCK_SECONDS)):
        if value is not None and value != default:
            argv += [option, f"{value:g}" if isinstance(value, float) else str(value)]
    for assignment in args.parameters:
        argv += ["-p", assignment]
    if args.apply:
        argv.append("--apply")
    return redact(shlex.join(argv))


def before_exit(exit_code: int) -> int:
    """The run is over and the command about to end: spare the interpreter's last garbage collections.

    At exit they walk every object papermill, nbformat and pydantic made (about 0.08 s here, a
    tenth of the engine's whole overhead), to free memory the process is about to give back anyway.
    Everything the run opened (record, kernel, lock, temporary directories) is closed by now.
    """
    gc.freeze()
    return exit_code


def refuse(started: StartedRun, checked: Checked) -> None:
    """Undo what was made for a run that is refused before its notebook: kernel, record, --records."""
    started.abandon()
    checked.undo()


def _missing_directories(directory: Path) -> tuple[Path, ...]:
    """`directory` and those of its parents that do not exist yet, deepest first."""
    missing = []
    current = directory.absolute()
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return tuple(missing)


def _remove_made(made: tuple[Path, ...]) -> None:
    for directory in made:
        try:
            directory.rmdir()
        except FileNotFoundError:  # not made after all (mkdir failed below it)
            continue
        except OSError:  # something else was put there meanwhile: it is not ours to remove
            break


def _usage(command: str, message: str) -> int:
    from homeops.redaction import redact

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
