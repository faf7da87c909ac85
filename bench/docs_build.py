"""How much the site's machinery (macros, cluster model, runbook pages) costs over plain MkDocs + Material.

Builds the real site, and the same pages as plain Markdown with plain MkDocs + Material (no macros,
no hooks): the pages are rendered once through the real build and saved as Markdown. Both builds
then run alternately, several times, each as `mkdocs build --strict` in a fresh process; the script
prints the median of each and their ratio. Goal: at most 1.25.

    .venv/bin/python bench/docs_build.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from mkdocs.utils.yaml import yaml_load

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT_SECONDS = 300
GOAL = 1.25
SOURCES = ("mkdocs.yml", "docs", "macros", "cluster.yaml", "runbooks")

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


def mkdocs_build(config: Path, site_dir: Path) -> float:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    shutil.rmtree(site_dir, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config),
                    "-d", str(site_dir)], cwd=config.parent, env=env, check=True, timeout=BUILD_TIMEOUT_SECONDS)
    return time.perf_counter() - start


IMPORT_STEPS = (  # what a real build imports on top of plain MkDocs + Material, in order
    ("plain MkDocs + Material", "import mkdocs.commands.build, material.plugins.search.plugin"),
    ("mkdocs-macros", "import mkdocs_macros.plugin"),
    ("the cluster model (pydantic)", "import homeops.model"),
    ("macros/ and homeops.site", "import macros"),
)
TIME_IMPORTS = """
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


def warm_build(config: Path, site_dir: Path, runs: int) -> float:
    """Median time of `build()` in one process whose imports are already done: the per-build work alone."""
    done = subprocess.run([sys.executable, "-c", WARM_BUILDS, str(config), str(site_dir), str(runs)],
                          cwd=config.parent, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"), check=True,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS)
    return float(done.stdout.strip().splitlines()[-1])


def import_costs(runs: int) -> list[tuple[str, float]]:
    """Median time each step's imports take in a fresh process, given the steps before it."""
    samples = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", TIME_IMPORTS, json.dumps([s for _, s in IMPORT_STEPS])],
                              cwd=ROOT, check=True, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS)
        samples.append(json.loads(done.stdout))
    return [(label, statistics.median(run[i] for run in samples)) for i, (label, _) in enumerate(IMPORT_STEPS)]


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)
    (dest / "homeops").symlink_to(ROOT / "homeops", target_is_directory=True)
    return dest


def plain_project(work: Path) -> Path:
    """The same pages as plain Markdown, with mkdocs.yml minus macros and hooks."""
    capture = copy_project(work / "capture")
    markdown_dir = work / "plain" / "docs"
    shutil.copytree(ROOT / "docs", markdown_dir, ignore=shutil.ignore_patterns("*.md"))
    (capture / "capture_hook.py").write_text(CAPTURE_HOOK.format(out=str(markdown_dir)))
    with open(capture / "mkdocs.yml", encoding="utf-8") as f:
        config = yaml_load(f)
    config["hooks"] = [*config.get("hooks", []), "capture_hook.py"]
    (capture / "mkdocs.yml").write_text(yaml.dump(config, Dumper=yaml.Dumper, sort_keys=False))
    mkdocs_build(capture / "mkdocs.yml", work / "capture-site")

    from homeops.catalog import list_runbooks
    from homeops.site.runbook_pages import nav_with_runbooks

    config.pop("hooks")
    config.pop("watch", None)
    config["plugins"] = [p for p in config["plugins"] if not (isinstance(p, dict) and "macros" in p)]
    config["nav"] = nav_with_runbooks(config["nav"], list_runbooks(ROOT / "runbooks"))
    config["theme"]["custom_dir"] = str(ROOT / config["theme"]["custom_dir"])
    plain = work / "plain" / "mkdocs.yml"
    plain.write_text(yaml.dump(config, Dumper=yaml.Dumper, sort_keys=False))
    return plain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="builds of each kind (default 7)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docs-bench-") as tmp:
        work = Path(tmp)
        plain = plain_project(work)
        pages = sum(1 for _ in (plain.parent / "docs").rglob("*.md"))
        real_times, plain_times = [], []
        mkdocs_build(ROOT / "mkdocs.yml", work / "warm")  # first build pays for cold disk caches
        for _ in range(args.runs):
            real_times.append(mkdocs_build(ROOT / "mkdocs.yml", work / "real-site"))
            plain_times.append(mkdocs_build(plain, work / "plain-site"))
        warm_plain = warm_build(plain, work / "warm-plain", args.runs)
        warm_real = warm_build(ROOT / "mkdocs.yml", work / "warm-real", args.runs)
    imports = import_costs(args.runs)
    real, base = statistics.median(real_times), statistics.median(plain_times)
    ratio = real / base
    print(f"pages: {pages}, runs: {args.runs} of each, alternating")
    print(f"plain MkDocs + Material:        median {base:.3f} s  ({', '.join(f'{t:.2f}' for t in plain_times)})")
    print(f"home-ops site (macros + hooks): median {real:.3f} s  ({', '.join(f'{t:.2f}' for t in real_times)})")
    print(f"ratio: {ratio:.2f}  (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})")
    print(f"with imports already done (one process, median build()): plain {warm_plain:.3f} s, "
          f"home-ops {warm_real:.3f} s, ratio {warm_real / warm_plain:.2f}")
    print(f"difference: {real - base:.3f} s a build; import time of each part (median, fresh process):")
    for label, seconds in imports:
        print(f"  {label:<30} {seconds:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
