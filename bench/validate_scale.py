"""How validation time grows with the number of nodes in cluster.yaml.

Generates clusters of 5, 1,000 and 10,000 nodes in a temporary directory, checks each several
times with `homeops.cluster.loader.check_cluster` (read, parse with positions, model, rules), and prints
the median time of each and its ratio to the 5-node baseline measured in the same run.
Target: 1,000 nodes well under 0.5 s.

    .venv/bin/python bench/validate_scale.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from homeops.cluster.loader import check_cluster

SIZES = (5, 1_000, 10_000)
SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"


def cluster_yaml(node_count: int) -> str:
    """A valid cluster.yaml: 3 control planes (1 below 3 nodes), the rest workers, in 10.0.0.0/16."""
    lines = [
        "cluster: {name: bench, domain: example.com}",
        "versions: {talos: v1.11.1, kubernetes: v1.34.1, flux: v2.6.4, cilium: v1.19.3,",
        "           rook_ceph: v1.18.3, sops: v3.10.2, age: v1.2.1}",
        f"talos: {{installer: factory.talos.dev/installer, schematic_id: {SCHEMATIC}}}",
        "network:",
        "  node_cidr: 10.0.0.0/16",
        "  pod_cidr: 10.42.0.0/16",
        "  service_cidr: 10.43.0.0/16",
        "  control_plane_vip: 10.0.250.50",
        "  load_balancers:",
        "    - {name: k8s-gateway, address: 10.0.250.100, purpose: Internal DNS}",
        "    - {name: internal-gateway, address: 10.0.250.101, purpose: Internal ingress}",
        "nodes:",
    ]
    control_planes = 3 if node_count >= 3 else 1
    for i in range(node_count):
        role = "control-plane" if i < control_planes else "worker"
        lines += [
            f"  - name: node-{i}",
            f"    role: {role}",
            f"    address: 10.0.{i // 250}.{i % 250 + 1}",
        ]
    return "\n".join(lines) + "\n"


def medians(path: Path, repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of `repeat` checks of `path`."""
    wall, cpu = [], []
    for _ in range(repeat):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        checked = check_cluster(path)
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
        if checked.errors:  # a benchmark of a failing file would measure the wrong thing
            raise SystemExit(f"generated {path.name} is invalid: {checked.errors[0]}")
    return statistics.median(wall), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per size (default 7)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="homeops-bench-") as tmp:
        paths = {}
        for size in SIZES:
            paths[size] = Path(tmp) / f"cluster-{size}.yaml"
            paths[size].write_text(cluster_yaml(size))
        medians(paths[SIZES[0]], 2)  # warm up imports and caches before the baseline
        results = {size: medians(paths[size], args.repeat) for size in SIZES}

    base_wall, base_cpu = results[SIZES[0]]
    # CPU time is printed beside wall time because a shared machine makes wall time noisy.
    print(f"homeops validate (check_cluster), median of {args.repeat} runs each")
    print(f"{'nodes':>7} {'file KB':>8} {'wall ms':>9} {'x 5-node':>9} {'cpu ms':>8} {'x 5-node':>9} "
          f"{'cpu us/node':>12}")
    for size in SIZES:
        wall, cpu = results[size]
        size_kb = len(cluster_yaml(size).encode()) / 1024
        print(f"{size:>7,} {size_kb:>8.0f} {wall * 1000:>9.2f} {wall / base_wall:>9.1f} {cpu * 1000:>8.2f} "
              f"{cpu / base_cpu:>9.1f} {cpu / size * 1e6:>12.1f}")
    wall_1k = results[1_000][0]
    verdict = "well under" if wall_1k < 0.25 else ("under" if wall_1k < 0.5 else "OVER")
    print(f"1,000 nodes: {wall_1k * 1000:.1f} ms wall, {verdict} the 0.5 s target")
    return 0 if wall_1k < 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
