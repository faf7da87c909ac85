"""detect-secrets is loaded on the first redaction, not on import: the CLI's start-up does not pay for it."""

from __future__ import annotations

import subprocess
import sys

PROBE = (
    "import sys\n"
    "import homeops.runner.outcome, homeops.redaction, homeops.runner.records, homeops.runner.progress\n"
    "print('on import:', 'detect_secrets' in sys.modules)\n"
    "from homeops.redaction import redact\n"
    "print(redact('GITHUB_TOKEN ghp_' + 'a1B2c3D4e5F6g7H8i9J0' * 2)[:40])\n"
    "print('after the first redaction:', 'detect_secrets' in sys.modules)\n"
)


def test_detect_secrets_is_imported_only_when_something_is_redacted():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == [
        "on import: False", "GITHUB_TOKEN [REDACTED github-token]", "after the first redaction: True"]
