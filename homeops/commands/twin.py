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
