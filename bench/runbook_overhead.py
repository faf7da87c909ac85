"""How much time the runbook engine adds above what a run cannot avoid.

Measured in one go on this machine:
- floor: a runbook kernel's start until it answers (the engine's own kernel manager: IPC, this
  interpreter), median of several starts;
- a plan run of `cluster-health` against a twin: read-only, so it contains no simulated time;
- a rehearsal of `worker-upgrade` on one worker (fresh twin in a temp dir, Talos one patch behind,
  short reboot): the simulated time it contains is what the twin spends rebooting and recovering:
  for each node that now runs the new Talos (only those rebooted), reboot_seconds plus the twin's
  Ceph recovery of reboot_seconds / 2 (as homeops.twin documents).

overhead = wall − floor − simulated; the goal is under 1 s. Each command is the real CLI in a new
process (`python -m homeops ...`), so interpreter start and imports count as overhead. The
overhead is split with the cell durations papermill saves in the record: time inside the cells
beyond the simulated time is the runbook's own work (its tool calls to the twin, each a new
process, and its polling granularity); the rest is the engine (CLI start, cluster.yaml check,
papermill, records, lock, kernel stop).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "cluster.yaml"
KERNEL_STARTS = 3
REBOOT_SECONDS = 1.0
RECOVERY_FACTOR = 1.5  # a reboot, then Ceph recovering for half of it (homeops.twin)
GOAL_SECONDS = 1.0
COMMAND_TIMEOUT = 600


def kernel_start_seconds(runtime: Path) -> float:
    from homeops.runner.kernel import kernel_manager_class

    async def once() -> float:
        manager = kernel_manager_class(dict(os.environ), runtime)(kernel_name="python3")
        began = time.perf_counter()
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            return time.perf_counter() - began
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    return statistics.median(asyncio.run(once()) for _ in range(KERNEL_STARTS))


def homeops(*args: str, cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    began = time.perf_counter()
    argv = [sys.executable, "-m", "homeops", "--config", str(CONFIG), *args, "--runbooks", str(ROOT / "runbooks")]
    done = subprocess.run(argv, cwd=cwd,
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"bench: `homeops {' '.join(args)}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return wall, done


def nodes_running(twin: Path, version: str) -> int:
    done = subprocess.run([str(twin / "bin" / "kubectl"), "get", "nodes", "-o", "json"], capture_output=True,
                          text=True, timeout=30, check=True)
    images = [n["status"]["nodeInfo"]["osImage"] for n in json.loads(done.stdout)["items"]]
    return images.count(f"Talos ({version})")


def cell_seconds(done: subprocess.CompletedProcess) -> float:
    record = Path(done.stdout.strip().splitlines()[-1].split(" — record: ")[-1])
    cells = json.loads(record.read_text())["cells"]
    return sum(cell["metadata"].get("papermill", {}).get("duration") or 0.0 for cell in cells)


def report(name: str, wall: float, floor: float, simulated: float, in_cells: float) -> None:
    overhead = wall - floor - simulated
    verdict = "within" if overhead < GOAL_SECONDS else "OVER"
    print(f"{name}\n"
          f"  wall {wall:.2f} s = floor {floor:.2f} + simulated {simulated:.2f} + overhead {overhead:.2f} s "
          f"({verdict} the {GOAL_SECONDS:g} s goal); wall/(floor+simulated) = {wall / (floor + simulated):.2f}\n"
          f"  overhead = runbook work in cells {in_cells - simulated:.2f} s + engine {wall - floor - in_cells:.2f} s",
          flush=True)


def main() -> int:
    from homeops import load_cluster
    from homeops.twin import create

    with tempfile.TemporaryDirectory(prefix="homeops-bench-") as scratch:
        scratch = Path(scratch)
        runtime = scratch / "kernel"
        runtime.mkdir()
        floor = kernel_start_seconds(runtime)
        print(f"floor: kernel start until ready, median of {KERNEL_STARTS}: {floor:.2f} s", flush=True)

        cluster = load_cluster(CONFIG)
        twin = create(scratch / "twin", cluster)
        wall, done = homeops("run", "cluster-health", "--twin", str(twin), "--records", "records", cwd=scratch)
        report("plan run: cluster-health", wall, floor, 0.0, cell_seconds(done))

        worker = cluster.workers[0]
        current = cluster.versions.talos
        major, minor, patch = (int(part) for part in current.lstrip("v").split("."))
        if patch == 0:
            sys.exit(f"bench: versions.talos {current} has no earlier patch to start the twin from")
        scenario = scratch / "scenario.yaml"
        scenario.write_text(f"talos_version: v{major}.{minor}.{patch - 1}\nreboot_seconds: {REBOOT_SECONDS}\n")
        wall, done = homeops("rehearse", "worker-upgrade", "-p", f"nodes={worker.name}", "-p", "poll_interval=0.1",
                             "--scenario", str(scenario), "--records", "records", cwd=scratch)
        rehearsed = Path(re.search(r"^twin: (\S+)", done.stdout, re.M).group(1))
        try:
            rebooted = nodes_running(rehearsed, current)
        finally:
            shutil.rmtree(rehearsed)  # the rehearsal keeps its twin for people; the bench does not need it
        simulated = rebooted * REBOOT_SECONDS * RECOVERY_FACTOR
        report(f"rehearsal: worker-upgrade {worker.name}", wall, floor, simulated, cell_seconds(done))
        print(f"(rehearsal: {rebooted} node(s) upgraded and rebooted, reboot_seconds {REBOOT_SECONDS:g})")
    # The verdicts are printed; the exit status stays 0 so that `make bench` runs every benchmark.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
