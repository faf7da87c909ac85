"""apply-config's reboot path is never silent for more than 15 s: a worker rebooting into a configuration
that needs it (drained, `--mode reboot`, its new boot, clean PGs), at the default wait_timeout and
poll_interval, against a twin whose reboot takes tens of seconds, prints a line at least every 15 s, in
the terminal and in the record, each naming what the run waits for and what it sees.
"""

from __future__ import annotations

import re

import pytest

from tests.runbooks.test_apply_config import add_proxy_env, boots, project
from tests.runbooks.test_power_progress import WAITED, run_at_the_default_settings
from tests.runbooks.silences import LONGEST_SILENCE, longest_silence

pytestmark = pytest.mark.slow

REBOOT_SECONDS = 30.0  # Ceph recovers in half of it once the node is back


def test_a_worker_rebooting_into_its_new_configuration_is_never_silent_for_more_than_15_seconds(make_drill):
    drill = project(make_drill, {"reboot_seconds": REBOOT_SECONDS})
    add_proxy_env(drill)
    before = boots(drill)

    seen = run_at_the_default_settings(drill, "apply-config", "nodes=worker-1")

    for where, lines in zip(("terminal", "record"), seen):
        assert longest_silence(lines) <= LONGEST_SILENCE, f"{where}:\n" + "\n".join(lines)
        text = "\n".join(lines)
        # Each pod the drain evicts, as kubectl prints it.
        assert re.search(r"^\d\d:\d\d:\d\d kubectl: evicting pod rook-ceph/rook-ceph-osd-\S+$", text, re.M), where
        # The reboot: the node as Kubernetes shows it and whether its boot ID is new yet.
        assert re.search(rf"^\d\d:\d\d:\d\d waiting for worker-1 Ready with a new boot ID: worker-1 Ready=\w+, "
                         rf"boot ID unchanged {WAITED}$", text, re.M), where
        # Ceph recovering: how many PGs are not clean, of how many, falling as it recovers.
        counts = [int(n) for n in re.findall(r"^\d\d:\d\d:\d\d waiting for every Ceph PG active\+clean: (\d+) of 137 "
                                             rf"PGs not active\+clean \(.+\) {WAITED}$", text, re.M)]
        assert counts and counts == sorted(counts, reverse=True) and counts[-1] < counts[0], (where, counts)
    after = boots(drill)
    assert after["worker-1"] != before["worker-1"]
    assert {name: boot for name, boot in after.items() if name != "worker-1"} == \
        {name: boot for name, boot in before.items() if name != "worker-1"}
    worker = drill.nodes()["worker-1"]
    assert (worker.unschedulable, worker.is_ready) == (False, True)
    assert drill.osd_dump().host_flags == {} and drill.ceph_status().pgs_clean
