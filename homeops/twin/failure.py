"""How a fake tool stops: with the exit code and the text the real tool would print."""

from __future__ import annotations


class ToolFailure(Exception):
    def __init__(self, stderr: str, code: int = 1, stdout: str = ""):
        super().__init__(stderr)
        self.stderr = stderr
        self.code = code
        self.stdout = stdout
