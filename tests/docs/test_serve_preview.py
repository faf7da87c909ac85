"""`mkdocs serve` answers while cluster.yaml is invalid, with the validator's lines, and recovers,
whether the file broke while serving or was already broken when the server started.

The server runs on 127.0.0.1 on a free port, from a copy of the project, and is stopped by its
own process group at the end.
"""

from __future__ import annotations

import html
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from homeops import ClusterInvalid, load_cluster
from tests.docs.records import PLANTED_RECORD, write_record
from tests.docs.site_build import ROOT, SITE_ENV, copy_project

REQUEST_TIMEOUT_SECONDS = 10  # a request that hangs (as it did) fails the test instead of the run
WAIT_SECONDS = 120  # how long a rebuild may take on a loaded 2-core machine
# A value with markup in it: the page must show it as text.
BROKEN_DOMAIN = 'domain: "<b>home</b>"'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def wait_for(condition: Callable[[], tuple[int, str] | None], what: str) -> tuple[int, str]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            answer = condition()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            answer = None  # the server is not listening yet
        if answer is not None:
            return answer
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@contextmanager
def serving(project: Path, log_file: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """`mkdocs serve --strict` of `project` on a free port of 127.0.0.1: (the process, its base URL)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SITE_ENV}
    env["NO_MKDOCS_2_WARNING"] = "1"
    with log_file.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "--strict", "-f", str(project / "mkdocs.yml"),
             "--dev-addr", f"127.0.0.1:{port}"],
            cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield server, f"http://127.0.0.1:{port}/"
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGINT)  # as Ctrl-C: mkdocs removes its temporary site
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    project = copy_project(tmp_path / "project")
    with serving(project, tmp_path / "serve.log") as (_server, url):
        yield project, url


def build_errors(page: str) -> str:
    return page.split('<pre id="build-errors">', 1)[1].split("</pre>", 1)[0]


def showing_the_site(url: str) -> Callable[[], tuple[int, str] | None]:
    return lambda: (answer if (answer := fetch(url))[0] == 200 and "Ceph OSDs" in answer[1] else None)


def test_serve_shows_the_validator_lines_while_cluster_yaml_is_invalid_and_the_site_once_fixed(served):
    project, url = served
    cluster_file = project / "cluster.yaml"
    good = cluster_file.read_text()
    site_page = showing_the_site(url)
    wait_for(site_page, "the first build")

    cluster_file.write_text(good.replace("domain: example.com", BROKEN_DOMAIN, 1))
    with pytest.raises(ClusterInvalid) as invalid:
        load_cluster(cluster_file)
    error_page = lambda: (answer if "The site does not build" in (answer := fetch(url))[1] else None)
    _, page = wait_for(error_page, "the error page")

    errors = build_errors(page)
    for problem in invalid.value.problems:  # each as `cluster.yaml:LINE:COL: key: message`, as text
        assert f"cluster.yaml:{problem.line}:{problem.column}: " in errors
        assert html.escape(str(problem)) in errors
    assert "<b>home</b>" not in page and "&lt;b&gt;home&lt;/b&gt;" in page
    # Another page of the site answers with the errors too, instead of the stale page.
    status, other = fetch(url + "networking/")
    assert status == 200 and "The site does not build" in other

    cluster_file.write_text(good)
    _, page = wait_for(site_page, "the site after the fix")
    assert "The site does not build" not in page


def test_serve_started_with_an_invalid_cluster_yaml_keeps_running_shows_its_lines_and_the_site_once_fixed(tmp_path):
    project = copy_project(tmp_path / "project")
    cluster_file = project / "cluster.yaml"
    good = cluster_file.read_text()
    cluster_file.write_text(good.replace("domain: example.com", BROKEN_DOMAIN, 1))
    with pytest.raises(ClusterInvalid) as invalid:
        load_cluster(cluster_file)

    with serving(project, tmp_path / "serve.log") as (server, url):
        # The server listens once its first build is over; the first request then answers at once
        # (REQUEST_TIMEOUT_SECONDS fails a request that hangs), with the errors, not a stall or an exit.
        status, page = wait_for(lambda: fetch(url + "networking/") if server.poll() is None else pytest.fail(
            f"mkdocs serve exited ({server.returncode}):\n{(tmp_path / 'serve.log').read_text()}"), "the server")
        assert status == 200 and "The site does not build" in page
        errors = build_errors(page)
        for problem in invalid.value.problems:
            assert f"cluster.yaml:{problem.line}:{problem.column}: " in errors
            assert html.escape(str(problem)) in errors
        # Served as a page of the site, so the browser's live reload brings the site back by itself.
        assert "livereload" in page
        for other in ("", "runbooks/worker-upgrade/"):
            status, text = fetch(url + other)
            assert status == 200 and "The site does not build" in text, other

        cluster_file.write_text(good)
        _, page = wait_for(showing_the_site(url), "the site after the fix")
        assert "The site does not build" not in page
        status, networking = fetch(url + "networking/")
        assert status == 200 and "The site does not build" not in networking
        assert server.poll() is None


def test_a_record_saved_while_serving_appears_in_the_maintenance_log(served):
    project, url = served
    log_url = url + "operations/maintenance-log/"
    status, page = wait_for(lambda: (answer if (answer := fetch(log_url))[0] == 200 else None), "the first build")
    assert "No maintenance recorded yet." in page

    write_record(project / "records", "20260314-092653-worker-upgrade.ipynb", PLANTED_RECORD)
    listed = lambda: (answer if 'href="20260314-092653-worker-upgrade.html"' in (answer := fetch(log_url))[1] else None)
    wait_for(listed, "the record in the log")
    status, record = fetch(url + "operations/maintenance-log/20260314-092653-worker-upgrade.html")
    assert status == 200 and "drain refused by a PodDisruptionBudget" in record


def test_mkdocs_yml_watches_the_records_directory_the_log_is_built_from(monkeypatch):
    from mkdocs.utils.yaml import yaml_load

    from homeops.site.sources import records_dir

    monkeypatch.delenv("HOMEOPS_RECORDS", raising=False)
    with (ROOT / "mkdocs.yml").open(encoding="utf-8") as f:
        watched = {(ROOT / path).resolve() for path in yaml_load(f)["watch"]}
    assert records_dir(ROOT).resolve() in watched
    # MkDocs refuses a watched path that does not exist: the directory is in the repository.
    assert (ROOT / "records").is_dir()
