"""The Image Factory schematic ID, held to the factory's own test vectors.

siderolabs/image-factory pkg/schematic/schematic_test.go (commit 26b95cacb0846378fa5ed75e397eb732d6500c0a):
"empty" -> 376567...b4ba, "config1" (extraKernelArgs noapic, nolapic) -> 9cba8e...a06c.
"""

from __future__ import annotations

from homeops.cluster.talos_schematic import EMPTY_SCHEMATIC_ID, schematic_id, schematic_yaml


def test_the_empty_schematic_has_the_factorys_empty_id():
    assert schematic_id() == EMPTY_SCHEMATIC_ID == "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"


def test_kernel_arguments_hash_as_the_factorys_config1_vector():
    assert schematic_id(extra_kernel_args=["noapic", "nolapic"]) == (
        "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c"
    )


def test_extensions_are_official_extensions_under_system_extensions():
    assert schematic_yaml(["siderolabs/zfs"]) == (
        "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/zfs\n"
    )
    assert schematic_id(["siderolabs/zfs"]) != EMPTY_SCHEMATIC_ID
