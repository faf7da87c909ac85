"""Opening what `sealing` encrypted: the operator's age identity, found where SOPS finds it, and
decryption that either proves a file opens (nothing written) or writes its plaintext into the
scratch directory.

Where the identity comes from (the first that applies):
- the runbook's `identity` parameter: a file of age identities, and nothing else;
- otherwise every one of SOPS's own places that exists (getsops/sops v3.10.2 README, "Encrypting
  using age"): the variable SOPS_AGE_KEY (the identities themselves), the file SOPS_AGE_KEY_FILE,
  and `$XDG_CONFIG_HOME/sops/age/keys.txt` (`~/.config/...`), as `bootstrap_files.age_key_file` says.
An identity is never printed: only where it was read from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyrage
from pyrage import x25519

from homeops.procedures.bootstrap_files import age_key_file

KEY_ENV = "SOPS_AGE_KEY"
KEY_FILE_ENV = "SOPS_AGE_KEY_FILE"
SECRET_KEY_PREFIX = "AGE-SECRET-KEY-"


class IdentityMissing(ValueError):
    """No age identity where the operator said, or in any of SOPS's places."""


class WontOpen(ValueError):
    """The file does not decrypt with these identities (another key, or a damaged file)."""


@dataclass(frozen=True)
class Identities:
    keys: tuple  # x25519.Identity: never shown
    origins: tuple[str, ...]  # where they were read from (paths, variable names)

    def describe(self) -> str:
        return f"{len(self.keys)} age identit{'y' if len(self.keys) == 1 else 'ies'} from {', '.join(self.origins)}"


def parse_identities(text: str, origin: str) -> list:
    """The AGE-SECRET-KEY lines of `text` (comments and blank lines skipped); a bad one is named by its line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(SECRET_KEY_PREFIX):
            raise IdentityMissing(f"line {number} of {origin} is not an age identity (a line starting {SECRET_KEY_PREFIX})")
        try:
            found.append(x25519.Identity.from_str(line))
        except pyrage.IdentityError as exc:
            raise IdentityMissing(f"line {number} of {origin} is not an age identity ({exc})") from None
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise IdentityMissing(f"cannot read the age identity in {path} ({exc.strerror or exc})") from None


def find_identities(identity: str | Path | None = None, environ: dict | None = None) -> Identities:
    env = os.environ if environ is None else environ
    if identity:
        path = Path(identity).expanduser()
        keys = parse_identities(_read(path), str(path))
        if not keys:
            raise IdentityMissing(f"{path} holds no age identity (no line starting {SECRET_KEY_PREFIX})")
        return Identities(tuple(keys), (str(path),))
    keys, origins, looked = [], [], []
    if env.get(KEY_ENV):
        keys += parse_identities(env[KEY_ENV], KEY_ENV)
        origins.append(KEY_ENV)
    looked.append(KEY_ENV)
    path = age_key_file(env)  # SOPS_AGE_KEY_FILE, else the default keys.txt
    looked.append(str(path))
    if path.is_file():
        keys += parse_identities(_read(path), str(path))
        origins.append(str(path))
    if not keys:
        raise IdentityMissing("no age identity found (looked in " + ", ".join(looked) + "): pass -p identity=FILE, "
                              f"the file of the key whose public key is secrets.age_public_key")
    return Identities(tuple(keys), tuple(origins))


def _why(path: Path, identities: Identities, error: Exception) -> WontOpen:
    # rage says "No matching keys found" when no identity is a recipient of the file.
    if "no matching keys" in str(error).lower():
        return WontOpen(f"{path} does not decrypt with {identities.describe()} (it was encrypted to another key)")
    return WontOpen(f"{path} does not decrypt with {identities.describe()} (it is damaged or not an age file: "
                    f"{str(error).lower()})")


class _Counter:
    """A sink that keeps nothing: decrypting into it proves the file opens, and counts its bytes."""

    def __init__(self):
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def check_opens(path: Path, identities: Identities) -> int:
    """The plaintext's size when `path` decrypts whole (age authenticates every chunk); nothing written."""
    sink = _Counter()
    with open(path, "rb") as source:
        try:
            pyrage.decrypt_io(source, sink, list(identities.keys))
        except (pyrage.DecryptError, OSError) as exc:  # rage's stream reports a failed chunk as an OSError
            raise _why(path, identities, exc) from None
    return sink.size


def open_into(path: Path, target: Path, identities: Identities) -> int:
    """Decrypt `path` into `target` (a new 0600 file, meant for the scratch directory); its size."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as sink, open(path, "rb") as source:
            pyrage.decrypt_io(source, sink, list(identities.keys))
    except (pyrage.DecryptError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise _why(path, identities, exc) from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target.stat().st_size
