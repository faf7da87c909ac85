"""What apply mode shows and passes on: the note, the input, and the line on screen before the command starts."""

from __future__ import annotations

import io
import json
import re

from homeops import gate as gate_module
from homeops.gate import Gate
from homeops.tools.process import Completed


class Events(io.StringIO):
    """An output stream that logs each write and flush into `log`, beside the commands run."""

    def __init__(self, log: list[str]):
        super().__init__()
        self.log = log

    def write(self, text: str) -> int:
        self.log.append(f"write {text!r}")
        return super().write(text)

    def flush(self) -> None:
        self.log.append("flush")
        super().flush()


def test_apply_shows_the_why_note_on_the_run_line(fake_tools):
    fake_tools.respond(["kubectl", "cordon", "worker-1"], stdout="node/worker-1 cordoned\n")
    out = io.StringIO()

    Gate(apply=True, out=out).change(["kubectl", "cordon", "worker-1"], timeout=5, why="keep new pods off")

    assert re.match(r"\d\d:\d\d:\d\d RUN: kubectl cordon worker-1  # keep new pods off\n", out.getvalue())


def test_apply_passes_the_input_to_the_command(fake_tools):
    lease = json.dumps({"kind": "Lease", "metadata": {"name": "homeops-maintenance"}})
    fake_tools.respond(["kubectl", "create", "-f", "-"], stdout="lease.coordination.k8s.io/homeops-maintenance created\n")

    Gate(apply=True, out=io.StringIO()).change(["kubectl", "create", "-f", "-"], timeout=5, input=lease)

    stdin = [json.loads(line)["stdin"] for line in (fake_tools.bin_dir / "calls.jsonl").read_text().splitlines()]
    assert stdin == [lease]


def test_the_run_line_is_flushed_before_the_command_starts(monkeypatch):
    """A command that hangs must already be on the screen (and in the record) while it hangs."""
    log: list[str] = []

    def run(argv, *, timeout, input=None, **follow):
        log.append(f"run {argv}")
        return Completed(tuple(argv), 0, "", "")

    monkeypatch.setattr(gate_module.process, "run", run)

    Gate(apply=True, out=Events(log)).change(["kubectl", "cordon", "worker-1"], timeout=5)

    assert log.index("flush") < log.index("run ['kubectl', 'cordon', 'worker-1']")
    assert log[:log.index("flush")] != [] and all(e.startswith("write") for e in log[:log.index("flush")])
