"""Installs are locked: every dependency pinned with hashes, and Renovate able to refresh the locks.

Renovate's pip-compile manager re-runs the command written in a lock file's header; it refuses
a header it cannot read (fixtures/renovate-pip-compile.json holds its rules, from upstream).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = sorted((ROOT / "requirements").glob("*.lock"))
RENOVATE_RULES = json.loads((Path(__file__).parent / "fixtures" / "renovate-pip-compile.json").read_text())


def header_command(lock: Path) -> list[str]:
    """The command Renovate reads from the header, split as its shlex does."""
    pattern = RENOVATE_RULES["constraintLineRegex"].replace("(?<", "(?P<")
    match = re.match(pattern, lock.read_text())
    assert match, f"{lock.name}: Renovate finds no command in the header"
    return [match["command"], *shlex.split(match["arguments"] or "")]


def renovate_json() -> dict:
    return json.loads((ROOT / "renovate.json").read_text())


def test_both_installs_come_from_a_lock_file_with_hashes():
    assert [lock.name for lock in LOCKS] == ["docs.lock", "test.lock"]
    makefile = (ROOT / "Makefile").read_text()
    for lock in LOCKS:
        assert f"--require-hashes -r requirements/{lock.name}" in makefile


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_requirement_is_pinned_to_one_version_with_a_hash(lock: Path):
    lines = lock.read_text().splitlines()
    requirements = [(i, line) for i, line in enumerate(lines) if line and not line.startswith((" ", "#"))]

    assert len(requirements) > 10
    for i, line in requirements:
        assert re.fullmatch(r"[A-Za-z0-9._-]+(\[[^\]]+\])?==[^=\s;]+( ; .+)? \\", line), \
            f"{lock.name}: {line!r} is not one pinned version"
        assert re.fullmatch(r"    --hash=sha256:[0-9a-f]{64}( \\)?", lines[i + 1]), f"{lock.name}: {line!r} has no hash"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_renovate_can_rerun_the_header_command(lock: Path):
    command = header_command(lock)
    with_arguments = set(RENOVATE_RULES["uvOptionsWithArguments"])
    allowed = with_arguments | set(RENOVATE_RULES["uvOptionsWithoutArguments"])

    assert command[:3] == ["uv", "pip", "compile"]
    options = [arg for arg in command[3:] if arg.startswith("-")]
    sources = [arg for arg in command[3:] if not arg.startswith("-")]
    assert sources == ["pyproject.toml"]
    for option in options:
        name = option.split("=", 1)[0]
        assert name in allowed and name not in RENOVATE_RULES["disallowedOptions"], f"Renovate refuses {option}"
        assert (name in with_arguments) == ("=" in option), f"Renovate needs --option=value, not {option}"
    assert f"--output-file=requirements/{lock.name}" in options
    assert "--generate-hashes" in options


def test_make_lock_writes_the_headers_renovate_reruns():
    recipe = (ROOT / "Makefile").read_text().split("\nlock:", 1)[1].split("\n\n", 1)[0]
    commands = [shlex.split(line.strip().replace("$(BIN)/", "")) for line in recipe.splitlines()[1:]]

    assert sorted([arg for arg in command if arg != "-q"] for command in commands) == sorted(
        header_command(lock) for lock in LOCKS)


def test_renovate_refreshes_the_lock_files_through_pyproject_toml():
    config = renovate_json()
    patterns = [p.strip("/") for p in config["pip-compile"]["managerFilePatterns"]]

    for lock in LOCKS:
        assert any(re.search(p, f"requirements/{lock.name}") for p in patterns)
    assert not any(re.search(p, "pyproject.toml") for p in patterns)
    # pip-compile reads pyproject.toml itself; pep621 on top would propose every bump twice
    assert config["pep621"] == {"enabled": False}
