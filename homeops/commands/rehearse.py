"""`homeops rehearse NAME [-p KEY=VALUE]... [--scenario FILE]`: apply a runbook to a fresh twin.

A new twin of cluster.yaml is made in a temporary directory (optionally shaped by a scenario:
older versions, faults), the runbook runs against it with --apply, and the twin is kept so a
person can look at what the runbook did.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from homeops.cli import EXIT_USAGE
from homeops.commands.run import add_run_options, prepare


def register(sub) -> None:
    p = sub.add_parser("rehearse", help="run a runbook with --apply against a fresh twin of the cluster",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(p)
    p.add_argument("--scenario", metavar="FILE", type=Path,
                   help="twin scenario: starting versions, reboot time, faults")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    prepared = prepare(args, "rehearse")
    if isinstance(prepared, int):
        return prepared
    try:
        from homeops import twin
    except ImportError as exc:
        print(f"homeops rehearse: the twin is not available: {exc}", file=sys.stderr)
        return EXIT_USAGE
    scenario = None
    if args.scenario is not None:
        try:
            scenario = twin.load_scenario(args.scenario, prepared.cluster)
        except twin.ScenarioInvalid as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(f"homeops rehearse: --scenario {args.scenario} cannot be used; nothing was run", file=sys.stderr)
            return EXIT_USAGE
    directory = Path(tempfile.mkdtemp(prefix=f"homeops-twin-{prepared.runbook.name}-"))
    try:
        twin.create(directory, prepared.cluster, scenario=scenario)
    except (OSError, twin.ScenarioInvalid) as exc:
        shutil.rmtree(directory, ignore_errors=True)  # our own fresh directory, holding nothing else
        print(f"homeops rehearse: cannot create the twin: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"twin: {directory} (inspect it with PATH={directory / 'bin'}:$PATH kubectl get nodes)", flush=True)

    from homeops.runner.execute import RunRequest, run_runbook

    request = RunRequest(prepared.runbook, prepared.values, prepared.config, True, args.records.resolve(),
                         len(prepared.cluster.nodes), directory, args.cell_timeout, args.lock_seconds)
    return run_runbook(request)
