"""The runner's names for redaction, which lives in `homeops.redaction` (kept so callers need not move)."""

from __future__ import annotations

from homeops.redaction import LineRedactor, redact, redact_notebook, redact_tree

__all__ = ["LineRedactor", "redact", "redact_notebook", "redact_tree"]
