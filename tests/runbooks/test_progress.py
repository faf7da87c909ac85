"""No step stays silent: a worker upgrade at the default settings, against a twin whose reboot takes
tens of seconds, prints a line at least every 15 s, in the terminal and in the record.

What fills the time is judged, as an operator reads it: each pod the drain evicts (as kubectl
prints it), talosctl's own progress or the node as Kubernetes shows it while it reboots, with the
elapsed time, and Ceph's unclean PGs with their count while it recovers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runbooks.conftest import ROOT
from tests.runbooks.silences import LONGEST_SILENCE, longest_silence, record_lines

pytestmark = pytest.mark.slow

REBOOT_SECONDS = 30.0


def test_a_long_reboot_at_the_default_settings_is_never_silent_for_more_than_15_seconds(make_drill):
    drill = make_drill({"talos_version": "v1.11.0", "reboot_seconds": REBOOT_SECONDS})
    # The default wait_timeout (900 s) and poll_interval (10 s): no -p for either.
    argv = [sys.executable, "-m", "homeops", "--config", str(drill.config), "run", "worker-upgrade",
            "--twin", str(drill.twin), "--records", str(drill.records), "-p", "nodes=worker-1", "--apply"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=ROOT)

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    record = Path(out[-1].split(" — record: ")[-1])
    assert json.loads(record.read_text())["metadata"]["homeops"]["outcome"] == "completed"
    said_lines = [line.strip() for line in out]
    for where, lines in (("terminal", said_lines), ("record", [line.strip() for line in record_lines(record)])):
        assert longest_silence(lines) <= LONGEST_SILENCE, f"{where}:\n" + "\n".join(lines)
        text = "\n".join(lines)
        # Each pod the drain evicts, as kubectl prints it.
        assert re.search(r"^\d\d:\d\d:\d\d kubectl: evicting pod rook-ceph/rook-ceph-osd-\S+$", text, re.M), where
        # talosctl's own progress lines, as it prints them on stderr.
        assert re.search(r"^\d\d:\d\d:\d\d talosctl: .*10\.0\.10\.21.*", text, re.M), where
        # While talosctl is silent: the node as Kubernetes shows it, with the elapsed time.
        assert re.search(r"^\d\d:\d\d:\d\d talosctl still running \(\d+s of 960s\): worker-1 NotReady "
                         r"\(Ready=\w+\): rebooting$", text, re.M), where
        # Ceph recovering: how many PGs are not clean, of how many, falling as it recovers (137 -> ... -> clean).
        counts = [int(n) for n in re.findall(r"^\d\d:\d\d:\d\d waiting for every Ceph PG active\+clean: (\d+) of 137 "
                                             r"PGs not active\+clean \(.+\) \(\d+s of 900s\)$", text, re.M)]
        assert counts and counts == sorted(counts, reverse=True) and counts[-1] < counts[0], (where, counts)
    worker = drill.nodes()["worker-1"]
    assert (worker.talos_version, worker.unschedulable, worker.is_ready) == ("v1.11.1", False, True)
    assert drill.osd_dump().host_flags == {} and drill.ceph_status().pgs_clean
