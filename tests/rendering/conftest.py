"""A private copy of the project's rendering inputs and outputs that a test may change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from homeops.cli import main
from homeops.rendering import tree

ROOT = Path(__file__).resolve().parents[2]


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file under the rendered directories and the project root, by relative path."""
    files = {}
    for path in sorted(project.rglob("*")):
        if path.is_file() and "templates" not in path.relative_to(project).parts:
            files[path.relative_to(project).as_posix()] = path.read_bytes()
    return files


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(ROOT / "cluster.yaml", copy / "cluster.yaml")
    shutil.copytree(ROOT / tree.TEMPLATES, copy / tree.TEMPLATES)
    for directory in tree.OWNED_DIRECTORIES:
        shutil.copytree(ROOT / directory, copy / directory)
    for name in tree.OWNED_FILES:
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, copy / name)
    return copy


def render(project: Path, *arguments: str) -> int:
    return main(["--config", str(project / "cluster.yaml"), "render", *arguments])
