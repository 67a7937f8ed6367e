"""`pulumi` as pipelines run it: only the engine on PATH, several stacks on one account at once,
and the recipes under examples/pipelines/ run command by command."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml

from nexudus_pulumi.ownership import Marker
from nexudus_pulumi.sandbox import (
    DEMO_PASSWORD,
    DEMO_USER,
    READER_PASSWORD,
    READER_USER,
    PublishedLimits,
    Sandbox,
)
from nexudus_pulumi.sandbox.limits import Throttle
from tests.e2e.harness import REPO, TOOLS, PulumiProject, Result
from tests.e2e.recipes import (
    KINDS,
    RECIPES,
    Recipe,
    Stores,
    github_actions,
    github_triggers,
    gitlab_ci,
    secrets_named,
)


def test_preview_needs_only_the_engine_on_path(project: PulumiProject, sandbox: Sandbox) -> None:
    path = project.env["PATH"].split(os.pathsep)
    assert path[0] == str(TOOLS)
    assert str(Path(sys.prefix) / "bin") not in path and "VIRTUAL_ENV" not in project.env
    # the first python on PATH is a trap that fails the run: only Pulumi.yaml's virtualenv works
    first_python = next(Path(d) / "python3" for d in path if (Path(d) / "python3").exists())
    assert "virtualenv was ignored" in first_python.read_text()

    project.init_stack("dev", business=1001, rooms={"lobby": {"name": "Lobby"}})
    preview = project.ok("preview")
    assert "+ 3 to create" in preview.output  # the stack, its identity, the room: it ran
    assert "virtualenv was ignored" not in preview.output
    assert sandbox.store.all() == []


ROOMS_PER_STACK = 30


def up_together(project: PulumiProject, stacks: list[str]) -> Counter[str]:
    """`pulumi up` of every stack started at once; the 409s each one was answered, counted
    from the line the provider prints for each among the run's diagnostics."""
    started = [project.start("up", "--yes", "--skip-preview", stack=stack) for stack in stacks]
    results = [project.finish(run) for run in started]
    throttled: Counter[str] = Counter()
    for stack, result in zip(stacks, results, strict=True):
        assert result.ok, f"`pulumi up` of {stack} failed:\n{result.output}"
        diagnostics = result.output.partition("\nDiagnostics:\n")[2]
        throttled[stack] = diagnostics.count("nexudus: throttled on ")
    return throttled


def assert_each_stack_holds_exactly_its_rooms(
    project: PulumiProject, sandbox: Sandbox, stacks: list[str]
) -> None:
    held = [(Marker.parse(r["SystemId"]), str(r["Id"])) for r in sandbox.store.all()]
    paths = Counter(m.path for m, _ in held if m)
    for stack in stacks:
        expected = {f"nexudus-rooms/{stack}/room-{n:02d}" for n in range(ROOMS_PER_STACK)}
        assert {m: paths[m] for m in expected} == dict.fromkeys(expected, 1), stack
        by_path = {m.path: record_id for m, record_id in held if m}
        ids = project.room_ids(stack)
        assert ids == {key: by_path[f"nexudus-rooms/{stack}/{key}"] for key in ids}
        assert len(ids) == ROOMS_PER_STACK


def test_two_pipelines_at_once_on_one_account(
    project: PulumiProject, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Two stacks (say two locations) deployed by two pipelines at the same moment, then again
    within the minute (a fix right after a release), against the published limits. The 2 x 30
    creates fill the account's 60 writes a minute, so the 2 x 30 renames must wait for the
    minute to pass. Separately paced, each new process believes it has the whole minute and the
    server refuses its writes; with a pace file the processes pace as one client, and the
    account's minute is never overrun, whatever the machine's load."""
    rooms = {f"room-{n:02d}": {"name": f"Room {n}"} for n in range(ROOMS_PER_STACK)}
    renamed = {key: {"name": f"{room['name']} v2"} for key, room in rooms.items()}
    figures: dict[str, Counter[str]] = {}
    for phase, stacks in [("separate", ["east", "west"]), ("shared", ["north", "south"])]:
        sandbox.throttle = Throttle(PublishedLimits())  # the published limits, a fresh minute
        if phase == "shared":
            project.env["NEXUDUS_PACE_FILE"] = str(tmp_path / "nexudus.pace")
        for stack in stacks:
            project.init_stack(stack, business=1001, rooms=rooms)
        started = time.monotonic()
        throttled = up_together(project, stacks)
        for stack in stacks:
            project.declare(stack, renamed, business=1001)
        throttled += up_together(project, stacks)
        elapsed = time.monotonic() - started
        refusals = sandbox.throttle.refusals
        assert throttled.total() == refusals.total()  # every 409 was reported by the run
        assert_each_stack_holds_exactly_its_rooms(project, sandbox, stacks)
        for stack in stacks:
            names = {r["Name"] for r in sandbox.store.all() if f"/{stack}/" in r["SystemId"]}
            assert names == {room["name"] for room in renamed.values()}, stack
        figures[phase] = refusals
        print(
            f"\n{phase} pacing: 2 x {ROOMS_PER_STACK} creates, then 2 x {ROOMS_PER_STACK} renames,"
            f" in {elapsed:.0f} s; 409s per stack: "
            + ", ".join(f"{stack} {throttled[stack]}" for stack in stacks)
            + "; server refusals by limit: "
            + (", ".join(f"{limit} {n}" for limit, n in sorted(refusals.items())) or "none")
        )
    assert len(sandbox.store.all()) == 4 * ROOMS_PER_STACK
    # Separately paced, the runs overran the account's minute: with writes when the renames
    # follow the creates at once, with requests when each rename run first refreshes its 30
    # rooms (Pulumi.yaml's refresh: always), whose reads spread the writes but fill the minute.
    separate = figures["separate"]
    assert separate["writes per window"] + separate["requests per window"] > 0
    # Sharing the budget, no process overran the minute; a request arriving a few ms before the
    # 100 ms spacing allows (a busy machine delays one request more than the next) can still be
    # refused, costs one retry, and is not what the pace file is for.
    assert figures["shared"]["writes per window"] == figures["shared"]["requests per window"] == 0


def recipe(name: str, project: PulumiProject, stores: Stores) -> Recipe:
    """The recipe's jobs and environment, with `stores` as the CI's secrets and variables of
    each environment."""
    path = RECIPES / name
    if name == "github-actions.yml":
        triggers = github_triggers(path)
        assert triggers["push"] == {"branches": ["main"]} and "pull_request" in triggers
        assert "schedule" in triggers
        return github_actions(path, stores)
    return gitlab_ci(path, stores, project.root)


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_every_secret_the_recipe_names_reaches_the_jobs(name: str, project: PulumiProject) -> None:
    """A secret the header tells users to set and `env:` does not map is set for nothing; each
    job gets its own environment's."""
    named = secrets_named(RECIPES / name)
    assert {"NEXUDUS_TOKEN", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"} <= named
    stores = {role: {key: f"{role}'s {key}" for key in named} for role in ("reader", "deployer")}
    for kind, job in recipe(name, project, stores).jobs.items():
        assert job.role == ("deployer" if kind == "deploy" else "reader"), kind
        assert {key: job.env.get(key) for key in named} == stores[job.role], kind


def committed_stacks(project: PulumiProject, stack: str) -> dict[Path, str]:
    """What a user's repository holds under stacks/: this project's files, with the pipeline's
    stack declaring the demo's rooms and groups (the shipped file edited, if there is one, else
    a new one), committed before any Pulumi command ran."""
    files = {project.root / "stacks" / p.name: p.read_text() for p in (REPO / "stacks").iterdir()}
    demo = yaml.safe_load((REPO / "stacks" / "Pulumi.demo.yaml").read_text())
    path = project.stack_file(stack)
    document = yaml.safe_load(files.get(path, "{}"))
    document["config"] = demo["config"]
    files[path] = yaml.safe_dump(document, sort_keys=False)
    return files


def run_job(
    project: PulumiProject, recipe: Recipe, kind: str, checkout: dict[Path, str]
) -> list[Result]:
    """The job's `pulumi` commands in order, on a fresh checkout (a CI job keeps no file of the
    one before: a salt Pulumi wrote is gone), stopping at the first failure as a CI job does."""
    for stale in (project.root / "stacks").iterdir():
        stale.unlink()
    for path, text in checkout.items():
        path.write_text(text)
    results: list[Result] = []
    job = recipe.jobs[kind]
    for line in job.commands:
        results.append(project.shell(line, {**recipe.env, **job.env}))
        if not results[-1].ok:
            break
    return results


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_pipeline_recipes_commands_work_in_order(
    name: str, project: PulumiProject, sandbox: Sandbox
) -> None:
    """A new user's pipeline: their own stack (`STACK: dev`, as the recipes ship) and their own
    passphrase, each job on a fresh checkout, as docs/guides/pipelines.md tells it."""
    backend = {  # what the CI's secret store and variables hold, in each environment
        "NEXUDUS_BASE_URL": sandbox.url,
        "PULUMI_BACKEND_URL": project.env["PULUMI_BACKEND_URL"],
        "PULUMI_CONFIG_PASSPHRASE": f"passphrase-of-my-own-{uuid.uuid4().hex}",
    }
    stores = {  # previews and drift checks with the reader account, the deploy with the other
        "reader": {**backend, "NEXUDUS_USERNAME": READER_USER, "NEXUDUS_PASSWORD": READER_PASSWORD},
        "deployer": {**backend, "NEXUDUS_USERNAME": DEMO_USER, "NEXUDUS_PASSWORD": DEMO_PASSWORD},
    }
    parsed = recipe(name, project, stores)
    assert parsed.env["STACK"] == "dev"
    assert sorted(parsed.jobs) == sorted(KINDS)
    for kind, words in [
        ("preview", ["merge_request", "pull_request"]),
        ("deploy", ["main", "DEFAULT_BRANCH"]),
        ("drift", ["schedule"]),
    ]:
        assert any(word in parsed.jobs[kind].trigger for word in words), (kind, parsed.jobs)
    checkout = committed_stacks(project, parsed.env["STACK"])
    declared = yaml.safe_load(checkout[project.stack_file("dev")])["config"]
    rooms, groups = declared["nexudus-rooms:rooms"], declared["nexudus-rooms:groups"]

    # a merge request: the preview shows the rooms to create, and creates nothing
    preview = run_job(project, parsed, "preview", checkout)
    assert all(r.ok for r in preview), preview[-1].output
    assert any("pulumi preview" in r.command for r in preview)
    # the rooms, the groups, the stack and its identity
    assert f"+ {len(rooms) + len(groups) + 2} to create" in preview[-1].output
    assert sandbox.store.all() == []

    # merged to main: the rooms exist, once each
    deploy = run_job(project, parsed, "deploy", checkout)
    assert all(r.ok for r in deploy), deploy[-1].output
    assert any("pulumi up" in r.command for r in deploy)
    markers = [Marker.parse(r["SystemId"]) for r in sandbox.store.all()]
    assert sorted(m.path for m in markers if m) == sorted(f"nexudus-rooms/dev/{k}" for k in rooms)

    # the scheduled drift check passes while Nexudus matches the declaration, here with an
    # access token (NEXUDUS_TOKEN) instead of a username and password ...
    token = sandbox.issue_token(READER_USER)["access_token"]
    reader = stores["reader"]
    with_token = {**reader, "NEXUDUS_USERNAME": "", "NEXUDUS_PASSWORD": "", "NEXUDUS_TOKEN": token}
    drift = run_job(
        project, recipe(name, project, {**stores, "reader": with_token}), "drift", checkout
    )
    assert all(r.ok for r in drift), drift[-1].output
    assert any("--expect-no-changes" in r.command for r in drift)

    # ... and fails with exit code 7 once someone renamed a room by hand, naming the room, the
    # field, Nexudus's value and the declared one
    lobby = int(project.room_ids()["lobby"])
    sandbox.store.update(lobby, {"Name": "Renamed in the admin UI"}, "someone")
    drift = run_job(project, parsed, "drift", checkout)
    assert drift[-1].returncode == 7, drift[-1].output
    assert "lobby" in drift[-1].output and "no changes were expected" in drift[-1].output
    said = "ChatRoom 'lobby' (name 'Lobby'): Nexudus differs from the declaration in name"
    assert said in drift[-1].output, drift[-1].output

    # the deploy job, run again (the next push to main, or a re-run), puts the declared value
    # back with its plain `pulumi up`, and the next drift check is green
    deploy = run_job(project, parsed, "deploy", checkout)
    assert all(r.ok for r in deploy), deploy[-1].output
    held = sandbox.store.get(lobby)
    assert held is not None and held["Name"] == "Lobby"
    drift = run_job(project, parsed, "drift", checkout)
    assert all(r.ok for r in drift), drift[-1].output
