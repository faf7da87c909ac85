"""A value is exactly its format: a final line break or a space around it is an error, said plainly.

`$` in a regular expression also matches before a final newline, so `name: "worker-2\n"` once
passed and ended up in node names and the installer image.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from homeops.cluster.loader import check_text

VALID = (Path(__file__).parent / "fixtures" / "version" / "valid.yaml").read_text()

# (line as written in the valid file, the key's value, the problem's code)
FIELDS = [
    ("  name: home-ops", "home-ops", "dns-label"),
    ("  domain: example.com", "example.com", "domain"),
    ("  talos: v1.11.1", "v1.11.1", "version"),
    ("  installer: factory.talos.dev/installer", "factory.talos.dev/installer", "image-repository"),
    ("  schematic_id: 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
     "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba", "schematic-id"),
    ("  node_cidr: 10.0.0.0/16", "10.0.0.0/16", "cidr-format"),
    ("  control_plane_vip: 10.0.50.50", "10.0.50.50", "ipv4-address"),
]
AROUND = [("{}\n", "ends with a line break"), (" {}", "starts with whitespace"), ("{}\t", "ends with whitespace")]


@pytest.mark.parametrize("written, value, code", FIELDS, ids=[f[2] for f in FIELDS])
@pytest.mark.parametrize("shape, said", AROUND, ids=["newline", "leading-space", "trailing-tab"])
def test_whitespace_around_a_value_fails_its_format_with_a_hint(written, value, code, shape, said):
    assert written in VALID
    key = written.split(":")[0]
    quoted = shape.format(value).encode("unicode_escape").decode()
    text = VALID.replace(written, f'{key}: "{quoted}"', 1)
    line = VALID[:VALID.index(written)].count("\n") + 1

    checked = check_text(text)

    [problem] = checked.errors
    assert (problem.code, problem.line) == (code, line)
    assert f"(it {said}: remove it)" in problem.message
    assert checked.cluster is None


def test_the_valid_file_is_valid():
    assert check_text(VALID).problems == ()
