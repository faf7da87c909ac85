"""What a thousand run records cost a site build, against the same build with no record.

One real record is made by rehearsing worker-upgrade against a twin (drain-blocked scenario); it is
copied into 1,000 records that differ in time, outcome and reason (so each has its own content
hash and its own cached page). One untimed build fills the cache of rendered records (its time
is printed: the cost of a first build); then builds with no record and with the 1,000 run
alternately, each as `mkdocs build --strict` in a fresh process. The script prints the median of
each, the difference (goal: under 1 s) and the ratio, in wall time and in CPU time (the build and
the processes it starts), which a busy shared machine disturbs less.

Measured 2026-12-02 on the shared 2-core machine (bench/maintenance-log.md has the profile and the
numbers before the fix): 1,000 cached records add 0.525 s of wall time (2.923 s -> 3.448 s, ratio
1.18) and 0.340 s of CPU time (1.531 s -> 1.870 s, ratio 1.22); the first build, rendering each
record, took 128 s.

    .venv/bin/python bench/maintenance_log.py [--records N] [--runs N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 1.0
REHEARSAL_TIMEOUT_SECONDS = 300
FIRST_BUILD_TIMEOUT_SECONDS = 3600


def _docs_bench():
    spec = importlib.util.spec_from_file_location("docs_build_bench", ROOT / "bench" / "docs_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def real_record(directory: Path) -> Path:
    directory.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "homeops", "rehearse", "worker-upgrade",
                    "--scenario", str(ROOT / "runbooks" / "scenarios" / "drain-blocked.yaml"),
                    "-p", "wait_timeout=10", "--records", str(directory)],
                   cwd=ROOT, capture_output=True, timeout=REHEARSAL_TIMEOUT_SECONDS, check=False)
    (record,) = directory.glob("*.ipynb")
    return record


def many_records(template: Path, directory: Path, count: int) -> None:
    notebook = json.loads(template.read_text(encoding="utf-8"))
    status = notebook["metadata"]["homeops"]
    reason = status.get("reason") or ""  # each record says its number and the rehearsal's own reason once
    directory.mkdir(parents=True)
    outcomes = ("completed", "stopped", "failed", "interrupted")
    for i in range(count):
        day, minute = divmod(i, 1440)
        started = f"2025-{1 + day // 28:02d}-{1 + day % 28:02d}T{minute // 60:02d}:{minute % 60:02d}:00Z"
        status.update(started=started, finished=started, outcome=outcomes[i % 4], twin=i % 3 == 0,
                      reason=f"run {i}: {reason}")
        stamp = started.replace("-", "").replace(":", "")
        (directory / f"{stamp}-worker-upgrade.ipynb").write_text(json.dumps(notebook), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, help="records in the big log (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="builds of each kind (default 5)")
    args = parser.parse_args(argv)
    bench = _docs_bench()
    bench.BUILD_TIMEOUT_SECONDS = FIRST_BUILD_TIMEOUT_SECONDS  # the first build renders every record
    with tempfile.TemporaryDirectory(prefix="log-bench-") as tmp:
        work = Path(tmp)
        env = bench.python_env(work / "pycache")
        project = bench.copy_project(work / "project")
        config = project / "mkdocs.yml"
        many_records(real_record(work / "one"), work / "many", args.records)
        empty = work / "none"
        empty.mkdir()
        start = time.perf_counter()
        bench.mkdocs_build(config, work / "site", dict(env, HOMEOPS_RECORDS=str(work / "many")))
        first = time.perf_counter() - start
        bench.mkdocs_build(config, work / "site", dict(env, HOMEOPS_RECORDS=str(empty)))
        without, with_records = [], []  # (wall, CPU) of each build
        for _ in range(args.runs):
            without.append(bench.mkdocs_build(config, work / "site", dict(env, HOMEOPS_RECORDS=str(empty))))
            with_records.append(bench.mkdocs_build(config, work / "site", dict(env, HOMEOPS_RECORDS=str(work / "many"))))
        pages = sum(1 for _ in (work / "site" / "operations" / "maintenance-log").glob("*.html"))
    print(f"records: {args.records} ({pages} record pages built), runs: {args.runs} of each, alternating")
    for kind, index in (("wall", 0), ("CPU", 1)):
        base = statistics.median(run[index] for run in without)
        big = statistics.median(run[index] for run in with_records)
        print(bench.summary(f"{kind}, no record:", [run[index] for run in without]))
        print(bench.summary(f"{kind}, {args.records} records (cached):", [run[index] for run in with_records]))
        met = "met" if big - base < GOAL_SECONDS else "NOT met"
        print(f"{kind} difference: {big - base:.3f} s  (goal < {GOAL_SECONDS:.1f} s: {met}); ratio {big / base:.2f}")
    print(f"first build with {args.records} records (nothing cached, nbconvert renders each): {first:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
