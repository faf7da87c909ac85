"""How much the site's machinery (macros, cluster model, runbook pages) costs over plain MkDocs + Material.

Builds the real site, and the same pages as plain Markdown with plain MkDocs + Material (no macros,
no hooks): the pages are rendered once through the real build and saved as Markdown. Both builds
then run alternately, several times, each as `mkdocs build --strict` in a fresh process, after one
untimed build of each; the script prints the median wall time of each and their ratio (goal: at
most 1.25), the same for CPU time (the build and the processes it starts, such as git), which a
busy shared machine disturbs less, and where the difference goes.

It then serves a copy of the project with `mkdocs serve --strict` (127.0.0.1, a random port in
18000-18999), edits its cluster.yaml several times, and prints how long each edit took to show on
the served page: from the file's write until a request answers with the new value (goal: 1 s), and
the CPU time the server used meanwhile (on Linux; a busy machine disturbs it less than the wall time).

The home-ops builds use the site's caches as a developer's builds do (`.site-cache/`: each page's
Markdown after the macros, Material's compiled templates, each page's search entries; in one process,
each page's HTML), so part of what they save is MkDocs' and Material's own work, which the plain
baseline does again at every build.

Python code runs from cached bytecode in both builds, as it does on a developer's machine: MkDocs and
Material were compiled when pip installed them, so the home-ops sources get a bytecode cache too (in
the bench's temporary directory, not in the tree), even when the environment sets
PYTHONDONTWRITEBYTECODE. `--no-bytecode-cache` keeps the environment's setting instead, so with
PYTHONDONTWRITEBYTECODE=1 every home-ops build compiles homeops/ and macros/ again.

    .venv/bin/python bench/docs_build.py [--runs N] [--edits N] [--no-bytecode-cache]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import socket
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from mkdocs.utils.yaml import yaml_load

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT_SECONDS = 300
GOAL = 1.25
SERVE_GOAL_SECONDS = 1.0
SERVE_WAIT_SECONDS = 120  # for the first build, and for any edit to show, before the bench gives up
SOURCES = ("mkdocs.yml", "docs", "macros", "cluster.yaml", "runbooks", "templates")

CAPTURE_HOOK = '''
"""Saves each page's Markdown after the macros ran: the plain baseline's sources."""
from pathlib import Path
from mkdocs.plugins import event_priority

OUT = Path({out!r})


@event_priority(-100)  # after mkdocs-macros
def on_page_markdown(markdown, page, config, files):
    target = OUT / page.file.src_uri
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(markdown, encoding="utf-8")
    return markdown
'''


def python_env(pycache: Path | None) -> dict[str, str]:
    """The environment of every measured process: bytecode cached under `pycache`, or as inherited."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mkdocs_build(config: Path, site_dir: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one build in a fresh process; CPU counts the processes it started (git)."""
    shutil.rmtree(site_dir, ignore_errors=True)
    cpu, start = children_cpu_seconds(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config),
                    "-d", str(site_dir)], cwd=config.parent, env=env, check=True, timeout=BUILD_TIMEOUT_SECONDS)
    return time.perf_counter() - start, children_cpu_seconds() - cpu


STARTUP_STEPS = (  # what a real build does once on top of plain MkDocs + Material, in order
    ("plain MkDocs + Material", "import mkdocs.commands.build, material.plugins.search.plugin"),
    ("mkdocs-macros (its `requests` imported lazily)", "import homeops.site.macros_plugin"),
    ("the hook's homeops.site modules", "import homeops.site.preview, homeops.site.record_files, homeops.site.staging"),
    ("reading the runbooks", "import homeops.catalog; homeops.catalog.list_runbooks('runbooks')"),
    # Every page's Markdown after the macros comes from .site-cache/markdown/ when none of the site's sources
    # changed (homeops.site.page_cache); this is the key of them all.
    ("the page cache's key", "from types import SimpleNamespace; from homeops.site import page_cache; "
                             "page_cache.site_key(SimpleNamespace(config_file_path='mkdocs.yml', site_url=None), "
                             "{'module_name': 'macros'})"),
    # Only in a build where a page misses (a source changed): the macros are set up.
    ("on a miss: the model (pydantic)", "import homeops.cluster.model"),
    ("on a miss: the validator", "import homeops.cluster.loader"),
    ("on a miss: macros/", "import macros"),
    ("on a miss: checking cluster.yaml", "homeops.cluster.loader.load_cluster('cluster.yaml')"),
    # A build reads the rendered tree from .site-cache/ when nothing it is made of changed; this is its key.
    ("on a miss: the render cache's key", "from pathlib import Path; import homeops.site.render_cache as r; "
                                          "r.render_key(Path('.'), Path('cluster.yaml'), Path('templates'))"),
)
TIME_STEPS = """
import json, sys, time
steps = json.loads(sys.argv[1])
seconds = []
for statement in steps:
    start = time.perf_counter()
    exec(statement)
    seconds.append(time.perf_counter() - start)
print(json.dumps(seconds))
"""


WARM_BUILDS = """
import logging, statistics, sys, time
from mkdocs.commands.build import build
from mkdocs.config import load_config
logging.disable(logging.INFO)
config_file, site_dir, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def once():
    config = load_config(config_file, site_dir=site_dir)
    start = time.perf_counter()
    build(config)
    return time.perf_counter() - start
once()  # imports, caches
print(statistics.median(once() for _ in range(runs)))
"""


def warm_build(config: Path, site_dir: Path, runs: int, env: dict[str, str]) -> float:
    """Median time of `build()` in one process whose imports are already done: the per-build work alone."""
    done = subprocess.run([sys.executable, "-c", WARM_BUILDS, str(config), str(site_dir), str(runs)],
                          cwd=config.parent, env=env, check=True,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS)
    return float(done.stdout.strip().splitlines()[-1])


def startup_costs(runs: int, env: dict[str, str]) -> list[tuple[str, float]]:
    """Median time of each start-up step in a fresh process, given the steps before it."""
    samples = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", TIME_STEPS, json.dumps([s for _, s in STARTUP_STEPS])],
                              cwd=ROOT, env=env, check=True, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_SECONDS)
        samples.append(json.loads(done.stdout))
    return [(label, statistics.median(run[i] for run in samples)) for i, (label, _) in enumerate(STARTUP_STEPS)]


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)
    # The records the build lists come from HOMEOPS_RECORDS; mkdocs.yml watches records/, so it must exist.
    (dest / "records").mkdir(exist_ok=True)
    (dest / "homeops").symlink_to(ROOT / "homeops", target_is_directory=True)
    return dest


def plain_project(work: Path, env: dict[str, str]) -> Path:
    """The same pages as plain Markdown, with mkdocs.yml minus macros and hooks."""
    capture = copy_project(work / "capture")
    markdown_dir = work / "plain" / "docs"
    shutil.copytree(ROOT / "docs", markdown_dir, ignore=shutil.ignore_patterns("*.md"))
    (capture / "capture_hook.py").write_text(CAPTURE_HOOK.format(out=str(markdown_dir)))
    with open(capture / "mkdocs.yml", encoding="utf-8") as f:
        config = yaml_load(f)
    config["hooks"] = [*config.get("hooks", []), "capture_hook.py"]
    (capture / "mkdocs.yml").write_text(yaml.dump(config, Dumper=yaml.Dumper, sort_keys=False))
    mkdocs_build(capture / "mkdocs.yml", work / "capture-site", env)

    from homeops.catalog import list_runbooks
    from homeops.site.runbook_pages import nav_with_runbooks

    config.pop("hooks")
    config.pop("watch", None)
    config["plugins"] = [p for p in config["plugins"] if not (isinstance(p, dict) and "homeops-macros" in p)]
    config["nav"] = nav_with_runbooks(config["nav"], list_runbooks(ROOT / "runbooks"))
    config["theme"]["custom_dir"] = str(ROOT / config["theme"]["custom_dir"])
    plain = work / "plain" / "mkdocs.yml"
    plain.write_text(yaml.dump(config, Dumper=yaml.Dumper, sort_keys=False))
    return plain


# The value edited in cluster.yaml, and the page that shows it (the load balancers' table).
EDITED = "purpose: Internal DNS"
EDITED_PAGE = "networking/"


def free_port() -> int:
    """A free port in 18000-18999 on 127.0.0.1 (random, so that two benches on one machine do not meet)."""
    for port in random.sample(range(18000, 19000), 1000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18000-18999")


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=SERVE_WAIT_SECONDS) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None  # not listening yet


def wait_for_text(url: str, text: str, deadline: float) -> float | None:
    """perf_counter() when a page at `url` first showed `text`; None at the deadline."""
    while time.perf_counter() < deadline:
        page = fetch(url)
        if page is not None and text in page:
            return time.perf_counter()
        time.sleep(0.01)
    return None


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far (Linux: /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def serve_edits(work: Path, edits: int, env: dict[str, str]) -> tuple[list[float | None], list[float]]:
    """Seconds from each write of cluster.yaml until the served page showed the new value (None: never),
    and the CPU seconds the server used meanwhile (what a busy machine disturbs less)."""
    project = copy_project(work / "serve")
    cluster = project / "cluster.yaml"
    original = cluster.read_text(encoding="utf-8")
    if EDITED not in original:
        raise SystemExit(f"bench: cluster.yaml no longer has {EDITED!r}; pick another value to edit")
    url = f"http://127.0.0.1:{free_port()}/"
    log = (work / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--strict", "-f", str(project / "mkdocs.yml"),
         "--dev-addr", url.removeprefix("http://").rstrip("/")],
        cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    shown: list[float | None] = []
    cpu: list[float] = []
    try:
        if wait_for_text(url + EDITED_PAGE, "Internal DNS", time.perf_counter() + SERVE_WAIT_SECONDS) is None:
            raise SystemExit(f"bench: mkdocs serve did not serve the site:\n{(work / 'serve.log').read_text()}")
        for edit in range(1, edits + 1):
            time.sleep(1.0)  # the watcher settles; an edit is never made during a rebuild
            value = f"Internal DNS edited {edit}"
            before = process_cpu_seconds(server.pid)
            start = time.perf_counter()
            cluster.write_text(original.replace(EDITED, f"purpose: {value}", 1), encoding="utf-8")
            seen = wait_for_text(url + EDITED_PAGE, value, start + SERVE_WAIT_SECONDS)
            shown.append(None if seen is None else seen - start)
            after = process_cpu_seconds(server.pid)
            if before is not None and after is not None:
                cpu.append(after - before)
    finally:
        os.killpg(server.pid, signal.SIGINT)  # as Ctrl-C: mkdocs removes its temporary site
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    return shown, cpu


def summary(label: str, seconds: list[float]) -> str:
    return f"{label:<31} median {statistics.median(seconds):.3f} s  ({', '.join(f'{t:.2f}' for t in seconds)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="builds of each kind (default 7)")
    parser.add_argument("--edits", type=int, default=5, help="cluster.yaml edits under mkdocs serve (default 5)")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep the environment's bytecode setting (PYTHONDONTWRITEBYTECODE) for every process")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docs-bench-") as tmp:
        work = Path(tmp)
        env = python_env(None if args.no_bytecode_cache else work / "pycache")
        # Committed run records add pages the baseline has no equivalent of: bench/maintenance_log.py measures them.
        (work / "no-records").mkdir()
        env["HOMEOPS_RECORDS"] = str(work / "no-records")
        plain = plain_project(work, env)
        pages = sum(1 for _ in (plain.parent / "docs").rglob("*.md"))
        # One untimed build of each first: cold disk caches, and the bytecode cache is filled.
        mkdocs_build(ROOT / "mkdocs.yml", work / "real-site", env)
        mkdocs_build(plain, work / "plain-site", env)
        real_runs, plain_runs = [], []
        for _ in range(args.runs):
            real_runs.append(mkdocs_build(ROOT / "mkdocs.yml", work / "real-site", env))
            plain_runs.append(mkdocs_build(plain, work / "plain-site", env))
        warm_plain = warm_build(plain, work / "warm-plain", args.runs, env)
        warm_real = warm_build(ROOT / "mkdocs.yml", work / "warm-real", args.runs, env)
        steps = startup_costs(args.runs, env)
        edits, serve_cpu = serve_edits(work, args.edits, env) if args.edits else ([], [])
    real, base = statistics.median(w for w, _ in real_runs), statistics.median(w for w, _ in plain_runs)
    real_cpu, base_cpu = statistics.median(c for _, c in real_runs), statistics.median(c for _, c in plain_runs)
    ratio = real / base
    bytecode = ("as the environment sets it" if args.no_bytecode_cache
                else "cached for both builds (in the bench's temporary directory)")
    print(f"pages: {pages}, runs: {args.runs} of each, alternating; Python bytecode: {bytecode}")
    print("home-ops builds find .site-cache/ as the untimed first build left it (a developer's next build does too):")
    print("  each page's Markdown after the macros, and Material's compiled templates and search entries, which")
    print("  the plain baseline compiles and parses again at every build")
    print(summary("plain MkDocs + Material:", [w for w, _ in plain_runs]))
    print(summary("home-ops site (macros + hooks):", [w for w, _ in real_runs]))
    print(f"ratio: {ratio:.2f}  (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})")
    print(f"CPU time (build and the processes it starts): plain {base_cpu:.3f} s, home-ops {real_cpu:.3f} s, "
          f"ratio {real_cpu / base_cpu:.2f}")
    print(f"with imports already done (one process, median build(); home-ops keeps each page's HTML in memory, "
          f"as under mkdocs serve): plain {warm_plain:.3f} s, home-ops {warm_real:.3f} s, "
          f"ratio {warm_real / warm_plain:.2f}")
    print(f"difference: {real - base:.3f} s a build; start-up steps (median, fresh process, each after the ones above;")
    print("  'on a miss': only in a build where a page misses the page cache, so not in the builds timed above):")
    for label, seconds in steps:
        print(f"  {label:<34} {seconds:.3f} s")
    if edits:
        seen = [t for t in edits if t is not None]
        median = f"median {statistics.median(seen):.2f} s" if seen else "never shown"
        print(f"mkdocs serve, cluster.yaml edit until the page shows it: {median}  "
              f"({', '.join('never' if t is None else f'{t:.2f}' for t in edits)}; goal <= {SERVE_GOAL_SECONDS:.0f} s)")
        if serve_cpu:
            print(f"  CPU of the server meanwhile: median {statistics.median(serve_cpu):.2f} s  "
                  f"({', '.join(f'{t:.2f}' for t in serve_cpu)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
