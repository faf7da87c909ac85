"""`homeops twin create DIR [--scenario FILE]`: make a simulated cluster from cluster.yaml."""

from __future__ import annotations

import sys
from pathlib import Path

from homeops.cli import EXIT_OK, EXIT_USAGE


def register(sub) -> None:
    p = sub.add_parser("twin", help="the cluster's digital twin (fake kubectl, talosctl, flux)")
    actions = p.add_subparsers(dest="twin_command", required=True, metavar="ACTION", parser_class=type(p))
    create = actions.add_parser("create", help="make (or reset) a twin of cluster.yaml in DIR")
    create.add_argument("directory", metavar="DIR", help="where the twin lives (empty, new, or an existing twin)")
    create.add_argument("--scenario", metavar="FILE", help="scenario YAML: versions, reboot_seconds, faults")
    create.set_defaults(handler=handle_create)
    power_on = actions.add_parser("power-on", help="power on nodes of the twin in DIR that are off (after a shutdown)")
    power_on.add_argument("directory", metavar="DIR", help="the twin's directory")
    power_on.add_argument("nodes", metavar="NODE", nargs="+", help="node names in the order power comes back, or all")
    power_on.set_defaults(handler=handle_power_on)


def handle_create(args) -> int:
    from homeops import ClusterInvalid, load_cluster
    from homeops.twin import ScenarioInvalid, TwinDirRefused, create, load_scenario

    try:
        cluster = load_cluster(args.config)
    except ClusterInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"homeops twin create: cannot read {args.config}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        scenario = load_scenario(args.scenario, cluster) if args.scenario else None
        # the project beside cluster.yaml stands for the repository the twin's Flux reads
        directory = create(args.directory, cluster, scenario, repository=Path(args.config).resolve().parent)
    except ScenarioInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    except (TwinDirRefused, OSError) as exc:
        print(f"homeops twin create: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _describe(directory, cluster, scenario)
    return EXIT_OK


def _describe(directory, cluster, scenario) -> None:
    talos = (scenario and scenario.talos_version) or cluster.versions.talos
    kubernetes = (scenario and scenario.kubernetes_version) or cluster.versions.kubernetes
    faults = ", ".join(scenario.fault_names()) if scenario and scenario.faults else "none"
    reboot = scenario.reboot_seconds if scenario else 1.0
    names = ", ".join(n.name for n in cluster.nodes)
    print(f"twin of {cluster.cluster.name} created in {directory}")
    print(f"  nodes: {names}")
    print(f"  Talos {talos}, Kubernetes {kubernetes}, reboot {reboot:g}s, faults: {faults}")
    print(f"  tools: {directory}/bin/kubectl, {directory}/bin/talosctl, {directory}/bin/flux")
    print("use it:")
    print(f"  export PATH={directory}/bin:$PATH")
    print(f"  homeops run NAME --twin {directory}")


def handle_power_on(args) -> int:
    """Power comes back: what a rehearsal of cluster-startup does by hand between the two runbooks."""
    from homeops.twin import cluster, power, state

    try:
        with cluster.changing(args.directory) as (live, now):
            known = [n["name"] for n in live["nodes"]]
            names = known if args.nodes == ["all"] else args.nodes
            unknown = [name for name in names if name not in known]
            if unknown:
                print(f"homeops twin power-on: no node named {', '.join(unknown)} in the twin "
                      f"(nodes: {', '.join(known)}); nothing powered on", file=sys.stderr)
                return EXIT_USAGE
            started = power.power_on(live, names, now)
    except (state.NotATwin, OSError) as exc:
        print(f"homeops twin power-on: {exc}", file=sys.stderr)
        return EXIT_USAGE
    left = [name for name in names if name not in started]
    print(f"powered on: {', '.join(started) or 'none'}" + (f" (already on: {', '.join(left)})" if left else ""))
    return EXIT_OK
