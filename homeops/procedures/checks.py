"""Check results (check, status, detail), the table that shows them, and the gate that requires them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Literal, TypeVar

from homeops.errors import RunbookStopped
from homeops.tools.process import ToolError

Status = Literal["ok", "warn", "FAIL"]
T = TypeVar("T")

# Reads in flight together: every independent read of cluster-health at once, and still a small
# load for a home cluster's API server, Talos API and Ceph toolbox.
READS_AT_ONCE = 8


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: Status
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def passed(check: str, detail: str) -> CheckResult:
    return CheckResult(check, "ok", detail)


def failed(check: str, detail: str) -> CheckResult:
    return CheckResult(check, "FAIL", detail)


def verdict(check: str, problems: list[str], fine: str) -> CheckResult:
    """FAIL naming every problem, or ok with `fine` when there is none."""
    return failed(check, "; ".join(problems)) if problems else passed(check, fine)


def guarded(check: str, read: Callable[[], list[CheckResult]]) -> list[CheckResult]:
    """Run `read`; a tool that fails (API down, toolbox missing) is a failed check, not a crash."""
    try:
        return read()
    except ToolError as exc:
        return [failed(check, str(exc))]


def at_once(*reads: Callable[[], T]) -> list[T]:
    """Run independent read-only `reads` concurrently and return their results in the order given.

    A check mostly waits on its tools (the API server, the Talos API, the Ceph toolbox), so
    reading them one after another costs the sum of those waits; at once, the slowest. Each read
    keeps its own tool timeouts. A read that raises makes this raise the same exception, after
    every read has finished, the first in the order given.
    """
    if len(reads) <= 1:
        return [read() for read in reads]
    pool = ThreadPoolExecutor(max_workers=min(len(reads), READS_AT_ONCE), thread_name_prefix="homeops-read")
    try:
        futures = [pool.submit(read) for read in reads]
        wait(futures)
    finally:
        # On Ctrl-C: reads not started yet never start; running ones end within their timeouts.
        pool.shutdown(wait=False, cancel_futures=True)
    return [future.result() for future in futures]


def table(results: Iterable[CheckResult]) -> str:
    rows = [("check", "status", "detail")] + [(r.check, r.status, r.detail) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(f"{c:<{widths[0]}}  {s:<{widths[1]}}  {d}".rstrip() for c, s, d in rows)


def print_table(results: Iterable[CheckResult]) -> None:
    """The table: coloured HTML in Jupyter (with this text beside it), this text elsewhere."""
    from homeops.runner.display import show, status_table_html

    results = list(results)
    show(table(results), status_table_html(("check", "status", "detail"),
                                           [(r.check, r.status, r.detail) for r in results], status_column=1))


def _named(failures: list[CheckResult]) -> str:
    return "; ".join(f"{r.check}: {r.detail}" for r in failures)


def require(results: Iterable[CheckResult], *, before: str) -> None:
    """A preflight gate: stop the runbook, naming every failed check, when any failed."""
    failures = [r for r in results if r.failed]
    if failures:
        raise RunbookStopped(f"{len(failures)} check(s) failed before {before}, nothing changed: {_named(failures)}")


def conclude(results: Iterable[CheckResult]) -> str:
    """A report's verdict: the summary line when every check passed; RunbookStopped naming the failures otherwise."""
    results = list(results)
    failures = [r for r in results if r.failed]
    if failures:
        raise RunbookStopped(f"{len(failures)} of {len(results)} checks failed: {_named(failures)}")
    warnings = sum(r.status == "warn" for r in results)
    return f"all {len(results)} checks passed" + (f" ({warnings} warning(s))" if warnings else "")
