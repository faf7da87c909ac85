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
