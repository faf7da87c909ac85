"""Fake cluster tools on PATH that answer from canned outputs and record every call."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# A real executable, so that the wrappers go through homeops.tools.process.run as they do in production.
_FAKE = """#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
tool = os.path.basename(sys.argv[0])
argv = [tool, *sys.argv[1:]]
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"argv": argv, "stdin": sys.stdin.read() if not sys.stdin.isatty() else ""}}) + "\\n")
key = json.dumps([a for a in argv if not a.startswith("--request-timeout=")])
with open(os.path.join(here, "responses.json")) as f:
    answer = json.load(f).get(key)
if answer is None:
    sys.stderr.write("fake " + tool + ": unexpected call " + key + "\\n")
    sys.exit(97)
sys.stdout.write(answer["stdout"])
sys.stderr.write(answer["stderr"])
sys.exit(answer["returncode"])
"""


@pytest.fixture
def fixture_text():
    """Reads a file of tests/tools/fixtures: outputs of the real tools, in their exact shapes."""
    return lambda name: (FIXTURES / name).read_text()


class FakeTools:
    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self._responses: dict[str, dict] = {}
        (bin_dir / "responses.json").write_text("{}")
        for tool in ("kubectl", "talosctl", "flux"):
            path = bin_dir / tool
            path.write_text(_FAKE.format(python=sys.executable))
            path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def respond(self, argv: list[str], *, stdout: str = "", stderr: str = "", returncode: int = 0) -> None:
        """Answer `argv` (without any --request-timeout flag) with this output."""
        self._responses[json.dumps(argv)] = {"stdout": stdout, "stderr": stderr, "returncode": returncode}
        (self.bin_dir / "responses.json").write_text(json.dumps(self._responses))

    def calls(self) -> list[list[str]]:
        log = self.bin_dir / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line)["argv"] for line in log.read_text().splitlines()]


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeTools:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return FakeTools(bin_dir)
