"""Tools the bootstrap runs on the workstation: sops, age-keygen, dig.

sops writes files (plan mode only shows it, through the gate); age-keygen -y and dig only read.
"""

from __future__ import annotations

from pathlib import Path

from homeops.gate import Gate
from homeops.tools import process

TIMEOUT = 60.0
DNS_TIMEOUT = 30.0


def sops_argv(config: Path, *args: str) -> list[str]:
    # sops looks for .sops.yaml from its working directory up; the rendered one is named outright.
    return ["sops", "--config", str(config), *args]


def sops_encrypt(gate: Gate, config: Path, plain: Path, target: Path, *, why: str = "") -> None:
    """Encrypt `plain` into `target` by the creation rule for `target`'s name (`--filename-override`:
    sops picks the rule by the input's name, which matches none; sops v3.10.2 README)."""
    gate.change(sops_argv(config, "--encrypt", "--filename-override", str(target), "--output", str(target),
                          str(plain)), timeout=TIMEOUT, why=why)


def sops_decrypt(gate: Gate, config: Path, encrypted: Path, plain: Path, *, why: str = "") -> None:
    """Decrypt into a file (`--output`): the clear text never passes through this process's pipes."""
    gate.change(sops_argv(config, "--decrypt", "--output", str(plain), str(encrypted)), timeout=TIMEOUT, why=why)


def age_public_keys(key_file: Path) -> set[str]:
    """`age-keygen -y FILE` prints the public key of each secret key in it (never a secret one)."""
    return set(process.run(["age-keygen", "-y", str(key_file)], timeout=TIMEOUT).stdout.split())


def dns_soa(server: str, name: str) -> str:
    """The SOA record `server` gives for `name` (`dig +short`), empty when it gives none."""
    argv = ["dig", "+short", "+time=2", "+tries=2", f"@{server}", name, "SOA"]
    return process.run(argv, timeout=DNS_TIMEOUT).stdout.strip()
