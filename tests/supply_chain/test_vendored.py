"""The vendored Mermaid bundle is the version requirements/vendored.json records, byte for byte,
and a Renovate bump of that version is fetched and recorded by `make vendor`."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import re
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("vendor", ROOT / "requirements" / "vendor.py")
vendor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vendor)

MANIFEST = json.loads((ROOT / "requirements" / "vendored.json").read_text())


def test_every_vendored_file_has_its_recorded_sha256():
    assert "docs/assets/javascripts/mermaid.min.js" in MANIFEST["mermaid"]["files"]
    assert vendor.mismatches(MANIFEST) == []


def test_the_bundle_is_the_recorded_version():
    bundle = (ROOT / "docs/assets/javascripts/mermaid.min.js").read_text()

    # mermaid keeps its release in the bundle as {version:"X.Y.Z"} (what mermaid.version() returns)
    assert re.findall(r'\{version:"(\d+\.\d+\.\d+)"\}', bundle) == [MANIFEST["mermaid"]["version"]]


def test_a_changed_file_is_named_with_what_to_run(tmp_path: Path):
    files = {relative: tmp_path / relative for relative in MANIFEST["mermaid"]["files"]}
    for relative, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((ROOT / relative).read_bytes())
    files["docs/assets/javascripts/mermaid.min.js"].write_text("/* not mermaid */")

    [problem] = vendor.mismatches(MANIFEST, root=tmp_path)

    assert problem.startswith("docs/assets/javascripts/mermaid.min.js: sha256 ")
    assert problem.endswith("(mermaid 11.17.2): run `make vendor`")


def test_renovate_sees_the_vendored_version():
    config = json.loads((ROOT / "renovate.json").read_text())
    [manager] = [m for m in config["customManagers"] if any("vendored" in p for p in m["managerFilePatterns"])]
    pattern = re.compile(manager["matchStrings"][0].replace("(?<", "(?P<"))

    found = [m.groupdict() for m in pattern.finditer((ROOT / "requirements" / "vendored.json").read_text())]

    assert found == [{"depName": "mermaid", "datasource": "npm", "currentValue": MANIFEST["mermaid"]["version"]}]


def fake_tarball(path: Path, members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def test_install_writes_the_files_from_the_tarball_and_records_their_sha256(tmp_path: Path):
    entry = {"datasource": "npm", "version": "99.0.0", "files": {
        "assets/mermaid.min.js": {"from": "package/dist/mermaid.min.js", "sha256": "old"},
        "assets/LICENSE.txt": {"from": "package/LICENSE", "sha256": "old"}}}
    (tmp_path / "assets").mkdir()
    tarball = tmp_path / "mermaid-99.0.0.tgz"
    fake_tarball(tarball, {"package/dist/mermaid.min.js": b'{version:"99.0.0"}', "package/LICENSE": b"MIT"})

    vendor.install("mermaid", entry, tarball, root=tmp_path)

    assert (tmp_path / "assets/mermaid.min.js").read_bytes() == b'{version:"99.0.0"}'
    assert entry["files"]["assets/mermaid.min.js"]["sha256"] == hashlib.sha256(b'{version:"99.0.0"}').hexdigest()
    assert entry["files"]["assets/LICENSE.txt"]["sha256"] == hashlib.sha256(b"MIT").hexdigest()


def test_a_tarball_is_held_to_the_registry_integrity(tmp_path: Path):
    data = fake_tarball(tmp_path / "t.tgz", {"package/LICENSE": b"MIT"})
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()

    assert vendor.matches_integrity(data, integrity)
    assert not vendor.matches_integrity(data + b"x", integrity)
    assert not vendor.matches_integrity(data, "sha1-" + integrity[7:])
