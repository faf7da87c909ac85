"""Building the site from a test: a project copy, a `mkdocs build --strict` run, reading the result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_SECONDS = 300
# What a site build reads; `homeops` is linked rather than copied (mkdocs.yml watches it).
SITE_SOURCES = ("mkdocs.yml", "docs", "macros", "cluster.yaml", "runbooks", "templates")
SITE_ENV = ("HOMEOPS_CONFIG", "HOMEOPS_RECORDS", "HOMEOPS_SITE_URL")


@dataclass(frozen=True)
class Build:
    returncode: int
    output: str  # stdout and stderr together: MkDocs logs to stderr


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in SITE_SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)
    (dest / "runbooks").mkdir(exist_ok=True)
    # Empty: a test gives its records with HOMEOPS_RECORDS. mkdocs.yml watches records/, so it must exist.
    (dest / "records").mkdir(exist_ok=True)
    (dest / "homeops").symlink_to(ROOT / "homeops", target_is_directory=True)
    return dest


def build_site(project: Path, site_dir: Path, strict: bool = True, **env_overrides: str) -> Build:
    env = {k: v for k, v in os.environ.items() if k not in SITE_ENV}
    env.update(NO_MKDOCS_2_WARNING="1", **env_overrides)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict" if strict else "--no-strict",
         "-f", str(project / "mkdocs.yml"), "-d", str(site_dir)],
        cwd=project, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False,
    )
    return Build(done.returncode, done.stdout + done.stderr)


def build_in_process(project: Path, site_dir: Path) -> dict[str, str]:
    """A build in this process, as `mkdocs serve` runs them (strict: mkdocs.yml says so); what it published."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    build(load_config(str(project / "mkdocs.yml"), site_dir=str(site_dir)))
    return published_files(site_dir)


def published_files(site_dir: Path) -> dict[str, str]:
    """What a reader or a search engine gets: every page, the search index and the sitemap."""
    files = sorted(site_dir.rglob("*.html")) + [site_dir / "search" / "search_index.json", site_dir / "sitemap.xml"]
    return {p.relative_to(site_dir).as_posix(): p.read_text(encoding="utf-8") for p in files}


def page_html(site_dir: Path, url_path: str) -> str:
    return (site_dir / url_path / "index.html").read_text(encoding="utf-8")
