"""Workflow actions are pinned by commit digest, with the version beside it for people and Renovate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$", re.MULTILINE)
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
VERSION_COMMENT = re.compile(r"\s+# v\d+\.\d+\.\d+$")


def uses(workflow: Path) -> list[re.Match[str]]:
    return list(USES.finditer(workflow.read_text()))


def test_there_are_workflows_using_actions():
    assert WORKFLOWS and sum(len(uses(w)) for w in WORKFLOWS) >= 4


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_digest_with_its_version(workflow: Path):
    for use in uses(workflow):
        ref = use["ref"]
        if ref.startswith("./"):  # an action of this repository moves with it
            continue
        assert PINNED.fullmatch(ref), (
            f"{workflow.name}: `uses: {ref}` can move; pin it to the tag's commit, as the other workflows do "
            "(`owner/action@<40-hex commit> # vX.Y.Z`, see tests/supply_chain/fixtures/INDEX.md)")
        assert VERSION_COMMENT.fullmatch(use["comment"]), f"{workflow.name}: {ref} has no `# vX.Y.Z` comment"


def test_one_action_is_pinned_to_one_commit_everywhere():
    pins: dict[str, set[str]] = {}
    for workflow in WORKFLOWS:
        for use in uses(workflow):
            action, _, digest = use["ref"].partition("@")
            pins.setdefault(action, set()).add(digest + use["comment"])
    assert {action: len(found) for action, found in pins.items()} == {action: 1 for action in pins}


def test_renovate_keeps_the_digests_and_the_container_images_pinned():
    extends = json.loads((ROOT / "renovate.json").read_text())["extends"]

    assert {"helpers:pinGitHubActionDigests", "docker:pinDigests"} <= set(extends)
