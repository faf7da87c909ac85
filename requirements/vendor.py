"""Files vendored from a package registry (the Mermaid bundle): check them, or fetch the recorded version.

`requirements/vendored.json` records, for each package, its registry, version and the files
taken from its tarball with their sha256. Renovate bumps the version there (renovate.json);
then this script fetches that version, checks the tarball against the registry's own
integrity hash, writes the files and records their new sha256:

    .venv/bin/python requirements/vendor.py            # fetch what vendored.json says (make vendor)
    .venv/bin/python requirements/vendor.py --check    # do the files match vendored.json? (the tests do this)
    .venv/bin/python requirements/vendor.py --tarball mermaid-11.17.2.tgz   # from a tarball at hand (npm pack)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "requirements" / "vendored.json"
NPM_REGISTRY = "https://registry.npmjs.org"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mismatches(manifest: dict, root: Path = ROOT) -> list[str]:
    """Every vendored file that is missing or differs from its recorded sha256."""
    found = []
    for package, entry in manifest.items():
        for relative, recorded in entry["files"].items():
            path = root / relative
            if not path.is_file():
                found.append(f"{relative}: missing ({package} {entry['version']})")
            elif sha256(path) != recorded["sha256"]:
                found.append(f"{relative}: sha256 {sha256(path)} is not the recorded {recorded['sha256']} "
                             f"({package} {entry['version']}): run `make vendor`")
    return found


def npm_tarball(package: str, version: str) -> bytes:
    """The package's tarball, checked against the sha512 integrity the registry publishes for it."""
    with urllib.request.urlopen(f"{NPM_REGISTRY}/{package}/{version}", timeout=60) as response:
        dist = json.load(response)["dist"]
    with urllib.request.urlopen(dist["tarball"], timeout=300) as response:
        data = response.read()
    if not matches_integrity(data, dist["integrity"]):
        raise SystemExit(f"{package} {version}: the tarball does not match the registry's integrity {dist['integrity']}")
    return data


def matches_integrity(data: bytes, integrity: str) -> bool:
    """Whether `data` has the Subresource-Integrity hash npm publishes (`sha512-BASE64`)."""
    algorithm, _, expected = integrity.partition("-")
    return algorithm == "sha512" and base64.b64encode(hashlib.sha512(data).digest()).decode() == expected


def install(package: str, entry: dict, tarball: Path, root: Path = ROOT) -> None:
    """Write the entry's files from `tarball` and record their sha256 in `entry`."""
    with tarfile.open(tarball) as archive:
        for relative, recorded in entry["files"].items():
            member = archive.extractfile(recorded["from"])
            if member is None:
                raise SystemExit(f"{package} {entry['version']}: {recorded['from']} is not a file in {tarball.name}")
            target = root / relative
            target.write_bytes(member.read())
            recorded["sha256"] = sha256(target)
            print(f"{relative}: {package} {entry['version']}, sha256 {recorded['sha256']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare the files with vendored.json")
    parser.add_argument("--tarball", type=Path, help="install from this tarball instead of the registry")
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text())
    if args.check:
        problems = mismatches(manifest)
        print("\n".join(problems) or "every vendored file matches requirements/vendored.json")
        return 1 if problems else 0
    for package, entry in manifest.items():
        if entry["datasource"] != "npm":
            raise SystemExit(f"{package}: only npm packages can be fetched, not {entry['datasource']}")
        if args.tarball is not None:
            install(package, entry, args.tarball)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            download = Path(tmp) / f"{package}-{entry['version']}.tgz"
            download.write_bytes(npm_tarball(package, entry["version"]))
            install(package, entry, download)
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
