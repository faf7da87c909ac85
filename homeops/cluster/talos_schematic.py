"""The Talos Image Factory schematic of cluster.yaml's `talos.extensions`, and its ID.

The factory names a schematic by the SHA-256 of its YAML as Go's yaml.v3 writes it (4-space
indents, sequences indented): siderolabs/image-factory pkg/schematic `Schematic.ID()`; its test
vectors "empty" (376567...b4ba) and "config1" are reproduced by `schematic_yaml` in
tests/cluster/test_talos_schematic.py. Only official extensions are modelled; a schematic with more
customization (kernel arguments, META) has another ID, so a mismatch is a warning, not an error.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

EMPTY_SCHEMATIC_ID = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"


def schematic_yaml(extensions: Iterable[str] = (), extra_kernel_args: Iterable[str] = ()) -> str:
    """The schematic exactly as the factory hashes it (and as `talos/schematic.yaml` holds it)."""
    extensions, extra_kernel_args = list(extensions), list(extra_kernel_args)
    if not extensions and not extra_kernel_args:
        return "customization: {}\n"
    lines = ["customization:"]
    if extra_kernel_args:
        lines.append("    extraKernelArgs:")
        lines += [f"        - {arg}" for arg in extra_kernel_args]
    if extensions:
        lines += ["    systemExtensions:", "        officialExtensions:"]
        lines += [f"            - {name}" for name in extensions]
    return "\n".join(lines) + "\n"


def schematic_id(extensions: Iterable[str] = (), extra_kernel_args: Iterable[str] = ()) -> str:
    return hashlib.sha256(schematic_yaml(extensions, extra_kernel_args).encode()).hexdigest()
