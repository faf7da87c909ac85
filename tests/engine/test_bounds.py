"""How long a cell may run and how long the maintenance lock lasts, by default and when given."""

from __future__ import annotations

from pathlib import Path

from engine_support import NOTEBOOKS
from homeops.catalog import read_runbook
from homeops.runner.execute import RunRequest

SLOW = read_runbook(NOTEBOOKS / "slow.ipynb")  # wait_timeout = 60, two code cells + the injected one


def request(**overrides) -> RunRequest:
    fields = dict(runbook=SLOW, values={}, config=Path("/c.yaml"), apply=True, records_dir=Path("/r"), nodes=5)
    return RunRequest(**(fields | overrides))


def test_a_cell_may_wait_through_every_phase_of_every_node_by_default():
    assert request().effective_cell_timeout() == 60 * 5 * 5 + 120
    assert request(values={"wait_timeout": 10}).effective_cell_timeout() == 10 * 5 * 5 + 120
    assert request(nodes=1).effective_cell_timeout() == 60 * 5 * 1 + 120


def test_the_cell_timeout_given_on_the_command_line_wins():
    assert request(cell_timeout=2.5).effective_cell_timeout() == 2.5


def test_the_lock_is_a_short_lease_whatever_the_run_may_last():
    # Renewed in the background: a runner that dies blocks others for one lease, not for the whole run.
    assert request().lock_duration_seconds() == 60
    assert request(values={"wait_timeout": 3600}).lock_duration_seconds() == 60
    assert request(lock_seconds=900).lock_duration_seconds() == 900
