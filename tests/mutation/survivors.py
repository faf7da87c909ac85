"""Compare mutmut's results with the accepted survivors; fail on a new survivor or a stale entry.

`make mutate` runs this after `mutmut run`. It reads what `mutmut results` prints (one
`    NAME: STATUS` line per mutant that was not killed) and tests/mutation/accepted.txt (one
`NAME  # why it may survive` line per accepted survivor), prints the score per module, and exits 1
when a mutant survived (or was never tested) without being accepted, or an accepted mutant is no
longer a survivor (the list must stay true: remove it).
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ACCEPTED = Path(__file__).with_name("accepted.txt")
# Statuses that count as caught; everything else `mutmut results` prints needs a kill or a reason.
CAUGHT = {"killed", "timeout", "caught by type check"}
_RESULT = re.compile(r"^\s+(?P<name>\S+): (?P<status>.+?)\s*$")


@dataclass(frozen=True)
class Verdict:
    new: list[tuple[str, str]]  # (mutant, status) neither caught nor accepted
    stale: list[str]  # accepted, but no longer surviving
    score: dict[str, tuple[int, int]]  # module -> (caught, total)


def parse_results(text: str) -> dict[str, str]:
    """mutant name -> status, from `mutmut results` (killed mutants are not listed)."""
    return {m["name"]: m["status"] for m in map(_RESULT.match, text.splitlines()) if m}


def parse_accepted(text: str) -> dict[str, str]:
    """mutant name -> reason; a line without a reason is refused."""
    accepted = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, reason = line.partition("#")
        if not reason.strip():
            raise ValueError(f"{ACCEPTED.name}:{number}: {name.strip()} has no reason (`NAME  # why it may survive`)")
        accepted[name.strip()] = reason.strip()
    return accepted


def module_of(mutant: str) -> str:
    """`homeops.gate.xǁGateǁsay__mutmut_8` -> `homeops.gate`; `homeops.cluster.rules.x_check__mutmut_1` -> its module."""
    return re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]


def judge(not_killed: dict[str, str], accepted: dict[str, str], totals: dict[str, int]) -> Verdict:
    new = sorted((name, status) for name, status in not_killed.items()
                 if status not in CAUGHT and name not in accepted)
    stale = sorted(name for name in accepted if not_killed.get(name, "killed") in CAUGHT)
    uncaught = Counter(module_of(name) for name, status in not_killed.items() if status not in CAUGHT)
    score = {module: (total - uncaught[module], total) for module, total in sorted(totals.items())}
    return Verdict(new, stale, score)


def mutant_totals(root: Path) -> dict[str, int]:
    """module -> number of mutants, from the .meta files mutmut writes beside each mutated copy."""
    totals = {}
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        module = ".".join(meta.relative_to(root / "mutants").with_suffix("").with_suffix("").parts)
        totals[module] = len(json.loads(meta.read_text())["exit_code_by_key"])
    return totals


def main(patterns: list[str]) -> int:
    """Judge every mutant, or (a partial run, `make mutate MUTANTS=...`) those matching `patterns`."""
    root = Path.cwd()
    mutmut = Path(sys.executable).with_name("mutmut")  # `python -m mutmut` re-executes its main module
    done = subprocess.run([str(mutmut), "results"], capture_output=True, text=True, cwd=root)
    if done.returncode:
        print(f"mutmut results failed ({done.returncode}): {done.stderr.strip()}", file=sys.stderr)
        return 1
    try:
        accepted = parse_accepted(ACCEPTED.read_text())
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    not_killed, totals = parse_results(done.stdout), mutant_totals(root)
    if patterns:
        def wanted(name: str) -> bool:
            return any(fnmatch.fnmatchcase(name, p) for p in patterns)

        not_killed = {n: s for n, s in not_killed.items() if wanted(n)}
        accepted = {n: r for n, r in accepted.items() if wanted(n)}
        totals = {m: t for m, t in totals.items() if any(fnmatch.fnmatchcase(m + ".x_", p) or
                                                         fnmatch.fnmatchcase(m + ".xǁ", p) for p in patterns)}
    verdict = judge(not_killed, accepted, totals)
    caught = sum(c for c, _ in verdict.score.values())
    total = sum(t for _, t in verdict.score.values())
    for module, (c, t) in verdict.score.items():
        print(f"{module:45} {c:5}/{t:<5} {100 * c / t:5.1f}%")
    print(f"{'mutation score (accepted survivors count as survivors)':45} {caught:5}/{total:<5} "
          f"{100 * caught / max(total, 1):5.1f}%")
    for name, status in verdict.new:
        print(f"NEW SURVIVOR ({status}): {name}  (kill it with a test, or list it in tests/mutation/{ACCEPTED.name} with why)")
    for name in verdict.stale:
        print(f"STALE: {name} is listed in tests/mutation/{ACCEPTED.name} but no longer survives: remove it")
    return 1 if verdict.new or verdict.stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
