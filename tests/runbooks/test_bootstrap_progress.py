"""The bootstrap is never silent for more than 15 s either: against a twin whose machines take tens of
seconds to install and whose etcd members and Flux objects come up slowly, at the default wait_timeout
and poll_interval, a line at least every 15 s, in the terminal and in the record (issue 17's rule).

Each wait of the bootstrap says what its looks see (`waits.wait_for`): the nodes installing, etcd's
learners, the Flux objects in their order, with the elapsed time of its timeout.
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
from tests.runbooks.twin_state import read_bootstrap_state

pytestmark = pytest.mark.slow

# Installing a machine takes this long in the twin; an etcd learner is promoted after half of it and a
# Flux object waits a tenth of it for each one before it in the dependency order.
REBOOT_SECONDS = 30.0


def test_a_slow_bootstrap_at_the_default_settings_is_never_silent_for_more_than_15_seconds(make_bootstrap):
    drill = make_bootstrap({"reboot_seconds": REBOOT_SECONDS})
    # The default wait_timeout (900 s) and poll_interval (10 s): no -p for either.
    argv = [sys.executable, "-m", "homeops", "--config", str(drill.config), "run", "bootstrap",
            "--twin", str(drill.twin), "--records", str(drill.records), "--apply"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=ROOT)

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    record = Path(out[-1].split(" — record: ")[-1])
    assert json.loads(record.read_text())["metadata"]["homeops"]["outcome"] == "completed"
    for where, lines in (("terminal", [line.strip() for line in out]),
                         ("record", [line.strip() for line in record_lines(record)])):
        assert longest_silence(lines) <= LONGEST_SILENCE, f"{where}:\n" + "\n".join(lines)
        text = "\n".join(lines)
        # What fills the slow waits: what their looks saw, with the elapsed time of the default timeout.
        for seen in (r"every node installed and answering on Talos \S+: \d of 5 up; cp-1 .+",
                     r"etcd: 2 members, none a learner: .+",
                     r"all \d+ Flux objects Ready, in dependency order: \d+ of \d+ Ready; next: .+"):
            assert re.search(rf"^\d\d:\d\d:\d\d waiting for {seen} \(\d+s of 900s\)$", text, re.M), (where, seen)
    setup = read_bootstrap_state(drill.twin)
    assert setup.in_maintenance == () and setup.flux_bootstrapped and setup.etcd_learners == ()
