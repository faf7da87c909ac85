"""`homeops rehearse NAME [-p KEY=VALUE]... [--scenario FILE]`: apply a runbook to a fresh twin.

A new twin of cluster.yaml is made in a temporary directory (optionally shaped by a scenario:
older versions, faults), the runbook runs against it with --apply, and the twin is kept so a
person can look at what the runbook did.

cluster-startup is rehearsed as a cold start: cluster-shutdown is applied to the fresh twin first (its
own record beside the startup's: Flux suspended, Ceph's flags set, the Rook operator at 0, every node
off), then the power comes back (the control planes first, then the workers), then cluster-startup runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from homeops.cli import EXIT_USAGE
from homeops.commands.run import Checked, add_run_options, before_exit, check, load, refuse

if TYPE_CHECKING:
    from homeops.cluster.model import Cluster
    from homeops.runner.execute import StartedRun


def register(sub) -> None:
    p = sub.add_parser("rehearse", help="run a runbook with --apply against a fresh twin of the cluster",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(p)
    p.add_argument("--scenario", metavar="FILE", type=Path,
                   help="twin scenario: starting versions, reboot time, faults")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    checked = check(args, "rehearse")
    if isinstance(checked, int):
        return checked
    try:
        from homeops import twin
    except ImportError as exc:
        checked.undo()
        print(f"homeops rehearse: the twin is not available: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from homeops.runner.execute import RunRequest, StartedRun, run_runbook

    # The twin's directory is chosen first, so that the kernel (which gets its bin/ on PATH) boots
    # while cluster.yaml and the scenario are checked and the twin is made.
    directory = Path(tempfile.mkdtemp(prefix=f"homeops-twin-{checked.runbook.name}-"))
    apply = checked.runbook.takes_apply  # a read-only runbook is rehearsed as it runs: reading only
    started = StartedRun(checked.runbook, apply, checked.records, directory, args.lock_seconds)
    try:
        cluster = _make_twin(twin, directory, checked, args.scenario)
    except BaseException:  # Ctrl-C meanwhile: neither the kernel nor a half-made twin outlives the command
        _refuse(started, checked, directory)
        raise
    if isinstance(cluster, int):
        _refuse(started, checked, directory)
        return cluster
    print(f"twin: {directory} (inspect it with PATH={directory / 'bin'}:$PATH kubectl get nodes)", flush=True)
    if checked.runbook.name in COLD_STARTS:
        try:
            code = _shut_down_and_power_on(args, checked, cluster, directory)
        except BaseException:  # Ctrl-C meanwhile: the startup's waiting kernel does not outlive the command
            started.abandon()
            raise
        if code != 0:
            started.abandon()  # the shutdown's own record says what it did; the startup never ran
            print(f"homeops rehearse: {COLD_STARTS[checked.runbook.name]} did not complete, so "
                  f"{checked.runbook.name} was not run (the twin is kept: {directory})", file=sys.stderr)
            return code
    request = RunRequest(checked.runbook, checked.values, checked.config, apply, checked.records,
                         len(cluster.nodes), directory, args.cell_timeout, args.lock_seconds)
    return before_exit(run_runbook(request, started=started))


# The runbook a rehearsal of each of these runs first, and the power that comes back between them.
COLD_STARTS = {"cluster-startup": "cluster-shutdown"}


def _shut_down_and_power_on(args, checked: Checked, cluster: Cluster, directory: Path) -> int:
    """The fresh twin as a cold start finds it: `COLD_STARTS[runbook]` applied (with the -p values it also
    takes: the waits), then every node powered on, control planes first, as `homeops twin power-on` does."""
    from homeops.catalog import RunbookMalformed, read_runbook
    from homeops.runner.execute import RunRequest, run_runbook
    from homeops.runner.parameters import ParameterInvalid, parse_assignments
    from homeops.twin import cluster as twin_cluster, power

    name = COLD_STARTS[checked.runbook.name]
    try:
        before = read_runbook(args.runbooks / f"{name}.ipynb")
        taken = {p.name for p in before.parameters}
        values = parse_assignments(before, [a for a in args.parameters if a.partition("=")[0].strip() in taken])
    except (OSError, RunbookMalformed, ParameterInvalid) as exc:
        print(f"homeops rehearse: {name}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"rehearsing a cold start: {name} first, then the power comes back", flush=True)
    code = run_runbook(RunRequest(before, values, checked.config, True, checked.records, len(cluster.nodes),
                                  directory, args.cell_timeout, args.lock_seconds))
    if code != 0:
        return code
    order = [n.name for n in cluster.control_planes] + [n.name for n in cluster.workers]
    with twin_cluster.changing(str(directory)) as (live, now):
        started = power.power_on(live, order, now)
    print(f"power back: {', '.join(started) or 'none'} (as `homeops twin power-on {directory} {' '.join(order)}`)",
          flush=True)
    return 0


def _make_twin(twin, directory: Path, checked: Checked, scenario_file: Path | None) -> Cluster | int:
    """The cluster of cluster.yaml, with its twin made in `directory`; or the usage exit code (messages printed)."""
    cluster = load(checked, "rehearse")
    if isinstance(cluster, int):
        return cluster
    scenario = None
    if scenario_file is not None:
        try:
            scenario = twin.load_scenario(scenario_file, cluster)
        except twin.ScenarioInvalid as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(f"homeops rehearse: --scenario {scenario_file} cannot be used; nothing was run", file=sys.stderr)
            return EXIT_USAGE
    try:
        twin.create(directory, cluster, scenario=scenario, repository=Path(checked.config).resolve().parent)
    except (OSError, twin.ScenarioInvalid) as exc:
        print(f"homeops rehearse: cannot create the twin: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return cluster


def _refuse(started: StartedRun, checked: Checked, directory: Path) -> None:
    refuse(started, checked)
    shutil.rmtree(directory, ignore_errors=True)  # our own fresh directory, holding nothing else
