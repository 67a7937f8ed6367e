"""Reads the pipeline recipes under examples/pipelines/: which `pulumi` commands each job runs,
in order, on which trigger, with which environment. The end-to-end test runs exactly these, so
a recipe whose commands stop working fails the suite."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "pipelines"
KINDS = ("preview", "deploy", "drift")
"""What every recipe does: preview on merge requests, deploy from main, a scheduled drift check."""

GITHUB_STEPS = {"Preview": "preview", "Deploy": "deploy", "Drift check": "drift"}
GITHUB_STORE = re.compile(r"^\$\{\{\s*(secrets|vars)\.([A-Z0-9_]+)\s*\}\}$")
SECRET_NAME = re.compile(r"\b(?:NEXUDUS|PULUMI|AWS)_[A-Z0-9_]+\b")


ROLES = {
    "nexudus-preview": "reader",
    "nexudus-deploy": "deployer",
    "preview": "reader",
    "production": "deployer",
}
"""The recipes' environments (GitHub's, GitLab's scopes) -> whose secrets they hold: the reader
account's (previews, drift checks) or the deploying account's."""

Stores = dict[str, dict[str, str]]
"""Role (`reader`, `deployer`) -> the secrets and variables its environment holds."""


@dataclass
class Job:
    trigger: str
    """The condition the CI evaluates (`if:`, or the first of `rules:`), as written."""
    commands: list[str]
    """Its `pulumi` command lines, in order."""
    role: str
    """Whose secrets its environment holds (`ROLES`)."""
    env: dict[str, str]
    """What its `pulumi` commands see of its environment's secrets and variables."""


@dataclass
class Recipe:
    env: dict[str, str]
    """What every job's shell sees beyond the runner's own environment and its own `env`."""
    jobs: dict[str, Job]


def pulumi_lines(script: str) -> list[str]:
    """The `pulumi ...` lines of a shell script, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("pulumi ")]


def secrets_named(path: Path) -> set[str]:
    """The secrets and variables a recipe's opening comment tells users to set."""
    header = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    return set(SECRET_NAME.findall("\n".join(header)))


def github_actions(path: Path, stores: Stores) -> Recipe:
    """A workflow whose steps named in GITHUB_STEPS run the commands; `${{ secrets.X }}` and
    `${{ vars.X }}` come from the store of the job's environment ("" when absent, as on
    GitHub)."""
    document: dict[Any, Any] = yaml.safe_load(path.read_text())
    env = {key: str(value) for key, value in document["env"].items()}
    jobs: dict[str, Job] = {}
    for job in document["jobs"].values():
        role = ROLES[job["environment"]]
        for step in job["steps"]:
            kind = GITHUB_STEPS.get(step.get("name", ""))
            if kind is not None:
                scoped = {**(job.get("env") or {}), **(step.get("env") or {})}
                step_env = {k: _github_value(str(v), stores[role]) for k, v in scoped.items()}
                jobs[kind] = Job(job["if"], pulumi_lines(step["run"]), role, step_env)
    return Recipe(env, jobs)


def github_triggers(path: Path) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text())
    return dict(document.get("on") or document[True])  # YAML 1.1 reads a bare `on` as true


def _github_value(value: str, store: dict[str, str]) -> str:
    if "${{" not in value:
        return value
    match = GITHUB_STORE.match(value)
    if match is None:
        raise ValueError(f"the test cannot evaluate {value!r}; extend tests/e2e/recipes.py")
    return store.get(match.group(2), "")


def gitlab_ci(path: Path, stores: Stores, project_dir: Path) -> Recipe:
    """A .gitlab-ci.yml whose jobs named preview, deploy and drift run the commands; the CI/CD
    variables of the job's environment scope (`stores`) reach it as they are, `variables:` are
    added over them."""
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    env = {
        key: str(value).replace("$CI_PROJECT_DIR", str(project_dir))
        for key, value in (document.get("variables") or {}).items()
    }
    before = (document.get("default") or {}).get("before_script") or []
    jobs: dict[str, Job] = {}
    for kind in KINDS:
        job = document[kind]
        role = ROLES[job["environment"]["name"]]
        script = "\n".join([*(job.get("before_script") or before), *job["script"]])
        scoped = {k: v for k, v in stores[role].items() if k not in env}
        jobs[kind] = Job(job["rules"][0]["if"], pulumi_lines(script), role, scoped)
    return Recipe(env, jobs)
