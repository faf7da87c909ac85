"""Fixtures every test directory may use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_redaction_memo() -> None:
    """Redaction remembers what it redacted (records are saved again after every cell); a test must see
    it computed afresh, or it would pass on an answer an earlier test (or mutmut's unmutated run,
    whose process the mutants' test runs fork from) left in the memo."""
    from homeops.redaction import notebook, text

    text._remembered.cache_clear()
    notebook._cell_text.cache_clear()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def cluster_file(tmp_path: Path) -> Path:
    """A private copy of the real cluster.yaml that a test may change."""
    copy = tmp_path / "cluster.yaml"
    shutil.copy(ROOT / "cluster.yaml", copy)
    return copy
