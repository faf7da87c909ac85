"""Exceptions that runbooks raise and the runner understands.

The runner reads the exception's class name from the executed notebook (papermill records
`ename` and `evalue`), so these names are part of the contract between the two.
"""

from __future__ import annotations


class RunbookStopped(Exception):
    """A safety gate or a failed step stopped the runbook; the cluster was left safe.

    The message is the runner's last line: it names the node, the step, and anything
    (a cordon, a Ceph flag) deliberately left in place.
    """

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the stop is the message, not library source.
        return [f"\x1b[1;31mstopped:\x1b[0m {self}"]


class RunbookFailed(RunbookStopped):
    """A stop because something could not be checked (the API did not answer): the run "failed",
    its message is still the last line, with nothing changed."""
