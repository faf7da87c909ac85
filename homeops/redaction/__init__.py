"""Removing secrets from everything a run prints, saves or publishes.

Two sources of knowledge, one pass: detect-secrets' maintained detectors (`detectors.py`) and the
formats of this stack that no general scanner knows (`formats.py`: age, Talos machine secrets,
kubeconfig/talosconfig data, Secret `data:`, Ceph keyrings, Cloudflare tunnel tokens...).
`text.py` applies both to whole texts, `stream.py` to output that arrives in pieces, and
`notebook.py` to run records, whose outputs are joined before they are judged.
"""

from __future__ import annotations

from homeops.redaction.notebook import redact_notebook, redact_tree
from homeops.redaction.stream import LineRedactor
from homeops.redaction.text import redact

__all__ = ["LineRedactor", "redact", "redact_notebook", "redact_tree"]
