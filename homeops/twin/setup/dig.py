"""The twin's `dig`: k8s-gateway's answer for the cluster's domain, once Flux has deployed it."""

from __future__ import annotations

import sys

from homeops.twin import cluster, output
from homeops.twin.failure import ToolFailure, answer
from homeops.twin.setup import progress

# dig's own words when nothing answers (exit 9).
NO_ANSWER = ";; connection timed out; no servers could be reached"


def main(argv: list[str], twin_dir: str) -> int:
    return answer(_run, argv, twin_dir, not_a_twin="")


def _run(argv: list[str], twin_dir: str) -> int:
    server = next((a[1:] for a in argv if a.startswith("@")), None)
    words = [a for a in argv if not a.startswith(("@", "+"))]
    name, record = (words + ["", "A"])[:2]
    current, _ = cluster.observe(twin_dir)
    gateway = next((lb["address"] for lb in current["cluster"]["load_balancers"] if lb["name"] == "k8s-gateway"), None)
    if server is None or server != gateway or not progress.flux_ready(current):
        raise ToolFailure("", code=9, stdout=NO_ANSWER + "\n")
    domain = current["cluster"]["domain"]
    if record.upper() == "SOA" and name.rstrip(".") == domain:
        output.write(sys.stdout, f"ns.dns.{domain}. hostmaster.{domain}. 1 7200 1800 86400 3600")
    return 0
