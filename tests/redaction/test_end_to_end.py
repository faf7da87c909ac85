"""Every corpus format, end to end: `homeops run` against the twin, the record, the published site.

One run of a test notebook prints every case (in two writes, to stdout and stderr, as JSON, beside
the twin's own planted age key) and fails with all of them in its exception; the site is then built
with that record in its maintenance log. No 8-character piece of any secret's body may survive in
the terminal, the record, or any file of the site, search index included.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.docs.site_build import ROOT, build_site
from tests.engine.engine_support import COMMAND_TIMEOUT, Result, SpiedTwin, homeops_argv
from tests.redaction.corpus import CASES, Case

pytestmark = pytest.mark.slow
NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
PARAMETER_SECRET = "ghp_" + "Q7vKp2LmX9sR4tWz8YbN3cDf6GhJ5kMn1PqR"  # a GitHub token pasted into -p token=...
AGE_KEY = re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]{20,}")


@pytest.fixture(scope="module")
def leaked_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path, str]:
    work = tmp_path_factory.mktemp("leaks")
    cluster_file = work / "cluster.yaml"
    cluster_file.write_text((ROOT / "cluster.yaml").read_text())
    scenario = work / "scenario.yaml"
    scenario.write_text("faults:\n  - {fault: leak-secret}\n")
    twin = SpiedTwin.create(work, cluster_file, scenario)
    planted = AGE_KEY.search(twin.kubectl("get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A", "-o",
                                          "json").stdout)
    assert planted, "the twin's leak-secret fault plants an age key in a Kustomization message"
    corpus = work / "corpus.json"
    corpus.write_text(json.dumps({case.name: case.text for case in CASES}))
    argv = homeops_argv(cluster_file, "run", "leaks", "--runbooks", str(NOTEBOOKS), "--records", "records",
                        "--twin", str(twin.directory), "-p", f"corpus_file={corpus}", "-p", f"token={PARAMETER_SECRET}")
    done = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    return Result(done.returncode, done.stdout, done.stderr), work / "records", planted.group()


@pytest.fixture(scope="module")
def published(leaked_run: tuple[Result, Path, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    _, records, _ = leaked_run
    site_dir = tmp_path_factory.mktemp("site") / "site"
    build = build_site(ROOT, site_dir, HOMEOPS_RECORDS=str(records))
    assert build.returncode == 0, build.output
    return {path.relative_to(site_dir).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(site_dir.rglob("*")) if path.is_file() and _is_text(path)}


def _is_text(path: Path) -> bool:
    try:
        path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False  # fonts and images
    return True


def _survivors(case: Case, places: dict[str, str]) -> list[str]:
    return sorted(f"{where}: {piece}" for where, text in places.items() for piece in case.pieces if piece in text)


def test_the_run_went_through_the_twin_and_failed_in_its_last_step(leaked_run):
    result, records, _ = leaked_run
    assert result.returncode == 1, result.stderr
    assert result.last_line.startswith("failed: Step 4: Fail with every secret in the exception"), result.last_line
    record = json.loads(result.record.read_text())
    assert record["metadata"]["homeops"]["outcome"] == "failed"
    assert record["metadata"]["homeops"]["twin"] is True
    assert "kubectl: " + str(records.parent / "spied-twin" / "bin" / "kubectl") in result.stdout


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_piece_of_a_secret_reaches_the_terminal_or_the_record(case: Case, leaked_run):
    result, _, _ = leaked_run
    record = result.record.read_text()
    assert f"case {case.name}:" in result.stdout and f"case {case.name}:" in record, "the case was printed and saved"
    assert _survivors(case, {"stdout": result.stdout, "stderr": result.stderr, "record": record}) == []


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_no_piece_of_a_secret_reaches_the_published_site(case: Case, published):
    assert any("cannot continue" in text for text in published.values()), "the failure is on the maintenance log"
    assert "search/search_index.json" in published
    assert _survivors(case, published) == []


def test_the_parameter_and_the_twins_planted_key_are_gone_everywhere(leaked_run, published):
    result, _, planted = leaked_run
    record = result.record.read_text()
    body = Case("parameter and twin", "", "", (PARAMETER_SECRET[4:], planted[len("AGE-SECRET-KEY-1"):]))
    assert _survivors(body, {"stdout": result.stdout, "stderr": result.stderr, "record": record, **published}) == []
    saved = json.loads(record)
    # The kernel writes the record (no papermill metadata); the injected parameter is kept, as a marker.
    assert "papermill" not in saved["metadata"]
    sources = ["".join(cell["source"]) for cell in saved["cells"]]
    assert any("token = " in source and "[REDACTED " in source for source in sources), sources[:3]
