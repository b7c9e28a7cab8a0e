"""The hosted-CI workflows (.github/workflows) parse and call the Makefile's targets.

They cannot run here; these checks catch what would break them first: YAML, a target that no
longer exists, the site folder the Pages workflow uploads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def load(path: Path) -> dict:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on:` as True
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", text, re.M))


def test_there_is_a_ci_and_a_pages_workflow():
    assert {path.name for path in WORKFLOWS} == {"ci.yml", "pages.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_calls_existing_make_targets_and_pinned_actions(path):
    workflow = load(path)
    assert workflow["on"] and workflow["jobs"]
    for step in steps(workflow):
        assert ("run" in step) != ("uses" in step), f"{path.name}: step {step}"
        if "uses" in step:
            assert re.fullmatch(r"actions/[\w-]+@v\d+", step["uses"]), step["uses"]
        for target in re.findall(r"\bmake ([\w-]+)", step.get("run", "")):
            assert target in make_targets(), f"{path.name} runs make {target}: no such target"


def test_ci_runs_make_test_on_push_and_pull_request():
    workflow = load(ROOT / ".github" / "workflows" / "ci.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert [s["run"] for s in steps(workflow) if "make" in s.get("run", "")] == ["make test"]


def test_pages_builds_the_book_and_deploys_build_html():
    workflow = load(ROOT / ".github" / "workflows" / "pages.yml")
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    all_steps = steps(workflow)
    assert any(s.get("run") == "make book" for s in all_steps)
    upload = [s for s in all_steps if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert [s["with"]["path"] for s in upload] == ["_build/html"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert steps({"jobs": {"deploy": deploy}})[0]["uses"].startswith("actions/deploy-pages@")
