"""The pipeline recipes (examples/pipelines/) by least privilege, each property checked on the
parsed YAML: a pull request's preview gets only the reader account's secrets, and only in the
step that runs `pulumi`; the deploy's secrets sit in an environment only the default branch's
deploy job uses; no job may write to the repository; actions are pinned by commit and the image
by digest; installs come from a lock file with hashes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "examples" / "pipelines"
GITHUB = RECIPES / "github-actions.yml"
GITLAB = RECIPES / "gitlab-ci.yml"
PULUMI_STEPS = {"Preview": "preview", "Deploy": "deploy", "Drift check": "drift"}
SECRET = re.compile(r"\$\{\{\s*secrets\.")


def github() -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(GITHUB.read_text())
    return document


def gitlab() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(GITLAB.read_text())
    return document


def job_of(kind: str) -> dict[str, Any]:
    """The GitHub job holding the step that runs `kind`'s `pulumi` commands."""
    for job in github()["jobs"].values():
        if any(PULUMI_STEPS.get(step.get("name", "")) == kind for step in job["steps"]):
            return dict(job)
    raise AssertionError(f"no job runs the {kind}")


# ----- GitHub Actions ---------------------------------------------------------------------------


def test_github_no_job_may_write_to_the_repository() -> None:
    workflow = github()
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, name


def test_github_secrets_reach_only_the_steps_that_run_pulumi() -> None:
    workflow = github()
    assert not SECRET.search(yaml.safe_dump(workflow.get("env") or {}))
    for name, job in workflow["jobs"].items():
        assert not SECRET.search(yaml.safe_dump(job.get("env") or {})), name
        for step in job["steps"]:
            if step.get("name") not in PULUMI_STEPS:
                assert not SECRET.search(yaml.safe_dump(step)), (name, step)


def test_github_deploy_secrets_are_in_an_environment_only_the_main_deploy_uses() -> None:
    deploy = job_of("deploy")
    assert deploy["environment"] == "nexudus-deploy"
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    others = [job for job in github()["jobs"].values() if job is not deploy]
    assert [job_of("preview")["environment"], job_of("drift")["environment"]] == [
        "nexudus-preview"
    ] * 2
    assert all(job["environment"] != "nexudus-deploy" for job in others if job != deploy)
    assert "refs/heads/main" in job_of("drift")["if"]
    header = GITHUB.read_text().split("\nname:")[0]
    assert "reader role only" in header and "Deployment branches: `main` only" in header


def test_github_the_preview_checks_the_base_url_before_any_credential_is_used() -> None:
    steps = job_of("preview")["steps"]
    names = [step.get("name", step.get("uses", "")) for step in steps]
    check = next(i for i, step in enumerate(steps) if "same-base-url.py" in step.get("run", ""))
    assert check < names.index("Preview")
    assert "HEAD^1" in steps[check]["run"]  # the merge commit's first parent: main
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] >= 2


def test_github_actions_are_pinned_by_commit_and_checkout_keeps_no_token() -> None:
    uses = [line.strip() for line in GITHUB.read_text().splitlines() if "uses:" in line]
    assert uses
    for line in uses:
        assert re.fullmatch(r"- uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*", line), line
    for job in github()["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_github_installs_from_the_run_lock() -> None:
    for job in github()["jobs"].values():
        runs = [step.get("run", "") for step in job["steps"]]
        assert any("make venv engine LOCK=requirements/run.txt" in run for run in runs)
        assert not any("pip install" in run for run in runs)


def test_github_workflow_is_clean_under_actionlint(tmp_path: Path) -> None:
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        message = "actionlint is not on PATH: `make actionlint` builds it into .tools/bin"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(GITHUB, workflows / "nexudus-rooms.yml")

    workflow = workflows / "nexudus-rooms.yml"
    done = subprocess.run([actionlint, str(workflow)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# ----- GitLab CI --------------------------------------------------------------------------------


def test_gitlab_image_is_pinned_by_digest() -> None:
    assert re.fullmatch(r"[\w./-]+@sha256:[0-9a-f]{64}", gitlab()["default"]["image"])


def test_gitlab_deploy_variables_are_scoped_to_a_protected_environment_of_main() -> None:
    pipeline = gitlab()
    assert pipeline["deploy"]["environment"]["name"] == "production"
    assert pipeline["deploy"]["rules"] == [
        {"if": '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"'}
    ]
    for kind in ("preview", "drift"):
        assert pipeline[kind]["environment"]["name"] == "preview", kind
    header = GITLAB.read_text().split("\nworkflow:")[0]
    assert "unprotected" not in header
    assert "Protected, and `production` a protected environment" in header
    assert "reader role only" in header


def test_gitlab_the_preview_checks_the_base_url_before_any_pulumi_command() -> None:
    script = gitlab()["preview"]["script"]
    check = next(i for i, line in enumerate(script) if "same-base-url.py" in line)
    assert check < next(i for i, line in enumerate(script) if line.startswith("pulumi "))
    assert "CI_MERGE_REQUEST_TARGET_BRANCH_NAME" in script[check - 1]


def test_gitlab_installs_from_the_run_lock() -> None:
    before = gitlab()["default"]["before_script"]
    assert "make venv engine LOCK=requirements/run.txt" in before
    assert not any("pip install" in line for line in before)


# ----- the lock files ---------------------------------------------------------------------------


def normal(name: str) -> str:
    """A distribution's name as PEP 503 compares them: `ruamel.yaml` is `ruamel-yaml`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a pip-compile/uv lock file."""
    text = path.read_text()
    entries: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = block.split(" ", 1)[0].strip()
        if "==" in head:
            name, version = head.split("==")
            entries[normal(name)] = (version, block.count("--hash=sha256:"))
    return entries


@pytest.mark.parametrize(("lock", "extras"), [("dev.txt", ["dev"]), ("run.txt", [])])
def test_each_lock_pins_every_dependency_with_hashes(lock: str, extras: list[str]) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for extra in extras for r in project["optional-dependencies"][extra]]
    entries = locked(REPO / "requirements" / lock)
    assert entries
    for name, (version, hashes) in entries.items():
        assert hashes >= 1, name
        assert re.fullmatch(r"[0-9][\w.+!-]*", version), (name, version)
    for requirement in wanted:
        name = normal(requirement.name)
        assert name in entries, f"{lock} does not lock {name}"
        assert requirement.specifier.contains(entries[name][0], prereleases=True), requirement
    assert entries["setuptools"]  # builds the editable install without build isolation


def test_the_run_lock_keeps_the_dev_locks_versions() -> None:
    dev, run = locked(REPO / "requirements" / "dev.txt"), locked(REPO / "requirements" / "run.txt")
    assert {name: dev[name][0] for name in run} == {
        name: version for name, (version, _) in run.items()
    }


def test_make_venv_installs_the_lock_with_hashes_required() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "LOCK ?= requirements/dev.txt" in makefile
    assert (
        "pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)"
        in makefile
    )
    assert "--no-deps --no-build-isolation -e ." in makefile


# ----- scripts/same-base-url.py ------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A repository whose main commits the stack `dev` with its base URL."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: nexudus-rooms\nstackConfigDir: stacks\n")
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(
        "config:\n  nexudus:baseUrl: https://spaces.nexudus.com\n  nexudus-rooms:rooms: {}\n"
    )
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "main")
    return tmp_path


def same_base_url(root: Path) -> subprocess.CompletedProcess[str]:
    script = REPO / "scripts" / "same-base-url.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        [sys.executable, str(script), "main", "dev"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )


def test_a_branch_that_keeps_the_base_url_passes(checkout: Path) -> None:
    stack = checkout / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("rooms: {}", "rooms: {lobby: {name: Lobby}}"))
    done = same_base_url(checkout)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("path", "edit"),
    [
        ("stacks/Pulumi.dev.yaml", ("https://spaces.nexudus.com", "https://collector.example")),
        ("Pulumi.yaml", ("stackConfigDir: stacks", "stackConfigDir: elsewhere")),
        (
            "Pulumi.yaml",
            (
                "name: nexudus-rooms",
                "name: nexudus-rooms\nconfig:\n  nexudus:baseUrl: https://x.example",
            ),
        ),
    ],
)
def test_a_branch_that_changes_where_credentials_go_is_refused(
    checkout: Path, path: str, edit: tuple[str, str]
) -> None:
    file = checkout / path
    file.write_text(file.read_text().replace(*edit))
    done = same_base_url(checkout)
    assert done.returncode == 1
    assert (
        done.stderr.startswith("error: ")
        and "on main: a preview sends credentials only" in done.stderr
    )
