"""Redacting output that arrives in pieces (a runbook's stdout, as the terminal shows it live)."""

from __future__ import annotations

from collections.abc import Callable

from homeops.redaction.formats import OpenFormats
from homeops.redaction.text import redact

# Past this much held text, lines are let go even if a format is still open: the redaction of a
# text cut short removes what it cannot close (a private key without its END line, to the end).
HOLD_LIMIT = 256 * 1024


class LineRedactor:
    """Emits complete lines, redacted, holding them back while a secret may still be going on.

    A chunk may end mid-line, and a secret may span lines (a PEM key, a Secret's `data:` map, a
    token wrapped at 76 columns): lines are held while `formats.OpenFormats` says so and redacted
    together once the format ends, so no line is printed before it is known not to hold a secret.
    """

    def __init__(self, emit: Callable[[str], None]):
        self._emit = emit
        # The line not yet ended, in the pieces it came in: a very long unbroken line is joined
        # and split once, when it ends, not again at every write (which made it quadratic).
        self._pending: list[str] = []
        self._held: list[str] = []
        self._held_size = 0
        self._open = OpenFormats()  # of the held lines

    def write(self, chunk: str) -> None:
        if "\n" not in chunk:
            if chunk:
                self._pending.append(chunk)
            return
        *lines, rest = "".join([*self._pending, chunk]).split("\n")
        self._pending = [rest] if rest else []
        for line in lines:
            self._held.append(line)
            self._held_size += len(line) + 1
            if not self._open.feed(line) or self._held_size > HOLD_LIMIT:
                self._release()

    def flush(self) -> None:
        """The end of the stream (of a cell's output): everything goes out, redacted."""
        if self._pending:
            self._held.append("".join(self._pending))
            self._pending = []
        self._release()

    def _release(self) -> None:
        if self._held:
            text, self._held, self._held_size, self._open = "\n".join(self._held), [], 0, OpenFormats()
            for line in redact(text).split("\n"):
                self._emit(line)
