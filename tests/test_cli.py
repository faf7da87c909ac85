"""The `homeops` command as a whole: entry points and behaviour shared by every subcommand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_python_dash_m_and_the_console_script_are_the_same_command():
    module = subprocess.run([sys.executable, "-m", "homeops", "--help"], capture_output=True, text=True, cwd=ROOT)
    script = subprocess.run([str(Path(sys.executable).parent / "homeops"), "--help"],
                            capture_output=True, text=True, cwd=ROOT)
    assert module.returncode == script.returncode == 0
    for command in ("validate", "runbooks", "run", "rehearse", "twin"):
        assert command in module.stdout
    assert module.stdout == script.stdout


def test_a_reader_that_stops_early_gets_no_traceback():
    # Like `homeops runbooks | head -0`: the reader is gone before homeops writes a byte.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "homeops", "runbooks"], cwd=ROOT,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr
    assert "BrokenPipe" not in proc.stderr


def test_an_unknown_subcommand_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "homeops", "upgrade-everything"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "invalid choice: 'upgrade-everything'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_output_that_cannot_be_written_is_reported_not_a_crash():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "homeops", "runbooks"], cwd=ROOT,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1
    assert "homeops: cannot write the output: No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr
