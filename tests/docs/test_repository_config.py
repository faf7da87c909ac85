"""Renovate, the workflows and pre-commit, checked against the files they act on."""

from __future__ import annotations

import json
import re

import yaml

from homeops import load_cluster
from tests.docs.site_build import ROOT


def renovate_matches(text: str) -> list[dict[str, str]]:
    config = json.loads((ROOT / "renovate.json").read_text())
    (manager,) = [m for m in config["customManagers"]
                  if m["customType"] == "regex" and any("cluster" in p for p in m["managerFilePatterns"])]
    file_pattern = manager["managerFilePatterns"][0].strip("/")
    assert re.search(file_pattern, "cluster.yaml")
    # Renovate's regexes name groups as (?<name>...); Python spells it (?P<name>...).
    patterns = [re.compile(p.replace("(?<", "(?P<")) for p in manager["matchStrings"]]
    return [m.groupdict() for rx in patterns for m in rx.finditer(text)]


def test_renovate_finds_every_annotated_version_of_cluster_yaml():
    text = (ROOT / "cluster.yaml").read_text()
    matches = renovate_matches(text)
    assert len(matches) == text.count("# renovate:")
    found = {m["currentValue"] for m in matches}
    pinned = {v for v in load_cluster(ROOT / "cluster.yaml").versions.model_dump().values() if v}
    assert pinned <= found
    talos = next(m for m in matches if m["depName"] == "siderolabs/talos")
    assert (talos["datasource"], talos["currentValue"]) == ("github-releases", load_cluster(ROOT / "cluster.yaml").versions.talos)
    cloudflared = next(m for m in matches if m["depName"] == "cloudflare/cloudflared")
    assert cloudflared["versioning"] == "loose"


def test_renovate_ignores_a_version_without_annotation():
    assert renovate_matches("versions:\n  talos: v1.0.0\n") == []


def test_docs_workflow_builds_strictly_and_deploys_pages_only_from_main():
    workflow = yaml.safe_load((ROOT / ".github/workflows/docs.yaml").read_text())
    build_steps = [s.get("run", "") for s in workflow["jobs"]["build"]["steps"]]
    assert "make build" in build_steps
    assert re.search(r"^build:.*\n\t\$\(BIN\)/mkdocs build --strict$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    deploy = workflow["jobs"]["deploy"]
    assert deploy["steps"][-1]["uses"].startswith("actions/deploy-pages@")
    assert "refs/heads/main" in deploy["if"] and deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_the_published_build_is_made_for_the_address_github_pages_gives_it():
    build = yaml.safe_load((ROOT / ".github/workflows/docs.yaml").read_text())["jobs"]["build"]
    steps = build["steps"]
    (pages,) = [s for s in steps if s.get("uses", "").startswith("actions/configure-pages@")]
    (make,) = [s for s in steps if s.get("run") == "make build"]
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert steps.index(pages) < steps.index(make)
    # The macros read HOMEOPS_SITE_URL (mkdocs.yml `site_url: !ENV HOMEOPS_SITE_URL`).
    assert make["env"] == {"HOMEOPS_SITE_URL": "${{ steps.%s.outputs.base_url }}" % pages["id"]}
    assert "!ENV HOMEOPS_SITE_URL" in (ROOT / "mkdocs.yml").read_text()
    # It runs for the build that is published, and reads the Pages site with the job's token.
    assert pages["if"] == upload["if"]
    assert build["permissions"] == {"contents": "read", "pages": "read"}
    assert "enablement" not in pages.get("with", {}), "the job's token cannot enable Pages"


def test_test_workflow_runs_make_test_on_pull_requests():
    workflow = yaml.safe_load((ROOT / ".github/workflows/test.yaml").read_text())
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "make test" in [s.get("run") for s in workflow["jobs"]["test"]["steps"]]


def test_pre_commit_strips_papermill_metadata_and_validates_cluster_yaml():
    hooks = {h["id"]: h for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
             for h in repo["hooks"]}
    assert hooks["nbstripout"]["args"][:2] == ["--extra-keys", "metadata.papermill cell.metadata.papermill"]
    assert hooks["homeops-validate"]["entry"].endswith("homeops validate")


def test_renovate_finds_the_image_pinned_in_the_talos_backup_template():
    config = json.loads((ROOT / "renovate.json").read_text())
    (manager,) = [m for m in config["customManagers"] if any("templates" in p for p in m["managerFilePatterns"])]
    assert re.search(manager["managerFilePatterns"][0].strip("/"), "templates/kubernetes/apps/backup/talos-backup/cronjob.yaml.j2")
    text = (ROOT / "templates/kubernetes/apps/backup/talos-backup/cronjob.yaml.j2").read_text()
    [pattern] = [re.compile(p.replace("(?<", "(?P<")) for p in manager["matchStrings"]]
    [found] = [m.groupdict() for m in pattern.finditer(text)]
    assert (found["datasource"], found["depName"], found["currentValue"], found["versioning"]) == (
        "docker", "ghcr.io/siderolabs/talos-backup", "v0.1.0-beta.3", "semver")
    assert f"image: {found['depName']}:{found['currentValue']}" in text
