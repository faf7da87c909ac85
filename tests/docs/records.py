"""Run records as the runner saves them, for the maintenance-log tests."""

from __future__ import annotations

import json
from pathlib import Path

PLANTED_RECORD = {
    "runbook": "worker-upgrade",
    "mode": "apply",
    "outcome": "stopped",
    "started": "2026-03-14T09:26:53+00:00",
    "exit_code": 1,
    "reason": "worker-2: drain refused by a PodDisruptionBudget; worker-2 uncordoned",
}


def write_record(directory: Path, name: str, homeops_metadata: dict | None) -> Path:
    """A saved record: a notebook whose metadata carries the runner's `homeops` dict."""
    metadata = {} if homeops_metadata is None else {"homeops": homeops_metadata}
    path = directory / name
    path.write_text(json.dumps({"cells": [], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))
    return path
