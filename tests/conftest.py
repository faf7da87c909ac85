"""Fixtures every test directory may use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def cluster_file(tmp_path: Path) -> Path:
    """A private copy of the real cluster.yaml that a test may change."""
    copy = tmp_path / "cluster.yaml"
    shutil.copy(ROOT / "cluster.yaml", copy)
    return copy
