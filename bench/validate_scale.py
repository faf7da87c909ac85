"""How validation time grows with the size of cluster.yaml.

Generates clusters of 5, 1,000 and 10,000 nodes in a temporary directory, checks each several
times with `homeops.cluster.loader.check_cluster` (read, parse with positions, model, rules), and prints
the median time of each and its ratio to the 5-node baseline measured in the same run.
Target: 1,000 nodes well under 0.5 s.

Then the same for one mapping of 10,000 and 40,000 unknown keys, a problem each: the time of
40,000 against the 10,000 measured in the same run must stay near 4 (linear); a scan of the
mapping per problem made it 16 (40,000 keys took 34 s).

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
KEY_COUNTS = (10_000, 40_000)
LINEAR_AT_MOST = 6.0  # 40k/10k: 4 when linear, 16 when quadratic; the rest is noise of a shared machine
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


def many_keys_yaml(key_count: int) -> str:
    """A valid 5-node cluster.yaml plus `key_count` unknown top-level keys: one problem per key."""
    return cluster_yaml(5) + "".join(f"extra_{i}: {i}\n" for i in range(key_count))


def medians(path: Path, repeat: int, problems: int = 0) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of `repeat` checks of `path`, which must report `problems` errors."""
    wall, cpu = [], []
    for _ in range(repeat):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        checked = check_cluster(path)
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
        if len(checked.errors) != problems:  # a benchmark of the wrong outcome would measure the wrong thing
            raise SystemExit(f"generated {path.name}: {len(checked.errors)} errors, expected {problems}")
    return statistics.median(wall), statistics.median(cpu)


def bench_keys(tmp: str, repeat: int) -> bool:
    """Print the time of one mapping of many keys against the smaller one; True when it grows linearly."""
    results = {}
    for count in KEY_COUNTS:
        path = Path(tmp) / f"keys-{count}.yaml"
        path.write_text(many_keys_yaml(count))
        results[count] = medians(path, repeat, problems=count)
    small, large = KEY_COUNTS
    print(f"\none mapping with N unknown keys (a problem each), median of {repeat} runs each")
    print(f"{'keys':>7} {'wall ms':>9} {'cpu ms':>8} {'cpu x 10k':>10} {'cpu us/key':>11}")
    for count in KEY_COUNTS:
        wall, cpu = results[count]
        print(f"{count:>7,} {wall * 1000:>9.1f} {cpu * 1000:>8.1f} {cpu / results[small][1]:>10.1f} "
              f"{cpu / count * 1e6:>11.1f}")
    ratio = results[large][1] / results[small][1]
    linear = ratio <= LINEAR_AT_MOST
    print(f"{large:,} keys take {ratio:.1f} x the time of {small:,} ({large // small} x the keys): "
          f"{'linear' if linear else 'NOT LINEAR'} (at most {LINEAR_AT_MOST:g} allowed)")
    return linear


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
    with tempfile.TemporaryDirectory(prefix="homeops-bench-") as tmp:
        keys_linear = bench_keys(tmp, max(3, args.repeat // 2))
    return 0 if wall_1k < 0.5 and keys_linear else 1


if __name__ == "__main__":
    raise SystemExit(main())
