"""What the workflows may do: least privilege, no stored credentials, pinned images, forks kept out.

Read as YAML (the workflows' own structure, not their text), so a job moved or renamed is still
checked. `on:` reads as True in YAML 1.1, hence `triggers()`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = {path.name: path for path in sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))}
RENDER = "render.yaml"
FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"
IMAGE_DIGEST = re.compile(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}")
CHECKOUT = "actions/checkout@"


def workflow(name: str) -> dict:
    return yaml.safe_load(WORKFLOWS[name].read_text())


def triggers(name: str) -> dict:
    loaded = workflow(name)
    return loaded.get("on", loaded.get(True))


def jobs(name: str) -> dict[str, dict]:
    return workflow(name)["jobs"]


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def scripts(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(job))


def test_the_render_workflow_runs_on_pull_requests_that_change_cluster_yaml_or_templates():
    on = triggers(RENDER)
    assert set(on) == {"pull_request"}, "pull_request_target would run with the base's secrets and write access"
    assert on["pull_request"]["paths"] == ["cluster.yaml", "templates/**"]


@pytest.mark.parametrize("job", ["render", "push", "comment"])
def test_no_job_of_the_render_workflow_runs_for_a_fork(job: str):
    assert FORK_GUARD in jobs(RENDER)[job]["if"]


def test_the_render_workflow_grants_nothing_by_default_and_each_job_only_what_it_uses():
    assert workflow(RENDER)["permissions"] == {}
    assert {name: job["permissions"] for name, job in jobs(RENDER).items()} == {
        "render": {"contents": "read"},
        "push": {"contents": "read"},  # it pushes with the App's token, scoped below
        "comment": {"pull-requests": "write"},
    }


def test_only_the_push_job_gets_a_token_that_writes_and_it_runs_no_code_of_the_branch():
    writers = {name: step for name, job in jobs(RENDER).items() for step in steps(job)
               if step.get("uses", "").startswith("actions/create-github-app-token@")}
    assert list(writers) == ["push"]
    token_inputs = writers["push"]["with"]
    assert {key: value for key, value in token_inputs.items() if key.startswith("permission-")} == {
        "permission-contents": "write"}
    push = jobs(RENDER)["push"]
    # No command of the branch's own: no make, no .venv, no Python, no script of the checkout.
    assert "container" not in push
    assert not re.search(r"(?m)^\s*(?:make|\.venv/|\./|python3?|pip|bash|sh)\b", scripts(push)), scripts(push)
    # What it applies is limited to what `homeops render` owns.
    assert "talos/*|kubernetes/*|.sops.yaml) ;;" in scripts(push)
    assert "--force" not in scripts(push), "a fast-forward push: a branch that moved meanwhile renders itself"


def test_renovate_keeps_updating_a_branch_the_render_committed_to():
    # Renovate stops rebasing a branch someone else committed to, unless it ignores that author.
    (email,) = re.findall(r'user\.email="([^"]+)"', scripts(jobs(RENDER)["push"]))
    assert email in json.loads((ROOT / "renovate.json").read_text())["gitIgnoredAuthors"]


def test_the_render_job_reads_the_branch_with_no_stored_credentials_and_hands_over_a_patch():
    render = jobs(RENDER)["render"]
    (checkout,) = [step for step in steps(render) if step.get("uses", "").startswith(CHECKOUT)]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
    assert ".venv/bin/homeops render" in scripts(render)
    assert "python -m homeops.upgrade_notice" in scripts(render)
    assert "secrets." not in WORKFLOWS[RENDER].read_text().split("\n  push:")[0]


def test_the_comment_reaches_the_shell_through_the_environment_only():
    # An expression spliced into a script is a template injection; the environment is not.
    for job in jobs(RENDER).values():
        for step in steps(job):
            assert "${{" not in step.get("run", ""), step.get("run")


@pytest.mark.parametrize("name", WORKFLOWS)
def test_no_checkout_stores_its_credentials(name: str):
    checkouts = [step for job in jobs(name).values() for step in steps(job) if step.get("uses", "").startswith(CHECKOUT)]
    assert checkouts, f"{name} checks nothing out?"
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{name}: {step}"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_no_job_writes_contents_with_the_workflow_token(name: str):
    assert workflow(name)["permissions"] in ({}, {"contents": "read"})
    for job_name, job in jobs(name).items():
        assert job.get("permissions", {}).get("contents") != "write", f"{name}: {job_name}"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_container_images_are_pinned_by_digest(name: str):
    for job_name, job in jobs(name).items():
        image = job.get("container")
        image = image.get("image") if isinstance(image, dict) else image
        if image is not None:
            assert IMAGE_DIGEST.fullmatch(image), f"{name}: {job_name} runs {image}, which can move"


def test_the_docs_build_restores_the_record_cache_keyed_on_what_it_keys_on():
    (cache,) = [step for step in steps(jobs("docs.yaml")["build"]) if step.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"] == ".records-cache"
    key = cache["with"]["key"]
    for source in ("records/**", "homeops/site/**", "homeops/redaction/**", "requirements/docs.lock"):
        assert f"'{source}'" in key
    assert cache["with"]["restore-keys"] == "records-cache-"


def test_zizmor_finds_nothing_offline():
    zizmor = Path(sys.executable).with_name("zizmor")
    assert zizmor.exists(), "zizmor is in requirements/test.lock: `make setup-test` installs it"
    done = subprocess.run([str(zizmor), "--offline", "--no-progress", "--format=plain", ".github/workflows"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
