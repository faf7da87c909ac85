"""Whatever a path names, reading it ends at once with text or one clear problem."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from homeops.safe_yaml.source import read_file


def read_in_time(path: Path, seconds: float = 10.0):
    """read_file(path), failing the test instead of hanging when the read blocks."""
    result = []
    reader = threading.Thread(target=lambda: result.append(read_file(path, "f.yaml")), daemon=True)
    reader.start()
    reader.join(seconds)
    assert result, f"reading {path} blocked for {seconds} s"
    return result[0]


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path):
    fifo = tmp_path / "cluster.yaml"
    os.mkfifo(fifo)

    source = read_in_time(fifo)

    assert [str(p) for p in source.problems] == [
        "f.yaml:1:1: (top level): cannot read the file: it is a named pipe (FIFO), not a regular file"]
    assert source.data is None


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_device_is_refused_before_it_is_read(tmp_path: Path):
    link = tmp_path / "cluster.yaml"
    link.symlink_to("/dev/zero")  # a link is followed, and what it points to is judged

    [problem] = read_in_time(link).problems

    assert problem.code == "unreadable-file"
    assert problem.message == "cannot read the file: it is a character device, not a regular file"


def test_a_directory_is_refused(tmp_path: Path):
    [problem] = read_in_time(tmp_path).problems

    assert problem.message == "cannot read the file: it is a directory, not a regular file"


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path):
    big = tmp_path / "big.yaml"
    big.write_text("".join(f"k{i}: 1\n" for i in range(1000)))

    [problem] = read_file(big, "big.yaml", max_bytes=100).problems

    assert problem.message == "cannot read the file: it is larger than 100 bytes: is it the right file?"
    assert read_file(big, "big.yaml", max_bytes=10_000).problems == []


def test_non_utf8_bytes_are_reported_at_their_line_and_column(tmp_path: Path):
    latin1 = tmp_path / "scenario.yaml"
    latin1.write_bytes(b"faults:\n  - fault: never-ready\n    node: caf\xe9\n")

    [problem] = read_file(latin1, "scenario.yaml", what="the scenario file").problems

    assert str(problem) == ("scenario.yaml:3:14: (top level): cannot read the scenario file: "
                            "it is not UTF-8 text (byte 0xe9)")


def test_a_missing_file_says_so(tmp_path: Path):
    [problem] = read_file(tmp_path / "nope.yaml", "nope.yaml").problems

    assert problem.message == "cannot read the file: No such file or directory"


def test_homeops_validate_on_a_named_pipe_answers_at_once(tmp_path: Path):
    fifo = tmp_path / "cluster.yaml"
    os.mkfifo(fifo)

    done = subprocess.run([sys.executable, "-m", "homeops", "validate", "cluster.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert done.stderr == ("cluster.yaml:1:1: (top level): cannot read the file: it is a named pipe (FIFO), "
                           "not a regular file\ncluster.yaml: invalid: 1 error, 0 warnings\n")
